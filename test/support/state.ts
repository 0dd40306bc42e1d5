import type { Asset, EncryptedObject, Job, Keys, Source, TranscoderKey } from '../../lib/contracts.js';
import { keyMd5 } from '../../lib/kms/keys.js';
import type { Profile } from '../../lib/profiles.js';

export const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
/** The playback KMS key (PLAYBACK_KMS_KEY_ID). */
export const PLAYBACK_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/22222222-2222-3333-4444-555555555555';
export const ET = { service: 'elastictranscoder.amazonaws.com' };
/** keyServiceContext(sampleAsset().assetId), spelled out so a change to the builder shows up in tests. */
export const KEY_SERVICE = { service: 'key-service.secure-transcode', assetId: 'a0123456789abcdef012345' };
/** spekeKeyProviderContext(sampleAsset().assetId), spelled out likewise. */
export const SPEKE = { service: 'speke-key-provider.secure-transcode', assetId: 'a0123456789abcdef012345' };

const blob = (s: string) => Buffer.from(`kms-blob:${s}`).toString('base64');

export function sampleSource(): Source {
  return { bucket: 'media-bucket', key: 'incoming/show/ep 1 & é.mp4', size: 1_234_567, etag: '"abc"' };
}

export function sampleAsset(): Asset {
  return {
    assetId: 'a0123456789abcdef012345',
    profile: 'default',
    encryptedBucket: 'media-bucket',
    encryptedKey: 'encrypted/show/ep 1 & é.mp4.a0123456789abcdef012345.enc',
    outputBucket: 'media-bucket',
    outputKeyPrefix: 'outputs/show/ep 1 & é/a0123456789abcdef012345/',
    assetRecordKey: 'assets/a0123456789abcdef012345.json',
  };
}

export function sampleKeys(): Keys {
  return {
    source: {
      wrappedKey: blob('source'),
      keyMd5: keyMd5(blob('source')),
      kmsKeyId: KEY_ARN,
      encryptionContext: ET,
      keyBits: 128,
    },
    playback: {
      wrappedKey: blob('playback'),
      keyMd5: keyMd5(blob('playback')),
      kmsKeyId: PLAYBACK_KEY_ARN,
      encryptionContext: KEY_SERVICE,
    },
    speke: {
      wrappedKey: blob('playback-speke'),
      keyMd5: keyMd5(blob('playback-speke')),
      kmsKeyId: PLAYBACK_KEY_ARN,
      encryptionContext: SPEKE,
    },
  };
}

export function sampleEncrypted(): EncryptedObject {
  const a = sampleAsset();
  const k = sampleKeys();
  return {
    bucket: a.encryptedBucket,
    key: a.encryptedKey,
    etag: '"enc-etag-2"',
    size: 1_234_576,
    mode: 'aes-cbc-pkcs7',
    initializationVector: Buffer.alloc(16, 1).toString('base64'),
    wrappedKey: k.source.wrappedKey,
    keyMd5: k.source.keyMd5,
    kmsKeyId: KEY_ARN,
  };
}

export function sampleTranscoderKey(): TranscoderKey {
  const { keyBits: _b, ...src } = sampleKeys().source;
  return { ...src, reEncrypted: false };
}

/** The HLS key as WrapKey re-wraps it out of the playback key for the transcoder (workflow key, its context). */
export function sampleTranscoderPlaybackKey(): TranscoderKey {
  return {
    wrappedKey: blob('playback-transcoder'),
    keyMd5: keyMd5(blob('playback-transcoder')),
    kmsKeyId: KEY_ARN,
    encryptionContext: ET,
    reEncrypted: true,
  };
}

export const sampleExecution = () => ({
  name: 'ep-1-0123456789abcdef0123456789abcdef',
  arn: 'arn:aws:states:us-east-1:123456789012:execution:secure-transcode-dev:ep-1-0123456789abcdef0123456789abcdef',
});

/** What SubmitJob receives: the state every earlier step has added to, for `profile`. */
export function sampleSubmitInput(profile: Profile) {
  return {
    source: sampleSource(),
    asset: sampleAsset(),
    keys: sampleKeys(),
    encrypted: sampleEncrypted(),
    transcoderKey: sampleTranscoderKey(),
    transcoderPlaybackKey: sampleTranscoderPlaybackKey(),
    execution: sampleExecution(),
    profile,
  };
}

/** The part of the workflow config SubmitJob and PollJob read: polls start 5 s apart, back off to 60 s, for an hour. */
export const sampleTranscodeConfig = () => ({
  keyServiceUrl: 'https://keys.example.com',
  pollInitialSeconds: 5,
  pollMaxSeconds: 60,
  pollDeadlineSeconds: 3600,
  assetPrefix: 'assets/',
  transcoderMaxResubmits: 2,
});

/** What PollJob receives for job `id` that the transcoder last reported running: first poll, due at 01:00. */
export const sampleRunningJob = (backend: Job['backend'], id: string) => ({
  job: { backend, id, status: 'Progressing' as const, outputs: [], playlists: [] },
  poll: { attempt: 0, waitSeconds: 5, deadline: '2026-01-01T01:00:00.000Z' },
});
