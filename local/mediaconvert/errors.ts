/**
 * MediaConvert's two kinds of failure: API errors (HTTP status + `x-amzn-ErrorType`, body `{"message"}`), and job
 * errors (a job that ends `ERROR` with an integer `errorCode` and an `errorMessage`), with the codes the service
 * documents (docs/speke.md, "The local MediaConvert").
 */
import type { EngineError } from '../engine/index.js';

export type McErrorType =
  | 'BadRequestException'
  | 'NotFoundException'
  | 'ConflictException'
  | 'ForbiddenException'
  | 'TooManyRequestsException'
  | 'InternalServerErrorException';

const STATUS: Record<McErrorType, number> = {
  BadRequestException: 400,
  ForbiddenException: 403,
  NotFoundException: 404,
  ConflictException: 409,
  TooManyRequestsException: 429,
  InternalServerErrorException: 500,
};

export class McError extends Error {
  override readonly name = 'McError';
  readonly status: number;
  constructor(
    readonly type: McErrorType,
    message: string,
  ) {
    super(message);
    this.status = STATUS[type];
  }
}

export const badRequest = (message: string) => new McError('BadRequestException', message);

/** The job error codes the local service produces. */
export const JOB_ERRORS = {
  /** Unknown error (MediaConvert's own fault; the workflow resubmits). */
  unknown: 1999,
  /** The job role cannot call the SPEKE API (signature refused). */
  spekeForbidden: 1091,
  /** Access denied (KMS refused the input key). */
  permission: 1401,
  /** Input file not found. */
  inputNotFound: 1404,
  /** An audio description references an audio selector but the input has no audio. */
  noAudio: 1021,
  /** File access error: the input cannot be opened (wrong key, IV or mode, or not a media file). */
  badInput: 1010,
  /** The SPEKE server answered with an error or a document without a usable key (the 1091–1093 SPEKE range). */
  spekeFailed: 1092,
} as const;

export class JobError extends Error {
  override readonly name = 'JobError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const s3Url = (object: { bucket: string; key: string } | undefined) =>
  object ? `s3://${object.bucket}/${object.key}` : 'the input';

/** An engine failure in MediaConvert's codes and words: a job's errorMessage talks about MediaConvert only. */
export function fromEngine(e: EngineError): JobError {
  const said = (text: string) => (e.detail ? `${text} ${e.detail}` : text);
  switch (e.kind) {
    case 'InputNotFound':
      return new JobError(JOB_ERRORS.inputNotFound, said('Unable to open input file: not found.'));
    case 'InputAccessDenied':
      return new JobError(JOB_ERRORS.permission, said('Access denied: the input file could not be read.'));
    case 'NotMedia':
      return new JobError(JOB_ERRORS.badInput, `Unable to open input file [${s3Url(e.object)}]`);
    case 'InvalidKeySize':
    case 'DecryptionFailed':
    case 'NothingToEncode':
      return new JobError(
        JOB_ERRORS.badInput,
        said('Unable to open input file: not media that can be read with the given decryption settings.'),
      );
    case 'OutputWriteFailed':
      return new JobError(JOB_ERRORS.permission, `Unable to write to output [${s3Url(e.object)}]`);
    case 'EncodeFailed':
      return new JobError(JOB_ERRORS.unknown, said('An internal error occurred.'));
  }
}
