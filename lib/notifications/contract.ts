/**
 * Notification contract v1.2 (JSON Schema: schemas/notification.v1.schema.json; each minor only adds fields, so every
 * v1.0 and v1.1 message still validates). One message per execution, on SNS (message attributes `status` and `profile` for filter
 * policies) and on EventBridge (source `secure-transcode`). It never carries a plaintext key; the wrapped (KMS
 * ciphertext) key only when the deployment opts in (`NOTIFY_INCLUDE_WRAPPED_KEY`), because a subscriber who also
 * holds a KMS grant could unwrap it.
 */
import type {
  Asset,
  CaughtError,
  EncryptedObject,
  ExecutionRef,
  Job,
  Source,
  SourceRetention,
  SourceRetentionPolicy,
  TranscoderKey,
} from '../contracts.js';
import { knownErrorCode, knownStep } from './error-codes.js';

export const NOTIFICATION_VERSION = '1.2';
export const EVENT_SOURCE = 'secure-transcode';
export const DETAIL_TYPES = { SUCCEEDED: 'Transcode Succeeded', FAILED: 'Transcode Failed' } as const;

/** Where an object is: its bucket and key, its `s3://` URI, and its HTTPS URL when a CDN serves the outputs. */
export interface ObjectLocation {
  bucket: string;
  key: string;
  uri: string;
  url: string | null;
}

/** Per-variant facts from the master playlist's `EXT-X-STREAM-INF` (what players choose from). */
export interface VariantInfo {
  bandwidth: number | null;
  averageBandwidth: number | null;
  codecs: string | null;
}

export interface Notification {
  version: typeof NOTIFICATION_VERSION | '1.1' | '1.0';
  status: 'SUCCEEDED' | 'FAILED';
  timestamp: string;
  profile: string | null;
  source: {
    /** Null only for an execution started by hand with an input that names no source. */
    bucket: string | null;
    key: string | null;
    versionId: string | null;
    size: number | null;
    etag: string | null;
    uri?: string | null;
    durationMillis?: number | null;
    metadata?: Record<string, string>;
    /** What became of this source version (v1.2). */
    retention?: SourceRetention;
  };
  encrypted: {
    bucket: string;
    key: string;
    uri?: string;
    mode: string;
    initializationVector: string;
    wrappedKey?: string;
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
    bucket?: string;
    uri?: string;
    url?: string | null;
    bitrate?: number | null;
    averageBitrate?: number | null;
    codecs?: string | null;
  }>;
  playlists: Array<{ key: string; format: string; bucket?: string; uri?: string; url?: string | null }>;
  playback: { assetId: string; keyUrl: string; masterPlaylist: string | null } | null;
  execution: { name: string; arn: string };
  error?: { code: string; message: string; step: string };
}

export interface NotificationOptions {
  /** Base of the key service, for `playback.keyUrl`. */
  keyServiceUrl: string;
  /** A CDN domain serving the output bucket; outputs and playlists then carry `https://<domain>/<key>`. */
  cdnDomain?: string | undefined;
  /** Include `encrypted.wrappedKey` (off by default). */
  includeWrappedKey?: boolean;
  /** Variant facts by output key, read from the master playlist (lib/notifications/variants.ts). */
  variants?: Map<string, VariantInfo>;
  /** The deployment's `SOURCE_RETENTION`, reported on failure (a failed job never deletes its source). */
  sourceRetention?: SourceRetentionPolicy;
}

