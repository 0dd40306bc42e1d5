/** The workflow Lambdas' section (ValidateSource … CleanUp), and Notify's. */
import { z } from 'zod';
import { type SourceRetentionPolicy, SourceRetentionPolicySchema } from '../contracts.js';
import { ConfigurationError } from '../errors.js';
import { transcoderContext } from '../kms/contexts.js';
import { baseUrl, intFrom, load, optionalText, optionalUrl, prefix } from './env.js';
import { requireMediaConvertSettings, TRANSCODER_BACKENDS, type TranscoderBackend } from './transcoder.js';

const WorkflowSchema = z.object({
  INPUT_PREFIX: prefix.default('incoming/'),
  ENCRYPTED_BUCKET: z.string().optional(),
  OUTPUT_BUCKET: z.string().optional(),
  ENCRYPTED_PREFIX: prefix.default('encrypted/'),
  OUTPUT_PREFIX: prefix.default('outputs/'),
  ASSET_PREFIX: prefix.default('assets/'),
  // At most 64 GiB: a CTR source must stay under 2^32 blocks so any counter width gives the same keystream
  // (lib/crypto/iv.ts).
  MAX_SOURCE_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(64 * 1024 ** 3)
    .default(50 * 1024 ** 3),
  KMS_KEY_ID: z.string().min(1),
  PLAYBACK_KMS_KEY_ID: z.string().min(1),
  TRANSCODER_KMS_KEY_ID: z.string().optional(),
  TRANSCODER_BACKEND: z.enum(TRANSCODER_BACKENDS).default('elastictranscoder'),
  PIPELINE_ID: optionalText,
  MEDIACONVERT_ROLE_ARN: optionalText,
  MEDIACONVERT_QUEUE_ARN: optionalText,
  MEDIACONVERT_SPEKE_URL: optionalUrl,
  MEDIACONVERT_SPEKE_CERTIFICATE_ARN: optionalText,
  KEY_SERVICE_URL: baseUrl,
  PART_SIZE_MIB: intFrom(8, 5),
  READ_AHEAD: intFrom(2, 0),
  UPLOAD_CONCURRENCY: intFrom(4, 1),
  TIME_BUDGET_MARGIN_MS: intFrom(30_000, 0),
  POLL_INITIAL_SECONDS: intFrom(5, 1),
  POLL_MAX_SECONDS: intFrom(60, 1),
  TRANSCODER_MAX_RESUBMITS: intFrom(2, 0),
  MAX_ENCRYPT_INVOCATIONS: intFrom(1000, 1),
  PROFILES_JSON: z.string().optional(),
  POLL_DEADLINE_SECONDS: intFrom(6 * 3600, 1),
});

// An unset deploy parameter arrives as ''; it means the default, which removes the plaintext.
const sourceRetention = z.preprocess(
  (v) => (v === '' ? undefined : v),
  SourceRetentionPolicySchema.default('delete'),
);

const SourceRetentionSchema = z.object({ SOURCE_RETENTION: sourceRetention });

const NotifySchema = z.object({
  SOURCE_RETENTION: sourceRetention,
  TOPIC_ARN: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
  KEY_SERVICE_URL: baseUrl,
  CDN_DOMAIN: z.string().optional(),
  NOTIFY_INCLUDE_WRAPPED_KEY: z.enum(['true', 'false', '']).default('false'),
});

export interface WorkflowConfig {
  inputPrefix: string;
  encryptedBucket: string | undefined;
  outputBucket: string | undefined;
  encryptedPrefix: string;
  outputPrefix: string;
  assetPrefix: string;
  maxSourceBytes: number;
  /** The workflow key: source data keys and every transcoder copy. */
  kmsKeyId: string;
  /** The playback key: playback (HLS) keys only; nothing is ever ReEncrypted into it from another key. */
  playbackKmsKeyId: string;
  transcoderKmsKeyId: string;
  transcoderBackend: TranscoderBackend;
  /** The context the chosen transcoder uses when it asks KMS to decrypt the source key (WrapKey targets it). */
  transcoderEncryptionContext: Readonly<Record<string, string>>;
  pipelineId: string | undefined;
  mediaConvertRoleArn: string | undefined;
  mediaConvertQueueArn: string | undefined;
  mediaConvertSpekeUrl: string | undefined;
  mediaConvertSpekeCertificateArn: string | undefined;
  keyServiceUrl: string;
  partSizeBytes: number;
  readAhead: number;
  uploadConcurrency: number;
  timeBudgetMarginMs: number;
  pollInitialSeconds: number;
  pollMaxSeconds: number;
  pollDeadlineSeconds: number;
  /** How often a job that ended in an internal transcoder error (see TranscoderAdapter.isInternalError) is resubmitted. */
  transcoderMaxResubmits: number;
  profilesJson: string | undefined;
  /**
   * Upper bound on EncryptSource loop iterations: each costs ~7 history events and Step Functions caps a history at
   * 25,000, so a misconfigured time budget fails with a notification instead of hitting that wall silently.
   */
  maxEncryptInvocations: number;
}

