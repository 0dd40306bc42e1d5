/**
 * PlaybackKeyProvider against a KMS fake that binds every blob to its encryption context: the key service unwraps
 * only blobs under KEY_SERVICE_CONTEXT(record.assetId), so neither a transcoder-context blob (the source key's
 * context) nor another asset's blob can be served.
 */
import { createHash } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyWithoutPlaintextCommand, KMSClient } from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { ELASTIC_TRANSCODER_CONTEXT, KEY_SERVICE_CONTEXT } from '../../../lib/config.js';
import { KmsInvalidCiphertextError } from '../../../lib/errors.js';
import type { AssetRecord } from '../../../lib/playback/asset-record.js';
import { KeyCache } from '../../../lib/playback/key-cache.js';
import { PlaybackKeyProvider } from '../../../lib/playback/key-delivery.js';
import { FAKE_KEY_ARN, FakeKms } from '../../helpers/fake-aws.js';
import { RECORD } from './fixtures.js';

const kmsMock = mockClient(KMSClient);
const kms = new KMSClient({ region: 'eu-west-1' });
const ASSET_A = 'a0123456789abcdef0123456';
const ASSET_B = 'b0123456789abcdef0123456';
let fakeKms: FakeKms;
let provider: PlaybackKeyProvider;

/** A fresh 128-bit data key under `context`, as the asset record of `assetId` would carry it. */
async function recordWithKey(assetId: string, context: Record<string, string>): Promise<AssetRecord> {
  const out = await kms.send(
    new GenerateDataKeyWithoutPlaintextCommand({
      KeyId: FAKE_KEY_ARN,
      KeySpec: 'AES_128',
      EncryptionContext: context,
    }),
  );
  const blob = Buffer.from(out.CiphertextBlob ?? new Uint8Array());
  return {
    ...RECORD,
    assetId,
    wrappedKey: blob.toString('base64'),
    keyMd5: createHash('md5').update(blob).digest('base64'),
    kmsKeyId: FAKE_KEY_ARN,
    encryptionContext: { ...context },
    outputKeyPrefix: `outputs/clip/${assetId}/`,
  };
}

beforeEach(() => {
  kmsMock.reset();
  fakeKms = new FakeKms();
  fakeKms.install(kmsMock);
  provider = new PlaybackKeyProvider(kms, new KeyCache({ maxEntries: 10, ttlMs: 60_000 }));
});

describe('PlaybackKeyProvider', () => {
  it('decrypts a record key under the key-service context of its own asset', async () => {
    // Prepare
    const record = await recordWithKey(ASSET_A, { ...KEY_SERVICE_CONTEXT(ASSET_A) });
    // Act
    const key = await provider.keyFor(record);
    // Assess
    expect(key).toEqual(fakeKms.decrypt(record.wrappedKey, { ...KEY_SERVICE_CONTEXT(ASSET_A) }));
    expect(key).toHaveLength(16);
    expect(kmsMock).toHaveReceivedCommandWith(DecryptCommand, {
      KeyId: FAKE_KEY_ARN,
      EncryptionContext: { service: 'key-service.secure-transcode', assetId: ASSET_A },
    });
  });

  it('refuses a record under the Elastic Transcoder context without calling KMS', async () => {
    // Prepare: what a record holding the source key (or the transcoder's copy of the playback key) would look like.
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
    ['names another service', { service: 'mediaconvert.amazonaws.com', assetId: ASSET_A }],
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
    const recordB = await recordWithKey(ASSET_B, { ...KEY_SERVICE_CONTEXT(ASSET_B) });
    await provider.keyFor(recordB);
    const forged: AssetRecord = {
      ...recordB,
      assetId: ASSET_A,
      encryptionContext: { ...KEY_SERVICE_CONTEXT(ASSET_A) },
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
    const record = await recordWithKey(ASSET_A, { ...KEY_SERVICE_CONTEXT(ASSET_A) });
    // Act
    const first = await provider.keyFor(record);
    const second = await provider.keyFor(record);
    // Assess
    expect(second).toEqual(first);
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 1);
  });
});
