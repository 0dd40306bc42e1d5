/**
 * Configuration is read once per process from environment variables, validated, and frozen. Each function reads
 * only the section it needs, so a missing variable fails that function at start-up with a clear message
 * (`Environment variable X is required`) instead of deep inside a job. No other module reads process.env.
 */
import { z } from 'zod';
import { ConfigurationError } from './errors.js';

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

const IngestSchema = z.object({
  STATE_MACHINE_ARN: z.string().min(1),
  INPUT_PREFIX: prefix.default('incoming/'),
  ALLOWED_EXTENSIONS: z.string().default('.mp4,.mov,.m4v,.mkv,.webm,.avi,.mpg,.mpeg,.ts,.mxf'),
  DEFAULT_PROFILE: z.string().default('default'),
});

const WorkflowSchema = z.object({
  INPUT_PREFIX: prefix.default('incoming/'),
  ENCRYPTED_BUCKET: z.string().optional(),
  OUTPUT_BUCKET: z.string().optional(),
  ENCRYPTED_PREFIX: prefix.default('encrypted/'),
  OUTPUT_PREFIX: prefix.default('outputs/'),
  ASSET_PREFIX: prefix.default('assets/'),
  MAX_SOURCE_BYTES: intFrom(50 * 1024 ** 3, 1),
  KMS_KEY_ID: z.string().min(1),
  TRANSCODER_KMS_KEY_ID: z.string().optional(),
  TRANSCODER_BACKEND: z.enum(['elastictranscoder', 'mediaconvert']).default('elastictranscoder'),
  PIPELINE_ID: z.string().optional(),
  MEDIACONVERT_ROLE_ARN: z.string().optional(),
  MEDIACONVERT_QUEUE_ARN: z.string().optional(),
  KEY_SERVICE_URL: z.string().url(),
  PART_SIZE_MIB: intFrom(8, 5),
  READ_AHEAD: intFrom(2, 0),
  UPLOAD_CONCURRENCY: intFrom(4, 1),
  TIME_BUDGET_MARGIN_MS: intFrom(30_000, 0),
  POLL_INITIAL_SECONDS: intFrom(5, 1),
  POLL_MAX_SECONDS: intFrom(60, 1),
  POLL_DEADLINE_SECONDS: intFrom(6 * 3600, 1),
});

const NotifySchema = z.object({
  TOPIC_ARN: z.string().min(1),
  EVENT_BUS_NAME: z.string().min(1),
  KEY_SERVICE_URL: z.string().url(),
});

function load<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const name = String(first?.path[0] ?? 'unknown');
    const missing = first?.code === 'invalid_type' && env[name] === undefined;
    throw new ConfigurationError(
      missing ? `Environment variable ${name} is required` : `Environment variable ${name} is invalid: ${first?.message}`,
      { code: 'CONFIGURATION' },
    );
  }
  return parsed.data;
}

export interface IngestConfig {
  stateMachineArn: string;
  inputPrefix: string;
  allowedExtensions: string[];
  defaultProfile: string;
}

export function ingestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const c = load(IngestSchema, env);
  return {
    stateMachineArn: c.STATE_MACHINE_ARN,
    inputPrefix: c.INPUT_PREFIX,
    allowedExtensions: csv(c.ALLOWED_EXTENSIONS).map((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase()),
    defaultProfile: c.DEFAULT_PROFILE,
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
  kmsKeyId: string;
  transcoderKmsKeyId: string;
  transcoderBackend: 'elastictranscoder' | 'mediaconvert';
  pipelineId: string | undefined;
  mediaConvertRoleArn: string | undefined;
  mediaConvertQueueArn: string | undefined;
  keyServiceUrl: string;
  partSizeBytes: number;
  readAhead: number;
  uploadConcurrency: number;
  timeBudgetMarginMs: number;
  pollInitialSeconds: number;
  pollMaxSeconds: number;
  pollDeadlineSeconds: number;
}

export function workflowConfig(env: NodeJS.ProcessEnv = process.env): WorkflowConfig {
  const c = load(WorkflowSchema, env);
  if (c.TRANSCODER_BACKEND === 'elastictranscoder' && !c.PIPELINE_ID) {
    throw new ConfigurationError('Environment variable PIPELINE_ID is required', { code: 'CONFIGURATION' });
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
    transcoderKmsKeyId: c.TRANSCODER_KMS_KEY_ID || c.KMS_KEY_ID,
    transcoderBackend: c.TRANSCODER_BACKEND,
    pipelineId: c.PIPELINE_ID,
    mediaConvertRoleArn: c.MEDIACONVERT_ROLE_ARN,
    mediaConvertQueueArn: c.MEDIACONVERT_QUEUE_ARN,
    keyServiceUrl: c.KEY_SERVICE_URL.replace(/\/+$/, ''),
    partSizeBytes: c.PART_SIZE_MIB * 1024 * 1024,
    readAhead: c.READ_AHEAD,
    uploadConcurrency: c.UPLOAD_CONCURRENCY,
    timeBudgetMarginMs: c.TIME_BUDGET_MARGIN_MS,
    pollInitialSeconds: c.POLL_INITIAL_SECONDS,
    pollMaxSeconds: Math.max(c.POLL_MAX_SECONDS, c.POLL_INITIAL_SECONDS),
    pollDeadlineSeconds: c.POLL_DEADLINE_SECONDS,
  };
}

export interface NotifyConfig {
  topicArn: string;
  eventBusName: string;
  keyServiceUrl: string;
}

export function notifyConfig(env: NodeJS.ProcessEnv = process.env): NotifyConfig {
  const c = load(NotifySchema, env);
  return { topicArn: c.TOPIC_ARN, eventBusName: c.EVENT_BUS_NAME, keyServiceUrl: c.KEY_SERVICE_URL.replace(/\/+$/, '') };
}

/** The encryption context Elastic Transcoder uses when it asks KMS to decrypt input and HLS keys. */
export const ELASTIC_TRANSCODER_CONTEXT = Object.freeze({ service: 'elastictranscoder.amazonaws.com' });
/** MediaConvert's equivalent (reference/mediaconvert.md). */
export const MEDIACONVERT_CONTEXT = Object.freeze({ service: 'mediaconvert.amazonaws.com' });
