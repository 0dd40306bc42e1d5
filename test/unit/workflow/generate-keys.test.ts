/**
 * GenerateKeys against a KMS fake that binds each blob to its KMS key and encryption context, so
 * "decrypts under key K and context X" is checked the way KMS checks it.
 */
import { GenerateDataKeyWithoutPlaintextCommand, KMSClient, ReEncryptCommand } from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { KeysSchema } from '../../../lib/contracts.js';
import {
  ELASTIC_TRANSCODER_CONTEXT,
  keyServiceContext,
  spekeKeyProviderContext,
} from '../../../lib/kms/contexts.js';
import { generateKeys } from '../../../lib/workflow/generate-keys.js';
import { FAKE_KEY_ARN, type FakeKms, installKeyRing, KEY_IDS } from '../../support/fake-aws.js';
import { PLAYBACK_KEY_ARN } from '../../support/state.js';

const kmsMock = mockClient(KMSClient);
const kms = new KMSClient({ region: 'us-east-1' });
const ASSET_ID = 'a0123456789abcdef012345';
const et = { ...ELASTIC_TRANSCODER_CONTEXT };
const profile = { keyBits: 256 as const, encryptionMode: 'aes-cbc-pkcs7' as const };
let fakeKms: FakeKms;

beforeEach(() => {
  kmsMock.reset();
  fakeKms = installKeyRing(kmsMock);
});

describe('generateKeys', () => {
  it('generates the source key under the workflow key and the playback key under the playback key', async () => {
    // Act
    const { keys } = await generateKeys(profile, KEY_IDS, ASSET_ID, kms);
    // Assess
    expect(KeysSchema.parse(keys)).toEqual(keys);
    expect(keys.source).toMatchObject({ kmsKeyId: FAKE_KEY_ARN, encryptionContext: et, keyBits: 256 });
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
      EncryptionContext: { ...keyServiceContext(ASSET_ID) },
    });
  });

  it('makes the SPEKE copy by a ReEncrypt within the playback key, and re-wraps nothing else', async () => {
    // Act
    const { keys } = await generateKeys(profile, KEY_IDS, ASSET_ID, kms);
    // Assess
    const playback = fakeKms.decrypt(
      keys.playback.wrappedKey,
      { ...keyServiceContext(ASSET_ID) },
      PLAYBACK_KEY_ARN,
    );
    expect(playback).toHaveLength(16);
    expect(
      fakeKms.decrypt(keys.speke.wrappedKey, { ...spekeKeyProviderContext(ASSET_ID) }, PLAYBACK_KEY_ARN),
    ).toEqual(playback);
    expect(playback).not.toEqual(fakeKms.decrypt(keys.source.wrappedKey, et));
    // Each copy opens under its own context only, and the source key never under the playback key.
    expect(() => fakeKms.decrypt(keys.speke.wrappedKey, { ...keyServiceContext(ASSET_ID) })).toThrow(
      'InvalidCiphertextException',
    );
    expect(() =>
      fakeKms.decrypt(keys.playback.wrappedKey, { ...keyServiceContext('b0123456789abcdef012345') }),
    ).toThrow('InvalidCiphertextException');
    expect(() => fakeKms.decrypt(keys.source.wrappedKey, et, PLAYBACK_KEY_ARN)).toThrow(
      'IncorrectKeyException',
    );
    expect(kmsMock).toHaveReceivedCommandTimes(ReEncryptCommand, 1);
    expect(kmsMock).toHaveReceivedCommandWith(ReEncryptCommand, {
      CiphertextBlob: Buffer.from(keys.playback.wrappedKey, 'base64'),
      SourceKeyId: PLAYBACK_KEY_ARN,
      DestinationKeyId: PLAYBACK_KEY_ARN,
      SourceEncryptionContext: { ...keyServiceContext(ASSET_ID) },
      DestinationEncryptionContext: { ...spekeKeyProviderContext(ASSET_ID) },
    });
  });
});
