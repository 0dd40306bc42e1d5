/**
 * The local Step Functions engine: one state machine (the project's ASL file) run by aws-local-stepfunctions, with
 * Task states calling the handler modules that serverless.yml names, Step Functions' execution-name rules, and
 * executions/history persisted under `<dataDir>/executions/`.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ExecutionAbortedError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { FaultInjector } from '../faults.js';
import { createLambdaInvoker, loadFunctionCatalog } from '../lambda/index.js';
import { type FastOptions, fastOverrides, type TimingOverrides } from './fast-overrides.js';
import { type EventLog, HistoryRecorder } from './history.js';
import { type MachineDates, machineDates } from './machine-dates.js';
import { type ExecutionRecord, ExecutionStore, type HistoryEvent } from './store.js';
import { type AslMachine, resolveTaskFunctions } from './task-functions.js';
import { MAX_PAYLOAD_BYTES, type TaskHandlerContext, taskHandlers } from './task-handlers.js';
import { endedBy, succeeded, type TerminalEvent } from './terminal-event.js';

export type { FastOptions } from './fast-overrides.js';

export interface LocalStepFunctionsOptions {
  dataDir: string;
  definitionPath: string;
  serverlessPath: string;
  stateMachineName?: string;
  region?: string;
  accountId?: string;
  /** Shorten waits and retry intervals (`--fast`). Real durations by default. */
  fast?: boolean | FastOptions;
  roleArn?: string;
  /** Handed to the Lambda invoker: `lambda:<function key>:crash` kills invocations part-way. */
  faults?: FaultInjector;
  /**
   * Executions a previous process left RUNNING (killed, or stopped with `close()`) stay RUNNING until
   * `resumeInterrupted()` continues them from the state they were in. Without it they are closed as ABORTED.
   */
  resumeInterrupted?: boolean;
}

/** An error the JSON protocol turns into a 400 with `__type`. */
export class SfnApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

const NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;
const TERMINAL_LIBRARY_EVENTS = new Set([
  'ExecutionSucceeded',
  'ExecutionFailed',
  'ExecutionAborted',
  'ExecutionTimeout',
]);

interface LiveExecution {
  record: ExecutionRecord;
  abort?: () => void;
  abortReason?: { error: string; cause: string };
  /** Stopped by `close()` to be resumed by the next process: left RUNNING on disk. */
  suspended?: boolean;
  settled: Promise<ExecutionRecord>;
}

export type ExecutionListener = (record: ExecutionRecord, event: HistoryEvent) => void;

function canonicalJson(text: string): string {
  return JSON.stringify(JSON.parse(text));
}

export class LocalStepFunctions {
  readonly stateMachineArn: string;
  readonly stateMachineName: string;
  readonly region: string;
  private readonly accountId: string;
  private readonly roleArn: string;
  private readonly definition: AslMachine;
  private readonly definitionText: string;
  private readonly dates: MachineDates;
  private readonly machine: StateMachine;
  private readonly taskContext: TaskHandlerContext;
  private readonly store: ExecutionStore;
  private readonly executions = new Map<string, LiveExecution>();
  private readonly listeners = new Set<ExecutionListener>();
  private readonly timing: TimingOverrides;
  private readonly resumable: boolean;
  private readonly interrupted: ExecutionRecord[] = [];

  constructor(options: LocalStepFunctionsOptions) {
    this.region = options.region ?? 'us-east-1';
    this.accountId = options.accountId ?? '000000000000';
    this.stateMachineName = options.stateMachineName ?? 'secure-transcode';
    this.stateMachineArn = `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${this.stateMachineName}`;
    this.roleArn = options.roleArn ?? `arn:aws:iam::${this.accountId}:role/${this.stateMachineName}-local`;
    this.definitionText = readFileSync(options.definitionPath, 'utf8');
    this.definition = JSON.parse(this.definitionText) as AslMachine;
    // Resources are CloudFormation references (`Fn::GetAtt`), not ARNs, until deployment; every Task is overridden.
    this.machine = new StateMachine(this.definition as unknown as StateMachineDefinition, {
      validationOptions: { checkArn: false },
    });
    this.taskContext = {
      tasks: resolveTaskFunctions(this.definition, loadFunctionCatalog(options.serverlessPath)),
      invoker: createLambdaInvoker({
        region: this.region,
        accountId: this.accountId,
        ...(options.faults ? { faults: options.faults } : {}),
      }),
      functionArnPrefix: `arn:aws:lambda:${this.region}:${this.accountId}:function:`,
    };
    this.store = new ExecutionStore(options.dataDir, this.stateMachineName);
    this.dates = machineDates(options.dataDir, this.stateMachineName, this.definitionText);
    this.timing = fastOverrides(this.definition, options.fast);
    this.resumable = options.resumeInterrupted ?? false;
    this.recover();
  }

  /** What DescribeStateMachine reports: the ASL as loaded, the role, and when this data directory first had it. */
  describeStateMachine(): { definition: string; roleArn: string; creationDate: number; updateDate: number } {
    return {
      definition: this.definitionText,
      roleArn: this.roleArn,
      creationDate: this.dates.createdAt,
      updateDate: this.dates.updatedAt,
    };
  }

