/**
 * The values `error.code` and `error.step` take in a notification, enumerated in the JSON Schema so a subscriber can
 * switch on them. A code outside the list (a programming error surfacing as `TypeError`, say) is reported as
 * `UnexpectedError` with the original name kept in the message, so the enumeration stays true.
 */
import * as errors from '../errors.js';

/** Every error class the handlers throw (lib/errors.ts), by its ASL name. */
export const WORKFLOW_ERROR_CODES: readonly string[] = (Object.values(errors) as unknown[])
  .filter(
    (v): v is { name: string; prototype: unknown } =>
      typeof v === 'function' && (v as { prototype?: unknown }).prototype instanceof Error,
  )
  // The classes set `name` to their own class name (test/unit/asl-contract.test.ts holds them to it).
  .map((c) => c.name)
  .sort();

/** Errors Step Functions and Lambda raise themselves (Step Functions developer guide, "Error names"). */
export const PLATFORM_ERROR_CODES: readonly string[] = [
  'States.Timeout',
  'States.HeartbeatTimeout',
  'States.TaskFailed',
  'States.Permissions',
  'States.Runtime',
  'States.ResultPathMatchFailure',
  'States.ParameterPathFailure',
  'States.IntrinsicFailure',
  'States.DataLimitExceeded',
  'Lambda.Unknown',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

export const UNEXPECTED_ERROR_CODE = 'UnexpectedError';

export const ERROR_CODES: readonly string[] = [
  ...WORKFLOW_ERROR_CODES,
  ...PLATFORM_ERROR_CODES,
  UNEXPECTED_ERROR_CODE,
];

/** The Task states whose Catch names a failed step (`$.failedStep`), plus `Unknown` for a hand-made input. */
export const ERROR_STEPS: readonly string[] = [
  'ValidateSource',
  'GenerateKeys',
  'EncryptSource',
  'CompleteUpload',
  'WrapKey',
  'SubmitJob',
  'PollJob',
  'DisposeSource',
  'Unknown',
];

export function knownErrorCode(code: string, message: string): { code: string; message: string } {
  if (ERROR_CODES.includes(code)) return { code, message };
  return { code: UNEXPECTED_ERROR_CODE, message: `${code}: ${message}`.slice(0, 1000) };
}

export function knownStep(step: string | undefined): string {
  return step && ERROR_STEPS.includes(step) ? step : 'Unknown';
}
