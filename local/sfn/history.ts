/**
 * Turns aws-local-stepfunctions' event log into Step Functions history events (`TaskStateEntered`,
 * `LambdaFunctionScheduled/Started/Succeeded/Failed/TimedOut`, `TaskStateExited`, `ExecutionSucceeded` …).
 *
 * The library reports states, not invocations, so the Task wrapper registers each invocation here and the recorder
 * pairs them up: the wrapper runs synchronously right after the library dispatches StateEntered/StateRetried, so
 * when the (asynchronous) event consumer sees that event the matching invocation is already queued.
 *
 * Local extension types make retries and catches explicit, which AWS only implies by repeated Scheduled events:
 * `StateRetried`, `StateCaught`, and `StateFailed` (a failure that did not come from a Lambda invocation). Their details
 * travel in `evaluationFailedEventDetails` ({state, error, cause, location}) because the SDK drops members it does
 * not know; `location` says which retrier/catcher applied.
 */
import type { StateMachine } from 'aws-local-stepfunctions';

/** The library's event union is not exported by name; recover it from `run()`'s signature. */
export type EventLog =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export interface InvocationRecord {
  stateName: string;
  resource: string;
  timeoutSeconds: number;
  input: unknown;
  startedAt: number;
  endedAt?: number;
  outcome?: { ok: true; output: unknown } | { ok: false; error: string; cause: string };
}

export type Emit = (type: string, details: Record<string, unknown>, timestamp: number) => void;

export function asString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.message;
  return value === undefined ? '' : JSON.stringify(value);
}

const data = (value: unknown) => (value === undefined ? 'null' : JSON.stringify(value));

export class HistoryRecorder {
  private readonly pending = new Map<string, InvocationRecord[]>();
  private readonly active = new Map<string, InvocationRecord>();
  private readonly lastFailure = new Map<string, { error: string; cause: string }>();

  constructor(private readonly emit: Emit) {}

  /** Called by the Task wrapper as the invocation starts; the record is completed in place when it settles. */
  track(record: InvocationRecord): void {
    const queue = this.pending.get(record.stateName) ?? [];
    queue.push(record);
    this.pending.set(record.stateName, queue);
  }

  private announce(stateName: string): void {
    const record = this.pending.get(stateName)?.shift();
    if (!record) return;
    this.active.set(stateName, record);
    this.emit(
      'LambdaFunctionScheduled',
      {
        lambdaFunctionScheduledEventDetails: {
          resource: record.resource,
          input: data(record.input),
          inputDetails: { truncated: false },
          timeoutInSeconds: record.timeoutSeconds,
        },
      },
      record.startedAt,
    );
    this.emit('LambdaFunctionStarted', {}, record.startedAt);
  }

  /** Emits the end of the active invocation; returns false when the state failed outside any invocation. */
  private settle(stateName: string, failure?: { error: string; cause: string }, at = Date.now()): boolean {
    const record = this.active.get(stateName);
    if (!record) return false;
    this.active.delete(stateName);
    const outcome = record.outcome;
    if (outcome?.ok) {
      this.emit(
        'LambdaFunctionSucceeded',
        {
          lambdaFunctionSucceededEventDetails: {
            output: data(outcome.output),
            outputDetails: { truncated: false },
          },
        },
        record.endedAt ?? at,
      );
      // The function succeeded but the state failed afterwards (ResultPath/OutputPath, payload size).
      return failure === undefined;
    }
    if (!outcome && failure?.error === 'States.Timeout') {
      this.emit('LambdaFunctionTimedOut', { lambdaFunctionTimedOutEventDetails: failure }, at);
      return true;
    }
    const f = outcome && !outcome.ok ? { error: outcome.error, cause: outcome.cause } : failure;
    this.emit(
      'LambdaFunctionFailed',
      { lambdaFunctionFailedEventDetails: f ?? { error: 'States.TaskFailed', cause: '' } },
      record.endedAt ?? at,
    );
    return true;
  }

  private failureOf(stateName: string) {
    return this.lastFailure.get(stateName) ?? { error: '', cause: '' };
  }

  /** Maps one state-level library event to history events. */
  onEvent(event: EventLog): void {
    const at = event.timestamp;
    switch (event.type) {
      case 'StateEntered': {
        const { name, type, input } = event.state;
        this.emit(
          `${type}StateEntered`,
          { stateEnteredEventDetails: { name, input: data(input), inputDetails: { truncated: false } } },
          at,
        );
        if (type === 'Task') this.announce(name);
        return;
      }
      case 'StateExited': {
        const { name, type, output } = event.state;
        if (type === 'Task') this.settle(name, undefined, at);
        this.emit(
          `${type}StateExited`,
          { stateExitedEventDetails: { name, output: data(output), outputDetails: { truncated: false } } },
          at,
        );
        return;
      }
      case 'StateFailed': {
        const { name, type } = event.state;
        const failure = { error: asString(event.Error), cause: asString(event.Cause) };
        this.lastFailure.set(name, failure);
        // A Fail state's error is the execution's error: ExecutionFailed carries it, as in AWS.
        if (type === 'Fail') return;
        if (type === 'Task' && this.settle(name, failure, at)) return;
        this.emit(
          'StateFailed',
          { evaluationFailedEventDetails: { state: name, location: 'State', ...failure } },
          at,
        );
        return;
      }
      case 'StateRetried': {
        const { name, type } = event.state;
        const { retrier, attempt } = event.retry;
        const location = `Retry: attempt ${attempt} of ${retrier.MaxAttempts ?? 3} (ErrorEquals ${retrier.ErrorEquals.join(', ')})`;
        this.emit(
          'StateRetried',
          { evaluationFailedEventDetails: { state: name, location, ...this.failureOf(name) } },
          at,
        );
        if (type === 'Task') this.announce(name);
        return;
      }
      case 'StateCaught': {
        const { name } = event.state;
        const { catcher } = event.catch;
        const location = `Catch: ${catcher.ErrorEquals.join(', ')} → ${catcher.Next} (ResultPath ${catcher.ResultPath ?? '$'})`;
        this.emit(
          'StateCaught',
          { evaluationFailedEventDetails: { state: name, location, ...this.failureOf(name) } },
          at,
        );
        return;
      }
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const key = `${event.type[0]?.toLowerCase()}${event.type.slice(1)}EventDetails`;
        this.emit(event.type, { [key]: { name: event.parentState.name, index: event.index } }, at);
        return;
      }
      default:
        // Execution-level events are written by the engine, which knows the final status and abort causes.
        return;
    }
  }
}
