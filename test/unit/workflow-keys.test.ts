/**
 * GenerateKeys and WrapKey against a KMS fake that binds each blob to its key and encryption context, so "decrypts
 * under context X" is checked the way KMS checks it.
 */
import { KMSClient, ReEncryptCommand } from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { ELASTIC_TRANSCODER_CONTEXT, KEY_SERVICE_CONTEXT } from '../../lib/config.js';
import { KeysSchema } from '../../lib/contracts.js';
import { keyMd5 } from '../../lib/kms/keys.js';
import { generateKeys } from '../../lib/workflow/keys.js';
import { wrapKeyForTranscoder, wrapPlaybackKeyForTranscoder } from '../../lib/workflow/wrap.js';
import { FAKE_KEY_ARN, FakeKms } from '../helpers/fake-aws.js';

const kmsMock = mockClient(KMSClient);
const kms = new KMSClient({ region: 'us-east-1' });
const ASSET_ID = 'a0123456789abcdef012345';
const TRANSCODER_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555';
const et = { ...ELASTIC_TRANSCODER_CONTEXT };
const profile = { keyBits: 256 as const, encryptionMode: 'aes-cbc-pkcs7' as const };
let fakeKms: FakeKms;

beforeEach(() => {
  kmsMock.reset();
  fakeKms = new FakeKms();
  fakeKms.install(kmsMock);
  fakeKms.keyArns.set('alias/secure-transcode', FAKE_KEY_ARN);
  fakeKms.keyArns.set('alias/transcoder', TRANSCODER_KEY_ARN);
});

describe('generateKeys', () => {
  it('adds the playback key re-wrapped inside KMS under the key-service context of the asset', async () => {
    // Act
    const { keys } = await generateKeys(profile, 'alias/secure-transcode', ASSET_ID, kms);
    // Assess
    expect(KeysSchema.parse(keys)).toEqual(keys);
    expect(keys.playbackDelivery.encryptionContext).toEqual({
      service: 'key-service.secure-transcode',
      assetId: ASSET_ID,
    });
    expect(keys.playbackDelivery.keyMd5).toBe(keyMd5(keys.playbackDelivery.wrappedKey));
    expect(keys.playbackDelivery.kmsKeyId).toBe(FAKE_KEY_ARN);
    // The transcoder's copies stay under its context.
    expect(keys.playback.encryptionContext).toEqual(et);
    expect(keys.source.encryptionContext).toEqual(et);
    // Same plaintext as the transcoder's playback blob, a different blob, and it opens under nothing else.
    const playback = fakeKms.decrypt(keys.playback.wrappedKey, et);
    expect(fakeKms.decrypt(keys.playbackDelivery.wrappedKey, { ...KEY_SERVICE_CONTEXT(ASSET_ID) })).toEqual(
      playback,
    );
    expect(playback).not.toEqual(fakeKms.decrypt(keys.source.wrappedKey, et));
    expect(keys.playbackDelivery.wrappedKey).not.toBe(keys.playback.wrappedKey);
    expect(() => fakeKms.decrypt(keys.playbackDelivery.wrappedKey, et)).toThrow('InvalidCiphertextException');
    expect(() =>
      fakeKms.decrypt(keys.playbackDelivery.wrappedKey, {
        ...KEY_SERVICE_CONTEXT('b0123456789abcdef012345'),
      }),
    ).toThrow('InvalidCiphertextException');
    // Only the playback key was re-encrypted; the source key never got a key-service copy.
    expect(kmsMock).toHaveReceivedCommandTimes(ReEncryptCommand, 1);
    expect(kmsMock).toHaveReceivedCommandWith(ReEncryptCommand, {
      CiphertextBlob: Buffer.from(keys.playback.wrappedKey, 'base64'),
      SourceEncryptionContext: et,
      DestinationEncryptionContext: { service: 'key-service.secure-transcode', assetId: ASSET_ID },
    });
  });
});

describe('WrapKey for the playback key', () => {
  it('is a no-op when the transcoder uses the workflow key', async () => {
    // Prepare
    const { keys } = await generateKeys(profile, 'alias/secure-transcode', ASSET_ID, kms);
    kmsMock.resetHistory();
    // Act
    const wrapped = await wrapPlaybackKeyForTranscoder(
      keys,
      { kmsKeyId: 'alias/secure-transcode', encryptionContext: et },
      kms,
    );
    // Assess
    expect(wrapped).toMatchObject({ wrappedKey: keys.playback.wrappedKey, reEncrypted: false });
    expect(kmsMock).not.toHaveReceivedCommand(ReEncryptCommand);
  });

  it('re-wraps the playback key for a separate transcoder KMS key, alongside the source key (review L5)', async () => {
    // Prepare
    const { keys } = await generateKeys(profile, 'alias/secure-transcode', ASSET_ID, kms);
    const target = { kmsKeyId: 'alias/transcoder', encryptionContext: et };
    // Act
    const source = await wrapKeyForTranscoder(keys, target, kms);
    const playback = await wrapPlaybackKeyForTranscoder(keys, target, kms);
    // Assess
    expect(playback).toMatchObject({
      kmsKeyId: TRANSCODER_KEY_ARN,
      encryptionContext: et,
      reEncrypted: true,
    });
    expect(playback.keyMd5).toBe(keyMd5(playback.wrappedKey));
    // What Elastic Transcoder does with HlsContentProtection.Key: Decrypt with its own key.
    expect(fakeKms.decrypt(playback.wrappedKey, et, TRANSCODER_KEY_ARN)).toEqual(
      fakeKms.decrypt(keys.playback.wrappedKey, et),
    );
    expect(() => fakeKms.decrypt(keys.playback.wrappedKey, et, TRANSCODER_KEY_ARN)).toThrow(
      'IncorrectKeyException',
    );
    expect(playback.wrappedKey).not.toBe(source.wrappedKey);
    expect(fakeKms.decrypt(source.wrappedKey, et, TRANSCODER_KEY_ARN)).toEqual(
      fakeKms.decrypt(keys.source.wrappedKey, et),
    );
  });
});
