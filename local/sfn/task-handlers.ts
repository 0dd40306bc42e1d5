/**
 * The Task states' local handlers: each invokes the Lambda handler serverless.yml names, records the invocation
 * for the history, and turns its failure into the error name and cause Step Functions would report.
 */
import {
  type FunctionSpec,
  LambdaCrashError,
  LambdaFunctionError,
  type LambdaInvoker,
  LambdaTimeoutError,
} from '../lambda/index.js';
import type { HistoryRecorder, InvocationRecord } from './history.js';

// The Step Functions payload quota: 256 KiB of UTF-8 JSON per state input/output.
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** A Task failure as Step Functions sees it: `name` is the ASL error name, `message` the Cause. */
class TaskFailure extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/** Terminal in AWS: neither Retry nor `States.ALL` Catch applies (aws-local-stepfunctions honours these flags). */
class DataLimitExceeded extends TaskFailure {
  readonly isRetryable = false;
  readonly isCatchable = false;
}

function toTaskFailure(e: unknown): TaskFailure {
  if (e instanceof LambdaFunctionError) return new TaskFailure(e.errorType, JSON.stringify(e.payload));
  if (e instanceof LambdaTimeoutError) {
    // What Step Functions reports when a Lambda function times out (no error type in the function's response).
    return new TaskFailure(
      'Lambda.Unknown',
      `The cause could not be determined because Lambda did not return an error type. Returned payload: ${JSON.stringify({ errorMessage: e.message })}`,
    );
  }
  if (e instanceof LambdaCrashError) {
    // A killed runtime answers with Runtime.ExitError, which Step Functions reports as Lambda.Unknown too.
    return new TaskFailure(
      'Lambda.Unknown',
      `The cause could not be determined because Lambda did not return an error type. Returned payload: ${JSON.stringify({ errorMessage: e.message, errorType: e.errorType })}`,
    );
  }
  const err = e as Error;
  return new TaskFailure(err?.name ?? 'Error', err?.message ?? String(e));
}

export interface TaskHandlerContext {
  tasks: Map<string, FunctionSpec>;
  invoker: LambdaInvoker;
  /** The function ARN prefix, `arn:aws:lambda:<region>:<account>:function:`. */
  functionArnPrefix: string;
}

/** One handler per Task state, for aws-local-stepfunctions' `taskResourceLocalHandlers`. */
export function taskHandlers(context: TaskHandlerContext, recorder: HistoryRecorder) {
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  for (const [stateName, spec] of context.tasks) {
    handlers[stateName] = async (input: unknown) => {
      const record: InvocationRecord = {
        stateName,
        resource: `${context.functionArnPrefix}secure-transcode-local-${spec.key}`,
        timeoutSeconds: spec.timeoutSeconds,
        input,
        startedAt: Date.now(),
      };
      recorder.track(record);
      let output: unknown;
      try {
        output = await context.invoker.invoke(spec, input).result;
      } catch (e) {
        const failure = toTaskFailure(e);
        record.outcome = { ok: false, error: failure.name, cause: failure.message };
        record.endedAt = Date.now();
        throw failure;
      }
      record.outcome = { ok: true, output };
      record.endedAt = Date.now();
      if (Buffer.byteLength(JSON.stringify(output)) > MAX_PAYLOAD_BYTES) {
        throw new DataLimitExceeded(
          'States.DataLimitExceeded',
          `The state/task '${stateName}' returned a result with a size exceeding the maximum number of bytes service limit.`,
        );
      }
      return output;
    };
  }
  return handlers;
}
