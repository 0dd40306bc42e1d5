/**
 * The keys the GenerateKeys and WrapKey tests work with: a FakeKms that binds each blob to its KMS key and encryption
 * context, so "decrypts under key K and context X" is checked the way KMS checks it, with three keys behind the
 * aliases the workflow is configured with.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { beforeEach } from '@jest/globals';
import { type AwsStub, mockClient } from 'aws-sdk-client-mock';
import { FAKE_KEY_ARN, FakeKms } from './fake-aws.js';
import { PLAYBACK_KEY_ARN, sampleAsset } from './state.js';

/** A KMS key of the transcoder's own, apart from the workflow's two. */
export const TRANSCODER_KEY_ARN =
  'arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555';
/** The workflow's KMS_KEY_ID and PLAYBACK_KMS_KEY_ID. */
export const KEY_IDS = {
  kmsKeyId: 'alias/secure-transcode',
  playbackKmsKeyId: 'alias/secure-transcode-playback',
};
export const ASSET_ID = sampleAsset().assetId;
/** A profile with 256-bit source keys, so a source key can never be mistaken for a 128-bit playback key. */
export const KEY_PROFILE = { keyBits: 256 as const, encryptionMode: 'aes-cbc-pkcs7' as const };

/**
 * A FakeKms answering on `mock`: KEY_IDS resolve to FAKE_KEY_ARN and PLAYBACK_KEY_ARN, `alias/transcoder` to
 * TRANSCODER_KEY_ARN.
 */
// biome-ignore lint/suspicious/noExplicitAny: see FakeS3.install
export function installKeyRing(mock: AwsStub<any, any, any>): FakeKms {
  const kms = new FakeKms();
  kms.install(mock);
  kms.keyArns.set(KEY_IDS.kmsKeyId, FAKE_KEY_ARN);
  kms.keyArns.set(KEY_IDS.playbackKmsKeyId, PLAYBACK_KEY_ARN);
  kms.keyArns.set('alias/transcoder', TRANSCODER_KEY_ARN);
  return kms;
}

/** A mocked KMS client with a fresh key ring for every test of the calling file. */
export function useKeyRing() {
  const ring = {
    kmsMock: mockClient(KMSClient),
    kms: new KMSClient({ region: 'us-east-1' }),
    fakeKms: new FakeKms(),
  };
  beforeEach(() => {
    ring.kmsMock.reset();
    ring.fakeKms = installKeyRing(ring.kmsMock);
  });
  return ring;
}
