/**
 * WrapKey (on keys GenerateKeys made) against a KMS fake that binds each blob to its KMS key and encryption context, so
 * "decrypts under key K and context X" is checked the way KMS checks it.
 */
import { KMSClient, ReEncryptCommand } from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { ELASTIC_TRANSCODER_CONTEXT, keyServiceContext } from '../../../lib/kms/contexts.js';
import { keyMd5 } from '../../../lib/kms/keys.js';
import { generateKeys } from '../../../lib/workflow/generate-keys.js';
import { wrapKeyForTranscoder, wrapPlaybackKeyForTranscoder } from '../../../lib/workflow/wrap-key.js';
import {
  FAKE_KEY_ARN,
  type FakeKms,
  installKeyRing,
  KEY_IDS,
  TRANSCODER_KEY_ARN,
} from '../../support/fake-aws.js';
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

describe('WrapKey for the playback key', () => {
  it('re-wraps the playback key out of the playback key into the workflow key for Elastic Transcoder', async () => {
    // Prepare
    const { keys } = await generateKeys(profile, KEY_IDS, ASSET_ID, kms);
    kmsMock.resetHistory();
    // Act
    const wrapped = await wrapPlaybackKeyForTranscoder(
      keys,
      { kmsKeyId: 'alias/secure-transcode', encryptionContext: et },
      kms,
    );
    // Assess
    expect(wrapped).toMatchObject({ kmsKeyId: FAKE_KEY_ARN, encryptionContext: et, reEncrypted: true });
    expect(wrapped.keyMd5).toBe(keyMd5(wrapped.wrappedKey));
    expect(fakeKms.decrypt(wrapped.wrappedKey, et, FAKE_KEY_ARN)).toEqual(
      fakeKms.decrypt(keys.playback.wrappedKey, { ...keyServiceContext(ASSET_ID) }),
    );
    expect(kmsMock).toHaveReceivedCommandWith(ReEncryptCommand, {
      SourceKeyId: PLAYBACK_KEY_ARN,
      DestinationKeyId: 'alias/secure-transcode',
      DestinationEncryptionContext: et,
    });
  });

  it('re-wraps both keys for a separate transcoder KMS key', async () => {
    // Prepare
    const { keys } = await generateKeys(profile, KEY_IDS, ASSET_ID, kms);
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
    // What Elastic Transcoder does with HlsContentProtection.Key: Decrypt with its own key.
    expect(fakeKms.decrypt(playback.wrappedKey, et, TRANSCODER_KEY_ARN)).toEqual(
      fakeKms.decrypt(keys.playback.wrappedKey, { ...keyServiceContext(ASSET_ID) }),
    );
    expect(playback.wrappedKey).not.toBe(source.wrappedKey);
    expect(fakeKms.decrypt(source.wrappedKey, et, TRANSCODER_KEY_ARN)).toEqual(
      fakeKms.decrypt(keys.source.wrappedKey, et),
    );
  });
});