export function workflowConfig(env: NodeJS.ProcessEnv = process.env): WorkflowConfig {
  const c = load(WorkflowSchema, env);
  if (c.TRANSCODER_BACKEND === 'elastictranscoder' && !c.PIPELINE_ID) {
    throw new ConfigurationError('Environment variable PIPELINE_ID is required', { code: 'CONFIGURATION' });
  }
  if (c.TRANSCODER_BACKEND === 'mediaconvert') {
    requireMediaConvertSettings({ roleArn: c.MEDIACONVERT_ROLE_ARN, spekeUrl: c.MEDIACONVERT_SPEKE_URL });
  }
  return {
    inputPrefix: c.INPUT_PREFIX,
    encryptedBucket: c.ENCRYPTED_BUCKET || undefined,
    outputBucket: c.OUTPUT_BUCKET || undefined,
    encryptedPrefix: c.ENCRYPTED_PREFIX,
    outputPrefix: c.OUTPUT_PREFIX,
    assetPrefix: c.ASSET_PREFIX,
    maxSourceBytes: c.MAX_SOURCE_BYTES,
    kmsKeyId: c.KMS_KEY_ID,
    playbackKmsKeyId: c.PLAYBACK_KMS_KEY_ID,
    transcoderKmsKeyId: c.TRANSCODER_KMS_KEY_ID || c.KMS_KEY_ID,
    transcoderBackend: c.TRANSCODER_BACKEND,
    transcoderEncryptionContext: transcoderContext(c.TRANSCODER_BACKEND),
    pipelineId: c.PIPELINE_ID,
    mediaConvertRoleArn: c.MEDIACONVERT_ROLE_ARN,
    mediaConvertQueueArn: c.MEDIACONVERT_QUEUE_ARN,
    mediaConvertSpekeUrl: c.MEDIACONVERT_SPEKE_URL,
    mediaConvertSpekeCertificateArn: c.MEDIACONVERT_SPEKE_CERTIFICATE_ARN,
    keyServiceUrl: c.KEY_SERVICE_URL,
    partSizeBytes: c.PART_SIZE_MIB * 1024 * 1024,
    readAhead: c.READ_AHEAD,
    uploadConcurrency: c.UPLOAD_CONCURRENCY,
    timeBudgetMarginMs: c.TIME_BUDGET_MARGIN_MS,
    pollInitialSeconds: c.POLL_INITIAL_SECONDS,
    pollMaxSeconds: Math.max(c.POLL_MAX_SECONDS, c.POLL_INITIAL_SECONDS),
    pollDeadlineSeconds: c.POLL_DEADLINE_SECONDS,
    transcoderMaxResubmits: c.TRANSCODER_MAX_RESUBMITS,
    profilesJson: c.PROFILES_JSON || undefined,
    maxEncryptInvocations: c.MAX_ENCRYPT_INVOCATIONS,
  };
}

export interface NotifyConfig {
  topicArn: string;
  eventBusName: string;
  keyServiceUrl: string;
  /** A CDN (e.g. CloudFront) domain in front of the output bucket: notifications then carry HTTPS URLs. */
  cdnDomain: string | undefined;
  /** Whether subscribers receive `encrypted.wrappedKey` (README.md, "Notification contract"). */
  includeWrappedKey: boolean;
  /** The deployment's source policy, which a failure notification reports beside `deleted: false`. */
  sourceRetention: SourceRetentionPolicy;
}

export function notifyConfig(env: NodeJS.ProcessEnv = process.env): NotifyConfig {
  const c = load(NotifySchema, env);
  return {
    topicArn: c.TOPIC_ARN,
    eventBusName: c.EVENT_BUS_NAME,
    keyServiceUrl: c.KEY_SERVICE_URL,
    cdnDomain: c.CDN_DOMAIN || undefined,
    includeWrappedKey: c.NOTIFY_INCLUDE_WRAPPED_KEY === 'true',
    sourceRetention: c.SOURCE_RETENTION,
  };
}

/**
 * `SOURCE_RETENTION`: `delete` (the default) removes the exact source version once the job has succeeded, `keep`
 * leaves it. Read by DisposeSource, and by the local CLI before a stack starts, so a typo fails at once.
 */
export function sourceRetentionConfig(env: NodeJS.ProcessEnv = process.env): {
  policy: SourceRetentionPolicy;
} {
  return { policy: load(SourceRetentionSchema, env).SOURCE_RETENTION };
}
