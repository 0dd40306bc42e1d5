/**
 * Notification contract v1 (JSON Schema: schemas/notification.v1.schema.json). One message per execution, on SNS
 * (message attributes `status` and `profile` for filter policies) and on EventBridge (source `secure-transcode`).
 * It carries the wrapped (KMS ciphertext) key so the encrypted copy is self-describing, and never a plaintext key.
 */
import type {
  Asset,
  CaughtError,
  EncryptedObject,
  ExecutionRef,
  Job,
  Source,
  TranscoderKey,
} from '../contracts.js';

export const NOTIFICATION_VERSION = '1.0';
export const EVENT_SOURCE = 'secure-transcode';
export const DETAIL_TYPES = { SUCCEEDED: 'Transcode Succeeded', FAILED: 'Transcode Failed' } as const;

export interface Notification {
  version: typeof NOTIFICATION_VERSION;
  status: 'SUCCEEDED' | 'FAILED';
  timestamp: string;
  profile: string | null;
  source: { bucket: string; key: string; versionId: string | null; size: number | null; etag: string | null };
  encrypted: {
    bucket: string;
    key: string;
    mode: string;
    initializationVector: string;
    wrappedKey: string;
    keyMd5: string;
    kmsKeyId: string;
  } | null;
  job: { backend: string; id: string; status: string; statusDetail: string | null } | null;
  outputs: Array<{
    key: string;
    presetId: string;
    durationMillis: number | null;
    width: number | null;
    height: number | null;
    fileSize: number | null;
  }>;
  playlists: Array<{ key: string; format: string }>;
  playback: { assetId: string; keyUrl: string; masterPlaylist: string | null } | null;
  execution: { name: string; arn: string };
  error?: { code: string; message: string; step: string };
}

/** The workflow state as the notify task receives it: any prefix of the pipeline may be present. */
export interface NotifyState {
  source: Partial<Source> & { bucket: string; key: string; sequencer?: string };
  profile?: string;
  execution: ExecutionRef;
  asset?: Asset;
  encrypted?: EncryptedObject;
  transcoderKey?: TranscoderKey;
  job?: Job;
  error?: CaughtError;
  failedStep?: string;
}

/**
 * Step Functions puts a Lambda error's details in `Cause` as JSON `{errorType, errorMessage, trace}`; the local
 * runtime may pass the bare message. Only the type and message are kept — never the stack trace.
 */
export function describeError(error: CaughtError): { code: string; message: string } {
  let message = error.Cause ?? '';
  try {
    const parsed = JSON.parse(message) as { errorMessage?: unknown; errorType?: unknown };
    if (typeof parsed.errorMessage === 'string') message = parsed.errorMessage;
  } catch {
    // Not JSON: keep the raw cause.
  }
  return { code: error.Error, message: message.slice(0, 1000) || error.Error };
}

export function buildNotification(
  state: NotifyState,
  keyServiceUrl: string,
  now: Date = new Date(),
): Notification {
  const failed = state.error !== undefined;
  const enc = state.encrypted;
  const job = state.job;
  const asset = state.asset;
  const notification: Notification = {
    version: NOTIFICATION_VERSION,
    status: failed ? 'FAILED' : 'SUCCEEDED',
    timestamp: now.toISOString(),
    profile: state.profile ?? null,
    source: {
      bucket: state.source.bucket,
      key: state.source.key,
      versionId: state.source.versionId ?? null,
      size: state.source.size ?? null,
      etag: state.source.etag ?? null,
    },
    encrypted: enc
      ? {
          bucket: enc.bucket,
          key: enc.key,
          mode: enc.mode,
          initializationVector: enc.initializationVector,
          wrappedKey: enc.wrappedKey,
          keyMd5: enc.keyMd5,
          kmsKeyId: enc.kmsKeyId,
        }
      : null,
    job: job
      ? { backend: job.backend, id: job.id, status: job.status, statusDetail: job.statusDetail ?? null }
      : null,
    outputs: failed
      ? []
      : (job?.outputs ?? []).map((o) => ({
          key: o.key,
          presetId: o.presetId,
          durationMillis: o.durationMillis ?? null,
          width: o.width ?? null,
          height: o.height ?? null,
          fileSize: o.fileSize ?? null,
        })),
    playlists: failed ? [] : (job?.playlists ?? []),
    playback:
      asset && !failed
        ? {
            assetId: asset.assetId,
            keyUrl: `${keyServiceUrl}/keys/${encodeURIComponent(asset.assetId)}`,
            masterPlaylist: job?.playlists[0]?.key ?? null,
          }
        : null,
    execution: { name: state.execution.name, arn: state.execution.arn },
  };
  if (state.error) {
    notification.error = { ...describeError(state.error), step: state.failedStep ?? 'Unknown' };
  }
  return notification;
}
