/**
 * What an operator wants from an execution at a glance, read back from its history: the asset it worked on and, for
 * a failure, the error the workflow caught and the step that raised it. The execution's own error is the generic
 * `TranscodeWorkflowFailed` of the Fail state (see statemachines/transcode.asl.json); the real cause travels in
 * `$.error` and `$.failedStep` into NotifyFailure.
 */
import type { ExecutionRecord, HistoryEvent } from './store.js';

export interface ExecutionSummary {
  assetId: string | undefined;
  sourceKey: string | undefined;
  /** The caught error's name (e.g. `SourceEmptyError`), else the execution's own error. */
  errorCode: string | undefined;
  failedStep: string | undefined;
  backend: string | undefined;
}

interface WorkflowState {
  source?: { key?: unknown };
  asset?: { assetId?: unknown };
  job?: { backend?: unknown };
  error?: { Error?: unknown };
  failedStep?: unknown;
}

function parseObject(text: unknown): WorkflowState | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as WorkflowState) : undefined;
  } catch {
    return undefined;
  }
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** Every state's input and output, oldest first, as workflow-state objects. */
function statesOf(history: HistoryEvent[]): WorkflowState[] {
  const out: WorkflowState[] = [];
  for (const e of history) {
    const entered = e.stateEnteredEventDetails as { input?: unknown } | undefined;
    const exited = e.stateExitedEventDetails as { output?: unknown } | undefined;
    const state = parseObject(entered?.input) ?? parseObject(exited?.output);
    if (state) out.push(state);
  }
  return out;
}

export function summarizeExecution(record: ExecutionRecord, history: HistoryEvent[]): ExecutionSummary {
  const input = parseObject(record.input);
  const summary: ExecutionSummary = {
    assetId: undefined,
    sourceKey: str(input?.source?.key),
    errorCode: undefined,
    failedStep: undefined,
    backend: undefined,
  };
  for (const state of statesOf(history)) {
    summary.assetId ??= str(state.asset?.assetId);
    summary.backend = str(state.job?.backend) ?? summary.backend;
    const caught = str(state.error?.Error);
    if (caught) {
      summary.errorCode = caught;
      summary.failedStep = str(state.failedStep) ?? summary.failedStep;
    }
  }
  if (record.status !== 'SUCCEEDED' && record.status !== 'RUNNING') summary.errorCode ??= record.error;
  if (record.status === 'SUCCEEDED') {
    summary.errorCode = undefined;
    summary.failedStep = undefined;
  }
  return summary;
}
