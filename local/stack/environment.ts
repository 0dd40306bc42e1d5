/**
 * The process environment the handlers run with, in three layers applied as the stack comes up: the region and the
 * stack's credentials, then the service endpoints (before the key service loads its handler), then the workflow's own
 * settings (once Step Functions and the key service are up). Handlers read it like a deployment's `environment:`.
 */
import type { TranscoderBackend } from '../../lib/config/transcoder.js';
import type { StackCredentials } from './credentials.js';
import type { Provisioned } from './resources.js';
import { EVENT_BUS_NAME, LOCAL_BUCKET, LOCAL_MEDIACONVERT_ROLE_ARN } from './types.js';

/** Sets variables and returns a function putting back what was there (tests run several stacks, one at a time). */
export function applyEnv(vars: Record<string, string>): () => void {
  const previous = new Map(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of previous) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** Region and credentials for everything in this process; returns the restore function. */
export function applyBaseEnv(region: string, credentials: StackCredentials, quiet: boolean): () => void {
  const restore = applyEnv({
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    // A developer's real session token or profile must never be mixed with the fake keys.
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    // Handlers log through Powertools (JSON on stdout); a quiet stack keeps only warnings unless told otherwise.
    ...(quiet && !process.env.LOG_LEVEL ? { LOG_LEVEL: 'WARN' } : {}),
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  return restore;
}

export interface ServiceEndpoints {
  s3: string;
  kms: string;
  transcoder: string;
  mediaconvert: string;
  eventbridge: string;
}

/** The endpoints of the AWS services and the buckets: what the key service's handler needs. */
export function serviceEnvOf(endpoints: ServiceEndpoints, provisioned: Provisioned): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_SQS: endpoints.s3,
    AWS_ENDPOINT_URL_SNS: endpoints.s3,
    AWS_ENDPOINT_URL_KMS: endpoints.kms,
    AWS_ENDPOINT_URL_ELASTIC_TRANSCODER: endpoints.transcoder,
    AWS_ENDPOINT_URL_MEDIACONVERT: endpoints.mediaconvert,
    AWS_ENDPOINT_URL_EVENTBRIDGE: endpoints.eventbridge,
    OUTPUT_BUCKET: LOCAL_BUCKET,
    ENCRYPTED_BUCKET: LOCAL_BUCKET,
    PLAYBACK_KMS_KEY_ID: provisioned.playbackKmsKeyArn,
    SOURCE_BUCKETS: LOCAL_BUCKET,
  };
}

export interface WorkflowEndpoints {
  sfn: string;
  stateMachineArn: string;
  dynamodb: string;
  keyService: string;
  speke: string;
}

/** The workflow handlers' settings, with the caller's `env` over the stack's own. */
export function workflowEnvOf(
  endpoints: WorkflowEndpoints,
  provisioned: Provisioned,
  backend: TranscoderBackend,
  overrides: Record<string, string> | undefined,
): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_SFN: endpoints.sfn,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    STATE_MACHINE_ARN: endpoints.stateMachineArn,
    INPUT_PREFIX: 'incoming/',
    KMS_KEY_ID: provisioned.kmsKeyArn,
    PIPELINE_ID: provisioned.pipelineId,
    TRANSCODER_BACKEND: backend,
    MEDIACONVERT_ROLE_ARN: LOCAL_MEDIACONVERT_ROLE_ARN,
    MEDIACONVERT_SPEKE_URL: endpoints.speke,
    KEY_SERVICE_URL: endpoints.keyService,
    TOPIC_ARN: provisioned.topicArn,
    EVENT_BUS_NAME,
    // Locally the notification carries the wrapped key, so the encrypted copy can be checked against openssl
    // from the notification alone (README.md, "Notification contract"); a deployment leaves it out by default.
    NOTIFY_INCLUDE_WRAPPED_KEY: 'true',
    // The local engine costs nothing to ask, so PollJob runs every second and a finished job reaches the workflow
    // within about a second; a deployment keeps its backoff (5 s doubling to 60 s), which bounds cost.
    POLL_INITIAL_SECONDS: '1',
    POLL_MAX_SECONDS: '1',
    ...overrides,
  };
}
