import { NoSuchKey } from '@aws-sdk/client-s3';
import { describe, expect, it } from '@jest/globals';
import { isTransientSdkError } from '../../lib/errors.js';

const NAMES = new Set(['ThrottlingException']);

describe('isTransientSdkError', () => {
  it('treats the service-named throttle, 429, 5xx and network failures as transient', () => {
    // Prepare
    const throttled = Object.assign(new Error('slow down'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    const tooMany = Object.assign(new Error('x'), { name: 'Whatever', $metadata: { httpStatusCode: 429 } });
    const internal = Object.assign(new Error('x'), {
      name: 'InternalFailure',
      $metadata: { httpStatusCode: 503 },
    });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const wrapped = new Error('request failed', { cause: reset });
    // Act
    const verdicts = [throttled, tooMany, internal, reset, wrapped].map((e) => isTransientSdkError(e, NAMES));
    // Assess
    expect(verdicts).toEqual([true, true, true, true, true]);
  });

  it('treats a 4xx that the service does not name as transient as permanent', () => {
    // Prepare
    const missing = new NoSuchKey({ message: 'gone', $metadata: { httpStatusCode: 404 } });
    const denied = Object.assign(new Error('no'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    // Act
    const verdicts = [missing, denied].map((e) => isTransientSdkError(e, NAMES));
    // Assess
    expect(verdicts).toEqual([false, false]);
  });
});
