/**
 * Live per-execution progress from the Step Functions history events: a bar per file redrawn in place on a TTY,
 * plain lines otherwise (CI logs, pipes). The bar's steps are the states on the success path of the ASL, so the
 * display follows the state machine instead of a hard-coded list.
 */
import type { CliIo } from './common.js';
import { formatDuration } from './common.js';

type AslState = {
  Type?: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: Array<{ Next?: string }>;
};

/** States from StartAt to the end, taking each Choice's first rule (the "done" branch in this project's ASL). */
export function successPath(definition: { StartAt: string; States: Record<string, AslState> }): string[] {
  const path: string[] = [];
  let name: string | undefined = definition.StartAt;
  while (name && !path.includes(name)) {
    path.push(name);
    const state: AslState | undefined = definition.States[name];
    if (!state || state.End) break;
    name = state.Type === 'Choice' ? (state.Choices?.[0]?.Next ?? state.Default) : state.Next;
  }
  return path;
}

interface Row {
  label: string;
  state: string;
  step: number;
  /** waiting | running | failing, then the execution's final status. */
  status: string;
  startedAt: number;
  endedAt?: number;
  retries: number;
  printed: Set<string>;
}

export class ProgressView {
  private readonly rows = new Map<string, Row>();
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;

  constructor(
    private readonly io: CliIo,
    private readonly path: string[],
  ) {
    this.tty = Boolean(io.stdout.isTTY) && process.env.TERM !== 'dumb';
    if (this.tty) this.timer = setInterval(() => this.draw(), 200);
  }

  add(id: string, label: string): void {
    this.rows.set(id, {
      label,
      state: 'uploading',
      step: 0,
      status: 'waiting',
      startedAt: Date.now(),
      retries: 0,
      printed: new Set(),
    });
    if (!this.tty) this.line(`${label}: uploading`);
  }

  private line(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** `at` is the execution's own start date, so the duration shown here is the one the results print. */
  started(id: string, executionName: string, at = Date.now()): void {
    const row = this.rows.get(id);
    if (!row) return;
    row.status = 'running';
    row.startedAt = at;
    if (!this.tty) this.line(`${row.label}: execution ${executionName} started`);
  }

  entered(id: string, state: string): void {
    const row = this.rows.get(id);
    if (!row) return;
    row.state = state;
    const at = this.path.indexOf(state);
    if (at >= 0) row.step = Math.max(row.step, at + 1);
    else row.status = 'failing';
    // The poll loop re-enters the same states many times: one line per state is enough in a log.
    if (!this.tty && !row.printed.has(state)) {
      row.printed.add(state);
      this.line(`${row.label}: ${at >= 0 ? `[${at + 1}/${this.path.length}] ` : ''}${state}`);
    }
  }

  note(id: string, text: string): void {
    const row = this.rows.get(id);
    if (!row) return;
    if (text.startsWith('retry')) row.retries += 1;
    if (!this.tty) this.line(`${row.label}: ${text}`);
  }

  /** `at` is the execution's stop date when it has one (the waiting for its notification is not the job's time). */
  finished(id: string, status: string, detail = '', at = Date.now()): void {
    const row = this.rows.get(id);
    if (!row) return;
    row.status = status;
    row.endedAt = at;
    if (status === 'SUCCEEDED') row.step = this.path.length;
    if (!this.tty)
      this.line(
        `${row.label}: ${status} in ${formatDuration(row.endedAt - row.startedAt)}${detail ? ` — ${detail}` : ''}`,
      );
  }

  private render(row: Row): string {
    const width = 24;
    const total = Math.max(1, this.path.length);
    const filled = Math.round((row.step / total) * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const elapsed = formatDuration((row.endedAt ?? Date.now()) - row.startedAt);
    const status =
      row.status === 'running' || row.status === 'waiting'
        ? row.state
        : row.status === 'failing'
          ? `${row.state} (failing)`
          : row.status;
    const retries = row.retries > 0 ? ` retries:${row.retries}` : '';
    const columns = this.io.stdout.columns ?? 100;
    const label = row.label.length > 24 ? `${row.label.slice(0, 23)}…` : row.label.padEnd(24);
    const line = `${label} ${bar} ${String(row.step).padStart(2)}/${total} ${status.padEnd(22)} ${elapsed.padStart(8)}${retries}`;
    return line.slice(0, columns - 1);
  }

  draw(): void {
    if (!this.tty) return;
    const lines = [...this.rows.values()].map((r) => this.render(r));
    let out = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    for (const l of lines) out += `\x1b[2K${l}\n`;
    this.io.stdout.write(out);
    this.drawnLines = lines.length;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.draw();
  }
}
