/**
 * Configuration is read once per process from environment variables, validated, and frozen. Each function reads
 * only the section it needs, so a missing variable fails that function at start-up with a clear message
 * (`Environment variable X is required`) instead of deep inside a job. No other module reads process.env.
 */
import { z } from 'zod';
import { ConfigurationError } from './errors.js';
import { transcoderContext } from './kms/contexts.js';

const csv = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

const prefix = z
  .string()
  .min(1)
  .transform((p) => (p.endsWith('/') ? p : `${p}/`));

const intFrom = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

// serverless.yml passes every parameter as an environment variable, so an unset optional one arrives as ''.
const optionalText = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());
const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), z.string().url().optional());

export const TRANSCODER_BACKENDS = ['elastictranscoder', 'mediaconvert'] as const;
export type TranscoderBackend = (typeof TRANSCODER_BACKENDS)[number];

const IngestSchema = z.object({
  STATE_MACHINE_ARN: z.string().min(1),
  SOURCE_BUCKETS: z.string().min(1),
  INPUT_PREFIX: prefix.default('incoming/'),
  ALLOWED_EXTENSIONS: z.string().default('.mp4,.mov,.m4v,.mkv,.webm,.avi,.mpg,.mpeg,.ts,.mxf'),
  DEFAULT_PROFILE: z.string().default('default'),
  PROFILES_JSON: z.string().optional(),
});

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
  KEY_SERVICE_URL: z.string().url(),
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

const NotifySchema = z.object({
  TOPIC_ARN: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
  KEY_SERVICE_URL: z.string().url(),
  CDN_DOMAIN: z.string().optional(),
  NOTIFY_INCLUDE_WRAPPED_KEY: z.enum(['true', 'false', '']).default('false'),
});

function load<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const name = String(first?.path[0] ?? 'unknown');
    const missing = first?.code === 'invalid_type' && env[name] === undefined;
    throw new ConfigurationError(
      missing
        ? `Environment variable ${name} is required`
        : `Environment variable ${name} is invalid: ${first?.message}`,
      { code: 'CONFIGURATION' },
    );
  }
  return parsed.data;
}

export interface IngestConfig {
  stateMachineArn: string;
  /** The only buckets whose S3 records start a workflow; a record naming any other is refused. */
  sourceBuckets: string[];
  inputPrefix: string;
  allowedExtensions: string[];
  defaultProfile: string;
  /** Extra or overriding transcoding profiles (JSON array), parsed by lib/profiles.ts. */
  profilesJson: string | undefined;
}

export function ingestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const c = load(IngestSchema, env);
  return {
    stateMachineArn: c.STATE_MACHINE_ARN,
    sourceBuckets: csv(c.SOURCE_BUCKETS),
    inputPrefix: c.INPUT_PREFIX,
    allowedExtensions: csv(c.ALLOWED_EXTENSIONS).map((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase()),
    defaultProfile: c.DEFAULT_PROFILE,
    profilesJson: c.PROFILES_JSON || undefined,
  };
}

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
    keyServiceUrl: c.KEY_SERVICE_URL.replace(/\/+$/, ''),
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
}

export function notifyConfig(env: NodeJS.ProcessEnv = process.env): NotifyConfig {
  const c = load(NotifySchema, env);
  return {
    topicArn: c.TOPIC_ARN,
    eventBusName: c.EVENT_BUS_NAME,
    keyServiceUrl: c.KEY_SERVICE_URL.replace(/\/+$/, ''),
    cdnDomain: c.CDN_DOMAIN || undefined,
    includeWrappedKey: c.NOTIFY_INCLUDE_WRAPPED_KEY === 'true',
  };
}

/**
 * MediaConvert needs a job role it can assume and, for HLS AES-128, a SPEKE key server. A StaticKeyProvider is the
 * only alternative and it writes the plaintext segment key into the job spec (visible to GetJob/ListJobs callers),
 * so it is never used: without a SPEKE URL the workflow refuses to start rather than silently weakening protection.
 */
export function requireMediaConvertSettings(s: {
  roleArn: string | undefined;
  spekeUrl: string | undefined;
}): void {
  if (!s.roleArn) {
    throw new ConfigurationError(
      'Environment variable MEDIACONVERT_ROLE_ARN is required when TRANSCODER_BACKEND=mediaconvert',
      {
        code: 'CONFIGURATION',
      },
    );
  }
  if (!s.spekeUrl) {
    throw new ConfigurationError(
      'Environment variable MEDIACONVERT_SPEKE_URL is required when TRANSCODER_BACKEND=mediaconvert: HLS AES-128 keys ' +
        'must come from a SPEKE key server, because the only alternative (a static key) puts the plaintext key into ' +
        'the job specification',
      { code: 'CONFIGURATION' },
    );
  }
}

// ---- playback (key service, token issuer) ------------------------------------------------------------------------

const PlaybackSchema = z.object({
  TOKEN_TABLE: z.string().min(1),
  TOKEN_SECRET_PARAM: z.string().optional(),
  TOKEN_SECRET_FILE: z.string().optional(),
  PLAYER_ORIGINS: z.string().default(''),
  TOKEN_TTL_SECONDS: intFrom(600, 10).pipe(z.number().max(7 * 86400)),
  TOKEN_MAX_USES: intFrom(1, 1).pipe(z.number().max(1000)),
  SIGNED_URL_TTL_SECONDS: intFrom(3600, 10).pipe(z.number().max(7 * 86400)),
  CLOUDFRONT_DOMAIN: z.string().optional(),
  CLOUDFRONT_KEY_PAIR_ID: z.string().optional(),
  CLOUDFRONT_PRIVATE_KEY_PARAM: z.string().optional(),
  KEY_CACHE_TTL_SECONDS: intFrom(300, 1).pipe(z.number().max(3600)),
  KEY_CACHE_MAX_ENTRIES: intFrom(500, 1),
  ASSET_PREFIX: prefix.default('assets/'),
  OUTPUT_BUCKET: z.string().min(1),
  PLAYBACK_KMS_KEY_ID: optionalText,
  KEY_SERVICE_URL: z.string().url().optional(),
  THROTTLE_TOKEN_BURST: intFrom(10, 1),
  THROTTLE_TOKEN_PER_SECOND: z.coerce.number().positive().default(1),
  THROTTLE_CLIENT_BURST: intFrom(60, 1),
  THROTTLE_CLIENT_PER_SECOND: z.coerce.number().positive().default(10),
});

