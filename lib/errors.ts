/**
 * Errors are the contract between the handlers and the state machine: every class name below is used verbatim in
 * the ASL's `ErrorEquals` (a unit test loads the ASL and checks both directions). Adapters translate SDK exceptions
 * into these; handlers never catch-and-return.
 *
 * Transient errors are retried by the state machine with backoff and jitter; permanent ones go straight to Catch.
 */

export interface ErrorDetails {
  /** A short machine-readable code that ends up in the failure notification (`error.code`). */
  code?: string;
  cause?: unknown;
}

abstract class WorkflowError extends Error {
  readonly code: string;
  abstract readonly transient: boolean;
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code ?? 'WORKFLOW_ERROR';
  }
}

// ---- transient (Retry) ----------------------------------------------------------------------------------------

/** KMS answered ThrottlingException / LimitExceeded / 5xx. */
export class KmsThrottledError extends WorkflowError {
  override readonly name = 'KmsThrottledError';
  readonly transient = true;
}
/** S3 answered SlowDown, 500/503, or the connection was reset. */
export class S3TransientError extends WorkflowError {
  override readonly name = 'S3TransientError';
  readonly transient = true;
}
/** The transcoder answered 429 (LimitExceeded/Throttling) or 5xx. */
export class TranscoderThrottledError extends WorkflowError {
  override readonly name = 'TranscoderThrottledError';
  readonly transient = true;
}

/** SNS Publish or EventBridge PutEvents failed; a notification is never given up on quietly. */
export class NotificationPublishError extends WorkflowError {
  override readonly name = 'NotificationPublishError';
  readonly transient = true;
}

// ---- permanent (Catch → failure notification) --------------------------------------------------------------------

/** Configuration is missing or invalid (fail fast at start-up). */
export class ConfigurationError extends WorkflowError {
  override readonly name = 'ConfigurationError';
  readonly transient = false;
}
/** The state-machine input does not match the task's schema. */
export class InvalidTaskInputError extends WorkflowError {
  override readonly name = 'InvalidTaskInputError';
  readonly transient = false;
}
/** The source object does not exist (deleted before processing) or is not readable. */
export class SourceNotFoundError extends WorkflowError {
  override readonly name = 'SourceNotFoundError';
  readonly transient = false;
}
/** The source object is zero bytes. */
export class SourceEmptyError extends WorkflowError {
  override readonly name = 'SourceEmptyError';
  readonly transient = false;
}
/** The source object is larger than the configured maximum. */
export class SourceTooLargeError extends WorkflowError {
  override readonly name = 'SourceTooLargeError';
  readonly transient = false;
}
/** The source object was replaced while the workflow was reading it (ETag/version no longer matches). */
export class SourceChangedError extends WorkflowError {
  override readonly name = 'SourceChangedError';
  readonly transient = false;
}
/** KMS key is disabled, unknown, pending deletion, or access is denied. */
export class KmsKeyUnavailableError extends WorkflowError {
  override readonly name = 'KmsKeyUnavailableError';
  readonly transient = false;
}
/** KMS refused a ciphertext blob: tampered, or bound to another encryption context or key. */
export class KmsInvalidCiphertextError extends WorkflowError {
  override readonly name = 'KmsInvalidCiphertextError';
  readonly transient = false;
}
/** The encryption engine could not produce the ciphertext (bad key size, part limit, S3 refused permanently). */
export class EncryptionFailedError extends WorkflowError {
  override readonly name = 'EncryptionFailedError';
  readonly transient = false;
}
/** The transcoder rejected the request (ValidationException, unknown pipeline or preset, access denied). */
export class TranscoderRequestError extends WorkflowError {
  override readonly name = 'TranscoderRequestError';
  readonly transient = false;
}
/** The transcode job ended in `Error`. `code` carries the service's error code (e.g. 4018). */
export class TranscodeJobFailedError extends WorkflowError {
  override readonly name = 'TranscodeJobFailedError';
  readonly transient = false;
}
/** The transcode job ended in `Canceled`. */
export class TranscodeJobCanceledError extends WorkflowError {
  override readonly name = 'TranscodeJobCanceledError';
  readonly transient = false;
}
/**
 * The job ended in one of the service's internal error codes (Elastic Transcoder 9000, 9001, 9999; MediaConvert 1999,
 * 1550): not the input's fault, so the state machine catches it and resubmits the job (a bounded number of times)
 * instead of failing the asset.
 */
