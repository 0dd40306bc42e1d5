/**
 * GenerateKeys against the key ring of test/support/key-ring.ts: a KMS fake that checks key and context as KMS
 * does.
 */
import { GenerateDataKeyWithoutPlaintextCommand, ReEncryptCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from '@jest/globals';
import { KeysSchema } from '../../../lib/contracts.js';
import { generateKeys } from '../../../lib/workflow/generate-keys.js';
import { FAKE_KEY_ARN } from '../../support/fake-aws.js';
import { ASSET_ID, KEY_IDS, KEY_PROFILE, useKeyRing } from '../../support/key-ring.js';
import { ET, KEY_SERVICE, PLAYBACK_KEY_ARN, SPEKE } from '../../support/state.js';

const ring = useKeyRing();
const { kmsMock, kms } = ring;

describe('generateKeys', () => {
  it('generates the source key under the workflow key and the playback key under the playback key', async () => {
    // Act
    const { keys } = await generateKeys(KEY_PROFILE, KEY_IDS, ASSET_ID, kms);
    // Assess
    expect(KeysSchema.parse(keys)).toEqual(keys);
    expect(keys.source).toMatchObject({ kmsKeyId: FAKE_KEY_ARN, encryptionContext: ET, keyBits: 256 });
    expect(keys.playback).toMatchObject({
      kmsKeyId: PLAYBACK_KEY_ARN,
      encryptionContext: { service: 'key-service.secure-transcode', assetId: ASSET_ID },
    });
    expect(keys.speke).toMatchObject({
      kmsKeyId: PLAYBACK_KEY_ARN,
      encryptionContext: { service: 'speke-key-provider.secure-transcode', assetId: ASSET_ID },
    });
    expect(kmsMock).toHaveReceivedCommandWith(GenerateDataKeyWithoutPlaintextCommand, {
      KeyId: KEY_IDS.playbackKmsKeyId,
      KeySpec: 'AES_128',
      EncryptionContext: KEY_SERVICE,
    });
  });

  it('makes the SPEKE copy by a ReEncrypt within the playback key, and re-wraps nothing else', async () => {
    // Act
    const { keys } = await generateKeys(KEY_PROFILE, KEY_IDS, ASSET_ID, kms);
    // Assess
    const playback = ring.fakeKms.decrypt(keys.playback.wrappedKey, KEY_SERVICE, PLAYBACK_KEY_ARN);
    expect(playback).toHaveLength(16);
    expect(ring.fakeKms.decrypt(keys.speke.wrappedKey, SPEKE, PLAYBACK_KEY_ARN)).toEqual(playback);
    expect(playback).not.toEqual(ring.fakeKms.decrypt(keys.source.wrappedKey, ET));
    // Each copy opens under its own context only, and the source key never under the playback key.
    expect(() => ring.fakeKms.decrypt(keys.speke.wrappedKey, KEY_SERVICE)).toThrow(
      'InvalidCiphertextException',
    );
    expect(() =>
      ring.fakeKms.decrypt(keys.playback.wrappedKey, {
        service: 'key-service.secure-transcode',
        assetId: 'b0123456789abcdef012345',
      }),
    ).toThrow('InvalidCiphertextException');
    expect(() => ring.fakeKms.decrypt(keys.source.wrappedKey, ET, PLAYBACK_KEY_ARN)).toThrow(
      'IncorrectKeyException',
    );
    expect(kmsMock).toHaveReceivedCommandTimes(ReEncryptCommand, 1);
    expect(kmsMock).toHaveReceivedCommandWith(ReEncryptCommand, {
      CiphertextBlob: Buffer.from(keys.playback.wrappedKey, 'base64'),
      SourceKeyId: PLAYBACK_KEY_ARN,
      DestinationKeyId: PLAYBACK_KEY_ARN,
      SourceEncryptionContext: KEY_SERVICE,
      DestinationEncryptionContext: SPEKE,
    });
  });
});
