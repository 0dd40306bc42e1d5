/**
 * The embedded stack's public shapes: its fixed names, the options `startStack` takes, the `endpoints.json` it writes
 * and the handle it returns.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { TranscoderBackend } from '../../lib/config/transcoder.js';
import type { FfmpegBinary, JobProgress } from '../engine/index.js';
import type { FaultInjector } from '../faults.js';
import type { S3RequestRecord } from '../s3/index.js';
import type { ExecutionRecord, HistoryEvent, LocalStepFunctions } from '../sfn/index.js';
import type { Notification } from './notifications.js';

export const LOCAL_BUCKET = 'secure-transcode-local';
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
export const EVENT_BUS_NAME = 'secure-transcode-local';
export const LOCAL_MEDIACONVERT_ROLE_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:role/secure-transcode-local-mediaconvert`;

export interface EndpointsJson {
  region: string;
  /** The transcoder the workflow submits to. */
  transcoderBackend: TranscoderBackend;
  /** The IAM role MediaConvert jobs name (locally the stack's credentials stand in for it). */
  mediaConvertRoleArn: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  endpoints: {
    s3: string;
    sqs: string;
    sns: string;
    kms: string;
    elastictranscoder: string;
    mediaconvert: string;
    /** The SPEKE key provider's route (`SpekeKeyProvider.Url` of MediaConvert jobs). */
    speke: string;
    sfn: string;
    keyService: string;
    eventbridge: string;
    dynamodb: string;
  };
  bucket: string;
  inputPrefix: string;
  queueUrl: string;
  dlqUrl: string;
  topicArn: string;
  pipelineId: string;
  kmsKeyId: string;
  kmsKeyArn: string;
  /** The playback key (PLAYBACK_KMS_KEY_ID). */
  playbackKmsKeyArn: string;
  stateMachineArn: string;
  notificationsFile: string;
  eventsFile: string;
  exportsDir: string;
  /** Player page base; append `?asset=<assetId>&token=<token>` (the CLI prints complete URLs). */
  player: string;
  /** The local console, its per-stack access token included (loopback only). */
  console: string;
  /** The key service's 0600 token-signing secret (what `secure-transcode token` and `play` sign with). */
  tokenSecretFile: string;
}

export interface StackPorts {
  s3?: number;
  kms?: number;
  transcoder?: number;
  mediaconvert?: number;
  speke?: number;
  sfn?: number;
  keyService?: number;
  eventbridge?: number;
}

export interface StackOptions {
  dataDir: string;
  /** The transcoder the workflow uses (default `mediaconvert`, as deployed); both local services always run. */
  backend?: TranscoderBackend;
  /** Shorten Wait states, retry intervals and the transcoder poll (`--fast`). */
  fast?: boolean;
  /** A fault spec (see local/faults.ts) or an injector shared with the caller. Default: `SECURE_TRANSCODE_FAULTS`. */
  faults?: string | FaultInjector;
  /** Do not print notifications and ingest problems (the caller shows its own progress). */
  quiet?: boolean;
  ports?: StackPorts;
  /** The ffmpeg for the local transcoder, already chosen (the CLI's), else `ffmpegPath`, else selectFfmpeg's choice. */
  ffmpeg?: FfmpegBinary;
  ffmpegPath?: string;
  /** Where human-readable lines go when not quiet. */
  log?: (line: string) => void;
  /** Repository root holding serverless.yml and statemachines/ (defaults to this checkout). */
  root?: string;
  /**
   * Extra handler environment (e.g. `MAX_SOURCE_BYTES`, `PART_SIZE_MIB`, `POLL_DEADLINE_SECONDS`), applied over the
   * stack's own like a deployment's `environment:`. Handlers read their configuration once, on first load.
   */
  env?: Record<string, string>;
  /** Sees every S3 request the gateway receives, before faults (tests time actions against the workflow's I/O). */
  onS3Request?: (r: S3RequestRecord) => void;
  /** Replace the data directory's credentials with new random ones before starting (`--rotate-credentials`). */
  rotateCredentials?: boolean;
}

export interface Stack {
  config: EndpointsJson;
  env: Record<string, string>;
  dataDir: string;
  /** The ASL file the local Step Functions runs. */
  definitionPath: string;
  faults: FaultInjector;
  sfn: LocalStepFunctions;
  s3: S3Client;
  /** The key service's token issuer (what `secure-transcode token` uses). */
  issueToken(assetId: string): Promise<string>;
  playerUrl(assetId: string, token: string): string;
  onNotification(listener: (n: Notification) => void): () => void;
  onExecutionEvent(listener: (record: ExecutionRecord, event: HistoryEvent) => void): () => void;
  /** The ffmpeg the local transcoder runs (path, version, where it was found). */
  ffmpeg: FfmpegBinary;
  /** Progress of running transcode jobs (per rendition, from ffmpeg), a few times a second each. */
  onTranscodeProgress(listener: (progress: JobProgress) => void): () => void;
  /** Executions started for an object key (newest last). */
  executionsFor(key: string): ExecutionRecord[];
  /** Waits until an execution started at or after `since` (epoch ms) for `key`; resolves with its ARN. */
  waitForExecutionStart(key: string, timeoutMs?: number, since?: number): Promise<string>;
  /** Waits until the workflow for `key` has started (at or after `since`) and finished. */
  waitForExecution(key: string, timeoutMs?: number, since?: number): Promise<ExecutionRecord>;
  /** Waits for the notification of an execution (by name). */
  waitForNotification(executionName: string, timeoutMs?: number): Promise<Notification>;
  /** Where a finished asset was exported, once its notification has been processed. */
  exportDirFor(assetId: string): string | undefined;
  stop(): Promise<void>;
}