export type TokenSecretSource = { kind: 'ssm'; name: string } | { kind: 'file'; path: string };

export interface CloudFrontSigningConfig {
  domain: string;
  keyPairId: string;
  privateKeyParam: string;
}

export interface PlaybackConfig {
  tokenTable: string;
  tokenSecret: TokenSecretSource;
  playerOrigins: string[];
  tokenTtlSeconds: number;
  tokenMaxUses: number;
  signedUrlTtlSeconds: number;
  cloudFront: CloudFrontSigningConfig | undefined;
  keyCacheTtlSeconds: number;
  keyCacheMaxEntries: number;
  assetPrefix: string;
  outputBucket: string;
  /**
   * The playback KMS key. The key service decrypts with this KeyId, never the one an asset record names, so a record
   * carrying a blob under any other key is refused by KMS (IncorrectKeyException). Required by the key service only.
   */
  playbackKmsKeyId: string | undefined;
  /** Public base URL of the key service; when absent the handler derives it from the request. */
  keyServiceUrl: string | undefined;
  throttle: {
    token: { burst: number; perSecond: number };
    client: { burst: number; perSecond: number };
  };
}

export function playbackConfig(env: NodeJS.ProcessEnv = process.env): PlaybackConfig {
  const c = load(PlaybackSchema, env);
  const secretParam = c.TOKEN_SECRET_PARAM || undefined;
  const secretFile = c.TOKEN_SECRET_FILE || undefined;
  if (!secretParam && !secretFile) {
    throw new ConfigurationError('Environment variable TOKEN_SECRET_PARAM or TOKEN_SECRET_FILE is required', {
      code: 'CONFIGURATION',
    });
  }
  const cf = [c.CLOUDFRONT_DOMAIN, c.CLOUDFRONT_KEY_PAIR_ID, c.CLOUDFRONT_PRIVATE_KEY_PARAM].filter(
    Boolean,
  ).length;
  if (cf !== 0 && cf !== 3) {
    throw new ConfigurationError(
      'Environment variables CLOUDFRONT_DOMAIN, CLOUDFRONT_KEY_PAIR_ID and CLOUDFRONT_PRIVATE_KEY_PARAM go together',
      { code: 'CONFIGURATION' },
    );
  }
  return {
    tokenTable: c.TOKEN_TABLE,
    tokenSecret: secretParam
      ? { kind: 'ssm', name: secretParam }
      : { kind: 'file', path: secretFile as string },
    playerOrigins: csv(c.PLAYER_ORIGINS).map((o) => o.replace(/\/+$/, '')),
    tokenTtlSeconds: c.TOKEN_TTL_SECONDS,
    tokenMaxUses: c.TOKEN_MAX_USES,
    signedUrlTtlSeconds: c.SIGNED_URL_TTL_SECONDS,
    cloudFront:
      cf === 3
        ? {
            domain: (c.CLOUDFRONT_DOMAIN as string).replace(/^https?:\/\//, '').replace(/\/+$/, ''),
            keyPairId: c.CLOUDFRONT_KEY_PAIR_ID as string,
            privateKeyParam: c.CLOUDFRONT_PRIVATE_KEY_PARAM as string,
          }
        : undefined,
    keyCacheTtlSeconds: c.KEY_CACHE_TTL_SECONDS,
    keyCacheMaxEntries: c.KEY_CACHE_MAX_ENTRIES,
    assetPrefix: c.ASSET_PREFIX,
    outputBucket: c.OUTPUT_BUCKET,
    playbackKmsKeyId: c.PLAYBACK_KMS_KEY_ID,
    keyServiceUrl: c.KEY_SERVICE_URL?.replace(/\/+$/, ''),
    throttle: {
      token: { burst: c.THROTTLE_TOKEN_BURST, perSecond: c.THROTTLE_TOKEN_PER_SECOND },
      client: { burst: c.THROTTLE_CLIENT_BURST, perSecond: c.THROTTLE_CLIENT_PER_SECOND },
    },
  };
}

// ---- SPEKE key provider ------------------------------------------------------------------------------------------

const SpekeSchema = z.object({
  OUTPUT_BUCKET: z.string().min(1),
  ASSET_PREFIX: prefix.default('assets/'),
  KEY_SERVICE_URL: z.string().url(),
});

export interface SpekeConfig {
  /** The bucket of the asset records. */
  outputBucket: string;
  assetPrefix: string;
  /** The key service's public base URL, written as each asset's EXT-X-KEY URI. */
  keyServiceUrl: string;
}

export function spekeConfig(env: NodeJS.ProcessEnv = process.env): SpekeConfig {
  const c = load(SpekeSchema, env);
  return {
    outputBucket: c.OUTPUT_BUCKET,
    assetPrefix: c.ASSET_PREFIX,
    keyServiceUrl: c.KEY_SERVICE_URL.replace(/\/+$/, ''),
  };
}
