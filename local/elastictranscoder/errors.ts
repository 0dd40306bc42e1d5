/**
 * Elastic Transcoder wire errors (REST-JSON: status code + `x-amzn-ErrorType` header + `{"message"}` body) and the
 * job-level error codes of the developer guide's error-handling page, which end up in `StatusDetail` and in
 * notifications.
 */
import { randomUUID } from 'node:crypto';
import type { EngineError, EngineErrorKind } from '../engine/index.js';

export type EtErrorType =
  | 'AccessDeniedException'
  | 'IncompatibleVersionException'
  | 'InternalServiceException'
  | 'LimitExceededException'
  | 'ResourceInUseException'
  | 'ResourceNotFoundException'
  | 'ValidationException';

const STATUS: Record<EtErrorType, number> = {
  AccessDeniedException: 403,
  IncompatibleVersionException: 400,
  InternalServiceException: 500,
  LimitExceededException: 429,
  ResourceInUseException: 409,
  ResourceNotFoundException: 404,
  ValidationException: 400,
};

export class EtError extends Error {
  override readonly name = 'EtError';
  readonly status: number;
  constructor(
    readonly type: EtErrorType,
    message: string,
  ) {
    super(message);
    this.status = STATUS[type];
  }
}

export const invalid = (message: string) => new EtError('ValidationException', message);

/** Job error codes used by the local transcoder (developer guide, "Error handling"). */
export const JOB_ERRORS = {
  3001: 'The specified input file does not exist.',
  3003: 'Amazon Elastic Transcoder does not have read permission for the input file.',
  4000: 'Amazon Elastic Transcoder could not interpret the media file.',
  4016: 'Amazon Elastic Transcoder could not decrypt the input file with the specified key and initialization vector.',
  4017: 'The AES key size must be 128, 192 or 256 bits.',
  4018: 'Unable to decrypt the ciphered key',
  4019: 'Amazon Elastic Transcoder could not generate a data key with the specified AWS KMS key.',
  4020: 'The key for AES-128 HLS content protection must be 128 bits.',
  9000: 'Amazon Elastic Transcoder encountered an internal error.',
  9001: 'Amazon Elastic Transcoder could not write the output files.',
} as const;

export type JobErrorCode = keyof typeof JOB_ERRORS;

/**
 * A failure that ends a job (or one output) in `Error`. The message must never contain key material: only the
 * code's text and identifiers the caller already knows (bucket, key, KeyMd5).
 */
export class JobFailure extends Error {
  override readonly name = 'JobFailure';
  constructor(
    readonly code: JobErrorCode,
    /** What went wrong beyond the code's text (no key material): kept apart so MediaConvert can word its own. */
    readonly detail?: string,
  ) {
    super(detail ? `${JOB_ERRORS[code]} ${detail}` : JOB_ERRORS[code]);
  }

  /** The service's StatusDetail format: `<code> <request id>: <message>`. */
  statusDetail(): string {
    return `${this.code} ${randomUUID()}: ${this.message}`;
  }
}

/** The developer guide's code for each engine failure. */
const ENGINE_CODES: Record<EngineErrorKind, JobErrorCode> = {
  InputNotFound: 3001,
  InputAccessDenied: 3003,
  NotMedia: 4000,
  NothingToEncode: 4000,
  DecryptionFailed: 4016,
  InvalidKeySize: 4017,
  EncodeFailed: 9000,
  OutputWriteFailed: 9001,
};

/** An engine failure as the job error Elastic Transcoder reports. */
export function fromEngine(e: EngineError): JobFailure {
  return new JobFailure(ENGINE_CODES[e.kind], e.detail);
}
