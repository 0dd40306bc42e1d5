/**
 * PlaybackKeyProvider against a KMS fake that binds every blob to its KMS key and encryption context: the key service
 * unwraps only the record's `playbackKey`, always with the configured playback KMS key and under
 * keyServiceContext(record.assetId), so neither a blob under the workflow key (where source keys live) nor another
 * asset's blob can be served.
 */
import {
  DecryptCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  KMSClient,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { KmsInvalidCiphertextError } from '../../../lib/errors.js';
import { ELASTIC_TRANSCODER_CONTEXT, keyServiceContext } from '../../../lib/kms/contexts.js';
import type { AssetRecord } from '../../../lib/playback/asset-record.js';
import { KeyCache } from '../../../lib/playback/key-cache.js';
import { PlaybackKeyProvider } from '../../../lib/playback/key-delivery.js';
import { FAKE_KEY_ARN, FakeKms } from '../../support/fake-aws.js';
import { PLAYBACK_KEY_ARN, RECORD } from '../../support/playback-fixtures.js';

const kmsMock = mockClient(KMSClient);
const kms = new KMSClient({ region: 'eu-west-1' });
const ASSET_A = 'a0123456789abcdef0123456';
const ASSET_B = 'b0123456789abcdef0123456';
let fakeKms: FakeKms;
let provider: PlaybackKeyProvider;

/** A fresh 128-bit data key under `keyId` and `context`, as the asset record of `assetId` would carry it. */
async function recordWithKey(
  assetId: string,
  context: Record<string, string>,
  keyId = PLAYBACK_KEY_ARN,
): Promise<AssetRecord> {
  const out = await kms.send(
    new GenerateDataKeyWithoutPlaintextCommand({
      KeyId: keyId,
      KeySpec: 'AES_128',
      EncryptionContext: context,
    }),
  );
  const blob = Buffer.from(out.CiphertextBlob ?? new Uint8Array());
  return {
    ...RECORD,
    assetId,
    playbackKey: { wrappedKey: blob.toString('base64'), kmsKeyId: keyId, encryptionContext: { ...context } },
    outputKeyPrefix: `outputs/${assetId}/clip/`,
  };
}

beforeEach(() => {
  kmsMock.reset();
  fakeKms = new FakeKms();
  fakeKms.install(kmsMock);
  provider = new PlaybackKeyProvider(kms, new KeyCache({ maxEntries: 10, ttlMs: 60_000 }), PLAYBACK_KEY_ARN);
});

describe('PlaybackKeyProvider', () => {
  it('decrypts a record key with the playback KMS key under the key-service context of its own asset', async () => {
    // Prepare
    const record = await recordWithKey(ASSET_A, { ...keyServiceContext(ASSET_A) });
    // Act
    const key = await provider.keyFor(record);
    // Assess
    expect(key).toEqual(fakeKms.decrypt(record.playbackKey.wrappedKey, { ...keyServiceContext(ASSET_A) }));
    expect(key).toHaveLength(16);
    expect(kmsMock).toHaveReceivedCommandWith(DecryptCommand, {
      KeyId: PLAYBACK_KEY_ARN,
      EncryptionContext: { service: 'key-service.secure-transcode', assetId: ASSET_A },
    });
  });

  it('refuses a source key re-wrapped under the workflow key into the key-service context (KMS: IncorrectKey)', async () => {
    // Prepare: a workflow role serving a source key as a playback key — a source key ReEncrypted into this asset's
    // key-service context, and a record that names the workflow key as its KMS key.
    const source = await kms.send(
      new GenerateDataKeyWithoutPlaintextCommand({
        KeyId: FAKE_KEY_ARN,
        KeySpec: 'AES_128',
        EncryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT },
      }),
    );
    const rewrapped = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: source.CiphertextBlob,
        SourceEncryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT },
        DestinationKeyId: FAKE_KEY_ARN,
        DestinationEncryptionContext: { ...keyServiceContext(ASSET_A) },
      }),
    );
    const record: AssetRecord = {
      ...RECORD,
      assetId: ASSET_A,
      playbackKey: {
        wrappedKey: Buffer.from(rewrapped.CiphertextBlob ?? new Uint8Array()).toString('base64'),
        kmsKeyId: FAKE_KEY_ARN,
        encryptionContext: { ...keyServiceContext(ASSET_A) },
      },
    };
    // Act
    const p = provider.keyFor(record);
    // Assess: the KeyId is the configured playback key, not the record's; KMS refuses the workflow-key blob.
    await expect(p).rejects.toThrow(KmsInvalidCiphertextError);
    expect(kmsMock).toHaveReceivedCommandWith(DecryptCommand, { KeyId: PLAYBACK_KEY_ARN });
  });

  it('refuses a record under the Elastic Transcoder context without calling KMS', async () => {
    // Prepare
    const record = await recordWithKey(ASSET_A, { ...ELASTIC_TRANSCODER_CONTEXT });
    // Act
    const p = provider.keyFor(record);
    // Assess
    await expect(p).rejects.toThrow(KmsInvalidCiphertextError);
    await expect(p).rejects.toThrow(/key-service encryption context/);
    expect(kmsMock).not.toHaveReceivedCommand(DecryptCommand);
  });

  it.each([
    ['names another asset', { service: 'key-service.secure-transcode', assetId: ASSET_B }],
    ['has no asset', { service: 'key-service.secure-transcode' }],
    ['has an extra pair', { service: 'key-service.secure-transcode', assetId: ASSET_A, extra: 'x' }],
    ['names another service', { service: 'speke-key-provider.secure-transcode', assetId: ASSET_A }],
  ])('refuses a record whose context %s, without calling KMS', async (_what, context) => {
    // Prepare
    const record = await recordWithKey(ASSET_A, context);
    // Act
    const p = provider.keyFor(record);
    // Assess
    await expect(p).rejects.toThrow(KmsInvalidCiphertextError);
    expect(kmsMock).not.toHaveReceivedCommand(DecryptCommand);
  });

  it("fails for a record of asset A that holds asset B's blob, even after B's key was served", async () => {
    // Prepare
    const recordB = await recordWithKey(ASSET_B, { ...keyServiceContext(ASSET_B) });
    await provider.keyFor(recordB);
    const forged: AssetRecord = {
      ...recordB,
      assetId: ASSET_A,
      playbackKey: { ...recordB.playbackKey, encryptionContext: { ...keyServiceContext(ASSET_A) } },
    };
    // Act
    const p = provider.keyFor(forged);
    // Assess: KMS sees A's context on B's blob and refuses; the cached B key is not served for A.
    await expect(p).rejects.toThrow(KmsInvalidCiphertextError);
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 2);
    expect(kmsMock.commandCalls(DecryptCommand)[1]?.args[0].input.EncryptionContext).toEqual({
      service: 'key-service.secure-transcode',
      assetId: ASSET_A,
    });
  });

  it('serves a repeated request for the same asset from the cache', async () => {
    // Prepare
    const record = await recordWithKey(ASSET_A, { ...keyServiceContext(ASSET_A) });
    // Act
    const first = await provider.keyFor(record);
    const second = await provider.keyFor(record);
    // Assess
    expect(second).toEqual(first);
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 1);
  });
});
