/**
 * Executions on disk, so `status`, DescribeExecution and GetExecutionHistory survive a restart of the stack.
 * One summary file per execution (rewritten atomically on every transition, small) and an append-only history
 * (JSON lines). Writes are synchronous on purpose: they are tiny, keep event order without a write queue, and are on
 * disk before the next state runs, so a crash loses nothing that was already reported.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  /** Epoch milliseconds. */
  startDate: number;
  stopDate?: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  /** The state the execution is in (or ended in) and when it entered it: for `status` and progress displays. */
  currentState?: string;
  currentStateType?: string;
  currentStateEnteredAt?: number;
  eventCount: number;
}

/** One history event in the Step Functions wire shape, with `timestamp` in epoch milliseconds. */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

function safeName(name: string): string {
  // Execution names are already restricted to [A-Za-z0-9_-]; state machine names too. Belt and braces.
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** A line cut short by a crash mid-append is dropped instead of making the whole history unreadable. */
function parseLine(line: string): HistoryEvent[] {
  try {
    return [JSON.parse(line) as HistoryEvent];
  } catch {
    return [];
  }
}

export class ExecutionStore {
  private readonly dir: string;

  constructor(dataDir: string, stateMachineName: string) {
    this.dir = join(dataDir, 'executions', safeName(stateMachineName));
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private summaryPath(name: string) {
    return join(this.dir, `${safeName(name)}.json`);
  }

  private historyPath(name: string) {
    return join(this.dir, `${safeName(name)}.history.jsonl`);
  }

  save(record: ExecutionRecord): void {
    const path = this.summaryPath(record.name);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, path);
  }

  append(name: string, event: HistoryEvent): void {
    appendFileSync(this.historyPath(name), `${JSON.stringify(event)}\n`, { mode: 0o600 });
  }

  loadAll(): ExecutionRecord[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as ExecutionRecord);
  }

  history(name: string): HistoryEvent[] {
    const path = this.historyPath(name);
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .flatMap((line) => parseLine(line));
  }
}
