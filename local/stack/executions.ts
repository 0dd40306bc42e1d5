/**
 * Execution tracking: which executions each object key started (rebuilt from the engine's records at start, kept up
 * to date from its events), and waits on them.
 */
import type { ExecutionRecord, HistoryEvent, LocalStepFunctions } from '../sfn/index.js';
import { waitFor } from './wait.js';

export type ExecutionListener = (record: ExecutionRecord, event: HistoryEvent) => void;

export interface ExecutionTracker {
  onExecutionEvent(listener: ExecutionListener): () => void;
  executionsFor(key: string): ExecutionRecord[];
  waitForExecutionStart(key: string, timeoutMs?: number, since?: number): Promise<string>;
  waitForExecution(key: string, timeoutMs?: number, since?: number): Promise<ExecutionRecord>;
  stop(): void;
}

export function trackExecutions(engine: LocalStepFunctions): ExecutionTracker {
  const keysToExecutions = new Map<string, string[]>();
  const listeners = new Set<ExecutionListener>();
  const track = (record: ExecutionRecord) => {
    const key = (JSON.parse(record.input) as { source?: { key?: string } }).source?.key;
    if (!key) return;
    const arns = keysToExecutions.get(key) ?? [];
    if (!arns.includes(record.executionArn)) arns.push(record.executionArn);
    keysToExecutions.set(key, arns);
  };
  for (const record of engine.listExecutions({ stateMachineArn: engine.stateMachineArn }).reverse())
    track(record);
  const unsubscribe = engine.onEvent((record, event) => {
    if (event.type === 'ExecutionStarted') track(record);
    for (const l of listeners) l(record, event);
  });
  const subscribe = (listener: ExecutionListener) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  const waitForExecutionStart = (key: string, timeoutMs = 60_000, since = 0) =>
    waitFor(
      () =>
        (keysToExecutions.get(key) ?? []).findLast((arn) => engine.describeExecution(arn).startDate >= since),
      (check) => {
        listeners.add(check);
        return () => listeners.delete(check);
      },
      timeoutMs,
      `an execution for ${key}`,
    );
  return {
    onExecutionEvent: subscribe,
    executionsFor: (key) => (keysToExecutions.get(key) ?? []).map((arn) => engine.describeExecution(arn)),
    waitForExecutionStart,
    async waitForExecution(key, timeoutMs = 10 * 60_000, since = 0) {
      const started = Date.now();
      const arn = await waitForExecutionStart(key, timeoutMs, since);
      return engine.waitForExecution(arn, Math.max(1, timeoutMs - (Date.now() - started)));
    },
    stop: unsubscribe,
  };
}
