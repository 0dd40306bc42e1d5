import { setTimeout as sleep } from 'node:timers/promises';
import { S3TransientError } from '../errors.js';

/**
 * A short in-process retry on top of the SDK's own: the SDK cannot retry a response body that breaks mid-stream
 * (connection reset after the headers), and one lost part should not cost a whole Lambda invocation. What still
 * fails after this goes to the state machine's Retry as S3TransientError.
 */
export async function retryTransient<T>(fn: () => Promise<T>, attempts = 3, baseDelayMs = 50): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof S3TransientError) || attempt >= attempts) throw e;
      await sleep(Math.random() * baseDelayMs * 2 ** attempt);
    }
  }
}
