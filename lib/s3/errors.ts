/**
 * S3 SDK exceptions → the ASL error contract. Shared by every S3 call site (HeadObject, ranged GETs, multipart,
 * cleanup) so that "what is transient" is decided in one place.
 */
import {
  EncryptionFailedError,
  isTransientSdkError,
  S3TransientError,
  SourceChangedError,
  SourceNotFoundError,
  sdkErrorInfo,
} from '../errors.js';

const TRANSIENT = new Set([
  'SlowDown',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'OperationAborted',
]);

export function translateS3Error(e: unknown, what: string, object?: { bucket: string; key: string }): Error {
  const { name, status, message } = sdkErrorInfo(e);
  const where = object ? ` s3://${object.bucket}/${object.key}` : '';
  const text = `S3 ${what}${where} failed: ${name}${message && message !== name ? ` — ${message}` : ''}`;
  if (isTransientSdkError(e, TRANSIENT)) {
    return new S3TransientError(text, { code: 'S3_TRANSIENT', cause: e });
  }
  if (name === 'PreconditionFailed' || status === 412) {
    return new SourceChangedError(`${text} (the object was replaced while the workflow was reading it)`, {
      code: 'SOURCE_CHANGED',
      cause: e,
    });
  }
  if (
    name === 'NoSuchKey' ||
    name === 'NotFound' ||
    name === 'NoSuchBucket' ||
    name === 'NoSuchVersion' ||
    status === 404
  ) {
    return new SourceNotFoundError(text, { code: 'SOURCE_NOT_FOUND', cause: e });
  }
  if (name === 'AccessDenied' || status === 403) {
    return new SourceNotFoundError(`${text} (not readable with this function's permissions)`, {
      code: 'SOURCE_NOT_READABLE',
      cause: e,
    });
  }
  return new EncryptionFailedError(text, { code: 'S3_ERROR', cause: e });
}
