import { ExecutionAbortedError, ExecutionError, ExecutionTimeoutError } from 'aws-local-stepfunctions';
import { asString } from './history.js';
import type { ExecutionRecord, ExecutionStatus } from './store.js';

export interface TerminalEvent {
  status: ExecutionStatus;
  type: string;
  details: Record<string, unknown>;
}

/** The closing history event of a successful run; records its output. */
export function succeeded(record: ExecutionRecord, output: unknown): TerminalEvent {
  record.output = JSON.stringify(output);
  return {
    status: 'SUCCEEDED',
    type: 'ExecutionSucceeded',
    details: {
      executionSucceededEventDetails: { output: record.output, outputDetails: { truncated: false } },
    },
  };
}

/** The closing history event for how a run ended (stopped, timed out or failed); records its error and cause. */
export function endedBy(
  e: unknown,
  record: ExecutionRecord,
  abortReason: { error: string; cause: string } | undefined,
): TerminalEvent {
  if (e instanceof ExecutionAbortedError) {
    Object.assign(record, abortReason ?? {});
    return {
      status: 'ABORTED',
      type: 'ExecutionAborted',
      details: { executionAbortedEventDetails: { ...(abortReason ?? {}) } },
    };
  }
  if (e instanceof ExecutionTimeoutError) {
    record.error = 'States.Timeout';
    return {
      status: 'TIMED_OUT',
      type: 'ExecutionTimedOut',
      details: { executionTimedOutEventDetails: { error: 'States.Timeout' } },
    };
  }
  const inner = e instanceof ExecutionError ? (e.cause as Error) : (e as Error);
  record.error = inner?.name ?? 'States.Runtime';
  record.cause = asString(inner?.message ?? e);
  return {
    status: 'FAILED',
    type: 'ExecutionFailed',
    details: { executionFailedEventDetails: { error: record.error, cause: record.cause } },
  };
}