  /**
   * Executions that were running when the previous process stopped: kept for `resumeInterrupted()`, or closed as
   * ABORTED when this engine does not resume.
   */
  private recover(): void {
    for (const record of this.store.loadAll()) {
      if (record.status === 'RUNNING' && this.resumable) {
        this.interrupted.push(record);
      } else if (record.status === 'RUNNING') {
        const last = this.store.history(record.name).at(-1);
        record.eventCount = last?.id ?? record.eventCount;
        record.status = 'ABORTED';
        record.stopDate = Date.now();
        record.error = 'LocalStackStopped';
        record.cause = 'The local stack stopped while this execution was running.';
        this.appendEvent(record, 'ExecutionAborted', {
          executionAbortedEventDetails: { error: record.error, cause: record.cause },
        });
        this.store.save(record);
      }
      this.executions.set(record.executionArn, { record, settled: Promise.resolve(record) });
    }
  }

  executionArn(name: string): string {
    return `arn:aws:states:${this.region}:${this.accountId}:execution:${this.stateMachineName}:${name}`;
  }

  onEvent(listener: ExecutionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private appendEvent(
    record: ExecutionRecord,
    type: string,
    details: Record<string, unknown>,
    timestamp = Date.now(),
  ) {
    record.eventCount += 1;
    const event: HistoryEvent = {
      timestamp,
      type,
      id: record.eventCount,
      previousEventId: record.eventCount - 1,
      ...details,
    };
    this.store.append(record.name, event);
    for (const listener of this.listeners) {
      // An observer (progress display, test) must never be able to break an execution.
      try {
        listener(record, event);
      } catch {}
    }
  }

  private requireMachine(stateMachineArn: string | undefined): void {
    if (stateMachineArn !== this.stateMachineArn) {
      throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    }
  }

  startExecution(params: { stateMachineArn?: string; name?: string; input?: string }): {
    executionArn: string;
    startDate: number;
  } {
    this.requireMachine(params.stateMachineArn);
    const name = params.name ?? randomUUID();
    if (!NAME_PATTERN.test(name)) throw new SfnApiError('InvalidName', `Invalid Name: '${name}'`);
    const input = params.input ?? '{}';
    let inputValue: unknown;
    try {
      inputValue = JSON.parse(input);
    } catch {
      throw new SfnApiError(
        'InvalidExecutionInput',
        'Invalid State Machine Execution Input: input is not valid JSON',
      );
    }
    if (Buffer.byteLength(input) > MAX_PAYLOAD_BYTES) {
      throw new SfnApiError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: larger than ${MAX_PAYLOAD_BYTES} bytes`,
      );
    }
    const executionArn = this.executionArn(name);
    const existing = this.executions.get(executionArn)?.record;
    if (existing) {
      // AWS: the same name and input while running is an idempotent retry; otherwise the name is taken.
      if (existing.status === 'RUNNING' && canonicalJson(existing.input) === canonicalJson(input)) {
        return { executionArn, startDate: existing.startDate };
      }
      throw new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const record: ExecutionRecord = {
      executionArn,
      stateMachineArn: this.stateMachineArn,
      name,
      status: 'RUNNING',
      startDate: Date.now(),
      input,
      eventCount: 0,
    };
    const live: LiveExecution = { record, settled: Promise.resolve(record) };
    this.executions.set(executionArn, live);
    this.store.save(record);
    this.appendEvent(record, 'ExecutionStarted', {
      executionStartedEventDetails: { input, inputDetails: { truncated: false }, roleArn: this.roleArn },
    });
    live.settled = this.run(live, inputValue);
    return { executionArn, startDate: record.startDate };
  }

  /**
   * Continues every execution the previous process left RUNNING, from the last state it entered and with that
   * state's input (from the history on disk). The workflow's tasks are idempotent by design — the encrypt step
   * resumes from its checkpoint, SubmitJob finds the job it already created — so re-entering the interrupted state
   * is safe, and whatever happens next ends in the workflow's own success or failure notification. Call it once
   * the handlers' environment is in place.
   */
  resumeInterrupted(): ExecutionRecord[] {
    const resumed = this.interrupted.splice(0);
    for (const record of resumed) {
      const live = this.executions.get(record.executionArn);
      if (!live) continue;
      const entered = this.store
        .history(record.name)
        .findLast((e) => e.type.endsWith('StateEntered') && e.stateEnteredEventDetails !== undefined);
      const details = entered?.stateEnteredEventDetails as { name?: string; input?: string } | undefined;
      const startAt = details?.name && this.definition.States[details.name] ? details.name : undefined;
      const input = JSON.parse(startAt ? (details?.input ?? 'null') : record.input) as unknown;
      try {
        live.settled = this.run(live, input, startAt ? this.machineFrom(startAt) : this.machine);
      } catch (e) {
        // Cannot happen with the definition that started it; if the ASL changed in between, say so and close it.
        record.status = 'FAILED';
        record.stopDate = Date.now();
        record.error = 'LocalStackStopped';
        record.cause = `The stack stopped during this execution and it could not be resumed: ${(e as Error).message}`;
        this.appendEvent(record, 'ExecutionFailed', {
          executionFailedEventDetails: { error: record.error, cause: record.cause },
        });
        this.store.save(record);
      }
    }
    return resumed;
  }

  private readonly machines = new Map<string, StateMachine>();

  /** The same state machine entered at another state (how an interrupted execution continues). */
  private machineFrom(state: string): StateMachine {
    let machine = this.machines.get(state);
    if (!machine) {
      // The definition was validated by the main machine; entered elsewhere, the states before the entry point are
      // unreachable, which the validator would reject.
      machine = new StateMachine(
        { ...this.definition, StartAt: state } as unknown as StateMachineDefinition,
        {
          validationOptions: { noValidate: true },
        },
      );
      this.machines.set(state, machine);
    }
    return machine;
  }

  private async run(live: LiveExecution, input: unknown, machine = this.machine): Promise<ExecutionRecord> {
    const { record } = live;
    const recorder = new HistoryRecorder((type, details, timestamp) =>
      this.appendEvent(record, type, details, timestamp),
    );
    const execution = machine.run(input as never, {
      overrides: {
        taskResourceLocalHandlers: taskHandlers(this.taskContext, recorder) as never,
        ...this.timing,
      },
      // aws-local-stepfunctions only knows `$$.Execution.Id/Name` if they are handed to it.
      context: {
        Execution: { Id: record.executionArn, Name: record.name, RoleArn: this.roleArn },
        StateMachine: { Id: this.stateMachineArn, Name: this.stateMachineName },
      },
    });
    live.abort = execution.abort;
    const consumed = (async () => {
      for await (const event of execution.eventLogs as AsyncGenerator<EventLog>) {
        if (TERMINAL_LIBRARY_EVENTS.has(event.type)) return;
        if (event.type === 'StateEntered' && event.index === undefined) {
          record.currentState = event.state.name;
          record.currentStateType = event.state.type;
          record.currentStateEnteredAt = event.timestamp;
          this.store.save(record);
        }
        recorder.onEvent(event);
      }
    })();

    let terminal: TerminalEvent;
    try {
      terminal = succeeded(record, await execution.result);
    } catch (e) {
      if (e instanceof ExecutionAbortedError && live.suspended) {
        // Left RUNNING on disk: the next start resumes it from the state it was in.
        await consumed;
        return record;
      }
      terminal = endedBy(e, record, live.abortReason);
    }
    // Every library event precedes the settlement of `result`, so this only drains what is already queued.
    await consumed;
    record.status = terminal.status;
    record.stopDate = Date.now();
    this.appendEvent(record, terminal.type, terminal.details, record.stopDate);
    this.store.save(record);
    return record;
  }

  private get(executionArn: string | undefined): LiveExecution {
    const live = executionArn === undefined ? undefined : this.executions.get(executionArn);
    if (!live) throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return live;
  }

  describeExecution(executionArn: string | undefined): ExecutionRecord {
    return this.get(executionArn).record;
  }

  listExecutions(params: { stateMachineArn?: string; statusFilter?: string }): ExecutionRecord[] {
    this.requireMachine(params.stateMachineArn);
    return [...this.executions.values()]
      .map((l) => l.record)
      .filter((r) => !params.statusFilter || r.status === params.statusFilter)
      .sort((a, b) => b.startDate - a.startDate || b.name.localeCompare(a.name));
  }

  getExecutionHistory(executionArn: string | undefined): HistoryEvent[] {
    return this.store.history(this.get(executionArn).record.name);
  }

  stopExecution(
    executionArn: string | undefined,
    reason: { error?: string; cause?: string } = {},
  ): { stopDate: number } {
    const live = this.get(executionArn);
    if (live.record.status === 'RUNNING' && live.abort) {
      live.abortReason = { error: reason.error ?? '', cause: reason.cause ?? '' };
      live.abort();
    }
    return { stopDate: live.record.stopDate ?? Date.now() };
  }

  /** Resolves with the execution once it is no longer RUNNING. */
  async waitForExecution(executionArn: string, timeoutMs = 10 * 60_000): Promise<ExecutionRecord> {
    const live = this.get(executionArn);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `Execution ${live.record.name} still ${live.record.status} in ${live.record.currentState ?? '?'} after ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([live.settled, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stops running executions and waits briefly for their records to be written: they stay RUNNING on disk for the
   * next start to resume when this engine resumes, and are recorded as ABORTED otherwise.
   */
  async close(cause = 'The local stack stopped.'): Promise<void> {
    const running = [...this.executions.values()].filter((l) => l.record.status === 'RUNNING');
    for (const live of running) {
      live.suspended = this.resumable;
      this.stopExecution(live.record.executionArn, { error: 'LocalStackStopped', cause });
    }
    await Promise.race([
      Promise.allSettled(running.map((l) => l.settled)),
      new Promise((r) => setTimeout(r, 5000).unref()),
    ]);
  }
}
