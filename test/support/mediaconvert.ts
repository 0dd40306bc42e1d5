/**
 * MediaConvert fixtures shared by the adapter's tests and the workflow tests that run on the MediaConvert backend:
 * the job role, queue and SPEKE URL, the keys WrapKey hands MediaConvert, a SubmitJob input carrying them and the
 * environment that selects the backend.
 */
import type { Job as McJob } from '@aws-sdk/client-mediaconvert';
import { MEDIACONVERT_CONTEXT } from '../../lib/kms/contexts.js';
import { keyMd5 } from '../../lib/kms/keys.js';
import { getProfile, loadProfiles, type Profile } from '../../lib/profiles.js';
import { KEY_ARN, sampleKeys, sampleSubmitInput, sampleTranscoderKey } from './state.js';

export const ROLE_ARN = 'arn:aws:iam::123456789012:role/mediaconvert-jobs';
export const QUEUE_ARN = 'arn:aws:mediaconvert:us-east-1:123456789012:queues/secure-transcode';
export const SPEKE_URL = 'https://speke.example.com/v2/key';
export const mediaConvertSettings = { roleArn: ROLE_ARN, queueArn: QUEUE_ARN, spekeUrl: SPEKE_URL };
export const mediaConvertProfiles = loadProfiles(undefined);
export const defaultProfile = getProfile('default', mediaConvertProfiles);

export const submittedMediaConvertJob = (): McJob => ({
  Id: '1700000000000-abc123',
  Status: 'SUBMITTED',
  Role: ROLE_ARN,
  Settings: { Inputs: [] },
});

export const mcTranscoderKey = () => {
  const blob = Buffer.from('kms-blob:source-under-mediaconvert-context').toString('base64');
  return {
    ...sampleTranscoderKey(),
    wrappedKey: blob,
    keyMd5: keyMd5(blob),
    encryptionContext: { ...MEDIACONVERT_CONTEXT },
    reEncrypted: true,
  };
};
/** WrapKey wraps the playback key for the transcoder too; MediaConvert never receives it (SPEKE supplies the HLS key). */
export const mcTranscoderPlaybackKey = () => {
  const blob = Buffer.from('kms-blob:playback-under-mediaconvert-context').toString('base64');
  return {
    ...sampleKeys().playback,
    wrappedKey: blob,
    keyMd5: keyMd5(blob),
    encryptionContext: { ...MEDIACONVERT_CONTEXT },
    reEncrypted: true,
  };
};
export const mediaConvertSubmitInput = (p: Profile = defaultProfile) => ({
  ...sampleSubmitInput(p),
  transcoderKey: mcTranscoderKey(),
  transcoderPlaybackKey: mcTranscoderPlaybackKey(),
});
export const workflowEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => ({
  KMS_KEY_ID: KEY_ARN,
  PLAYBACK_KMS_KEY_ID: 'alias/secure-transcode-playback',
  KEY_SERVICE_URL: 'https://keys.example.com',
  ...extra,
});
export const mediaConvertEnv = () =>
  workflowEnv({
    TRANSCODER_BACKEND: 'mediaconvert',
    MEDIACONVERT_ROLE_ARN: ROLE_ARN,
    MEDIACONVERT_SPEKE_URL: SPEKE_URL,
  });