export class TranscoderInternalError extends WorkflowError {
  override readonly name = 'TranscoderInternalError';
  readonly transient = false;
}
/** The job did not reach a terminal status before the poll deadline. */
export class PollDeadlineExceededError extends WorkflowError {
  override readonly name = 'PollDeadlineExceededError';
  readonly transient = false;
}

export const TRANSIENT_ERRORS = [
  'KmsThrottledError',
  'S3TransientError',
  'TranscoderThrottledError',
  'NotificationPublishError',
] as const;

export const PERMANENT_ERRORS = [
  'ConfigurationError',
  'InvalidTaskInputError',
  'SourceNotFoundError',
  'SourceEmptyError',
  'SourceTooLargeError',
  'SourceChangedError',
  'KmsKeyUnavailableError',
  'KmsInvalidCiphertextError',
  'EncryptionFailedError',
  'TranscoderRequestError',
  'TranscodeJobFailedError',
  'TranscodeJobCanceledError',
  // Not retried in place: PollJob's Catch sends it back to SubmitJob, which resubmits a bounded number of times.
  'TranscoderInternalError',
  'PollDeadlineExceededError',
] as const;

export function isWorkflowError(e: unknown): e is WorkflowError {
  return e instanceof WorkflowError;
}

/** The SDK's error name / HTTP status, without assuming the SDK's class hierarchy. */
export function sdkErrorInfo(e: unknown): { name: string; status: number | undefined; message: string } {
  const err = e as {
    name?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: number };
    code?: unknown;
  };
  const name = typeof err?.name === 'string' ? err.name : typeof err?.code === 'string' ? err.code : 'Error';
  return {
    name,
    status: err?.$metadata?.httpStatusCode,
    message: typeof err?.message === 'string' ? err.message : String(e),
  };
}

const NETWORK_ERRORS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'TimeoutError',
  'RequestTimeout',
  'NetworkingError',
]);
const NETWORK_MESSAGE = /socket hang up|ECONNRESET|EPIPE|ETIMEDOUT|ECONNREFUSED|TimeoutError|network/i;

/**
 * True for connection resets, socket timeouts and other failures where no HTTP answer arrived, so retrying the same
 * request is safe. The SDK sometimes wraps them ("AWS SDK error wrapper for TimeoutError: socket hang up") under a
 * plain `Error` name, so the cause chain and the message are checked too.
 */
/**
 * The one test of "retrying may help" for every SDK error translator: a service-specific throttle/busy error name,
 * HTTP 429 or 5xx, or a network failure (including one the SDK wrapped). Each service names its transient errors
 * differently; the rest is the same everywhere.
 */
export function isTransientSdkError(e: unknown, transientNames: ReadonlySet<string>): boolean {
  const { name, status } = sdkErrorInfo(e);
  return (
    transientNames.has(name) || status === 429 || (status !== undefined && status >= 500) || isNetworkError(e)
  );
}

export function isNetworkError(e: unknown, depth = 0): boolean {
  const err = e as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    cause?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  if (!err || typeof err !== 'object') return false;
  if (typeof err.code === 'string' && NETWORK_ERRORS.has(err.code)) return true;
  if (typeof err.name === 'string' && NETWORK_ERRORS.has(err.name)) return true;
  if (
    err.$metadata?.httpStatusCode === undefined &&
    typeof err.message === 'string' &&
    NETWORK_MESSAGE.test(err.message)
  ) {
    return true;
  }
  return depth < 3 && err.cause !== undefined && isNetworkError(err.cause, depth + 1);
}