/** The workflow state as the notify task receives it: any prefix of the pipeline may be present. */
export interface NotifyState {
  /** Absent or partial only when an execution was started by hand with an input the workflow cannot parse. */
  source?: Partial<Source> & { bucket?: string; key?: string; sequencer?: string };
  profile?: string;
  execution?: ExecutionRef;
  asset?: Asset;
  encrypted?: EncryptedObject;
  transcoderKey?: TranscoderKey;
  job?: Job;
  /** Set by DisposeSource on the success path. */
  sourceRetention?: SourceRetention;
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

function locate(bucket: string, key: string, cdnDomain: string | undefined): ObjectLocation {
  const path = key.split('/').map(encodeURIComponent).join('/');
  return {
    bucket,
    key,
    uri: `s3://${bucket}/${key}`,
    url: cdnDomain ? `https://${cdnDomain}/${path}` : null,
  };
}

/**
 * On success, what DisposeSource did. On failure the source is always kept, whatever the policy, and only the policy
 * comes from the configuration: a failure input may not hold a `sourceRetention` to trust.
 */
function retentionOf(
  state: NotifyState,
  failed: boolean,
  policy: SourceRetentionPolicy | undefined,
): { retention?: SourceRetention } {
  if (!failed) return state.sourceRetention ? { retention: { ...state.sourceRetention } } : {};
  if (!policy) return {};
  return { retention: { policy, deleted: false, versionId: text(state.source?.versionId) } };
}

const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);

export function buildNotification(
  state: NotifyState,
  options: NotificationOptions,
  now: Date = new Date(),
): Notification {
  const failed = state.error !== undefined;
  const enc = state.encrypted;
  const job = state.job;
  const asset = state.asset;
  const src = state.source ?? {};
  const sourceBucket = text(src.bucket);
  const sourceKey = text(src.key);
  const outputBucket = asset?.outputBucket ?? sourceBucket ?? '';
  const cdn = options.cdnDomain?.replace(/^https?:\/\//, '').replace(/\/+$/, '') || undefined;
  const notification: Notification = {
    version: NOTIFICATION_VERSION,
    status: failed ? 'FAILED' : 'SUCCEEDED',
    timestamp: now.toISOString(),
    profile: state.profile ?? null,
    source: {
      bucket: sourceBucket,
      key: sourceKey,
      versionId: src.versionId ?? null,
      size: src.size ?? null,
      etag: src.etag ?? null,
      uri: sourceBucket && sourceKey ? `s3://${sourceBucket}/${sourceKey}` : null,
      durationMillis: job?.sourceDurationMillis ?? null,
      ...(src.metadata && Object.keys(src.metadata).length > 0 ? { metadata: { ...src.metadata } } : {}),
      ...retentionOf(state, failed, options.sourceRetention),
    },
    encrypted: enc
      ? {
          bucket: enc.bucket,
          key: enc.key,
          uri: `s3://${enc.bucket}/${enc.key}`,
          mode: enc.mode,
          initializationVector: enc.initializationVector,
          ...(options.includeWrappedKey ? { wrappedKey: enc.wrappedKey } : {}),
          keyMd5: enc.keyMd5,
          kmsKeyId: enc.kmsKeyId,
        }
      : null,
    job: job
      ? { backend: job.backend, id: job.id, status: job.status, statusDetail: job.statusDetail ?? null }
      : null,
    outputs: failed
      ? []
      : (job?.outputs ?? []).map((o) => {
          const variant = options.variants?.get(o.key);
          return {
            ...locate(outputBucket, o.key, cdn),
            presetId: o.presetId,
            durationMillis: o.durationMillis ?? null,
            width: o.width ?? null,
            height: o.height ?? null,
            fileSize: o.fileSize ?? null,
            bitrate: variant?.bandwidth ?? null,
            averageBitrate: variant?.averageBandwidth ?? null,
            codecs: variant?.codecs ?? null,
          };
        }),
    playlists: failed
      ? []
      : (job?.playlists ?? []).map((p) => ({ ...locate(outputBucket, p.key, cdn), format: p.format })),
    playback:
      asset && !failed
        ? {
            assetId: asset.assetId,
            keyUrl: `${options.keyServiceUrl}/keys/${encodeURIComponent(asset.assetId)}`,
            masterPlaylist: job?.playlists[0]?.key ?? null,
          }
        : null,
    execution: { name: state.execution?.name ?? 'unknown', arn: state.execution?.arn ?? 'unknown' },
  };
  if (state.error) {
    const { code, message } = describeError(state.error);
    notification.error = { ...knownErrorCode(code, message), step: knownStep(state.failedStep) };
  }
  return notification;
}
