/**
 * KMS wire errors. Every KMS client error is HTTP 400 with `{"__type": <name>, "message": …}`; only internal errors
 * are 5xx. The SDK and the CLI map `__type` to their exception classes, so the names must be AWS's exactly.
 */
export type KmsErrorType =
  | 'AlreadyExistsException'
  | 'DisabledException'
  | 'DryRunOperationException'
  | 'IncorrectKeyException'
  | 'InvalidCiphertextException'
  | 'KMSInternalException'
  | 'NotFoundException'
  | 'SerializationException'
  | 'ThrottlingException'
  | 'UnknownOperationException'
  | 'UnsupportedOperationException'
  | 'ValidationException';

export class KmsError extends Error {
  override readonly name = 'KmsError';
  constructor(
    readonly type: KmsErrorType,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export function validationError(field: string, constraint: string, value: unknown = null): KmsError {
  const shown = value === null ? 'null' : `'${String(value).slice(0, 64)}'`;
  return new KmsError(
    'ValidationException',
    `1 validation error detected: Value ${shown} at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}
