/**
 * MediaConvert's two kinds of failure: API errors (HTTP status + `x-amzn-ErrorType`, body `{"message"}`), and job
 * errors (a job that ends `ERROR` with an integer `errorCode` and an `errorMessage`), with the codes the service
 * documents (docs/speke.md, "The local MediaConvert").
 */

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
