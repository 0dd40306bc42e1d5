/**
 * Live per-execution progress from the Step Functions history events and the local transcoder's own progress: a
 * block per file redrawn in place on a TTY (at most 79 columns), plain lines otherwise (CI logs, pipes).
 *
 * The steps are the states on the success path of the ASL, so the display follows the state machine instead of a
 * hard-coded list. A loop on that path (EncryptSource ⟲ EncryptionDone, WaitForJob → PollJob → JobFinished ⟲) is
 * ONE step: the counter stays put while the workflow goes round it, and the transcode loop shows the job's
 * progress, per rendition, with an ETA.
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
type AslDefinition = { StartAt: string; States: Record<string, AslState> };

/** States from StartAt to the end, taking each Choice's first rule (the "done" branch in this project's ASL). */
export function successPath(definition: AslDefinition): string[] {
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

export interface StepPlan {
  /** One label per step. */
  labels: string[];
  /** State name → 1-based step; the states of a loop share their step. */
  stepOf: Map<string, number>;
}

/** The success path with every loop (a Choice whose Default goes back up the path) folded into one step. */
export function progressSteps(definition: AslDefinition): StepPlan {
  const path = successPath(definition);
  const loopStart = new Map<number, number>();
  path.forEach((name, end) => {
    const back = path.indexOf(definition.States[name]?.Default ?? '');
    if (back >= 0 && back <= end) loopStart.set(back, end);
  });
  const labels: string[] = [];
  const stepOf = new Map<string, number>();
  for (let i = 0; i < path.length; i++) {
    const end = loopStart.get(i) ?? i;
    const members = path.slice(i, end + 1);
    const task = members.find((m) => definition.States[m]?.Type === 'Task') ?? members[0] ?? '';
    labels.push(task);
    for (const m of members) stepOf.set(m, labels.length);
    i = end;
  }
  return { labels, stepOf };
}

export interface TranscodeProgress {
  /** 0–100 for the job. */
  percent: number;
  /** Per rendition: a short name and 0–100. */
  renditions: Array<{ name: string; percent: number }>;
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
  transcode?: TranscodeProgress & { since: number; eta?: number };
  transcodePrinted?: { at: number; percent: number };
}

const WIDTH = 79;
const PLAIN_PROGRESS_EVERY_MS = 5000;

function bar(fraction: number, width: number): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

function cell(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

function shortDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export class ProgressView {
  private readonly rows = new Map<string, Row>();
  private readonly plan: StepPlan;
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly tty: boolean;

  constructor(
    private readonly io: CliIo,
    definition: AslDefinition,
    private readonly now: () => number = Date.now,
  ) {
    this.plan = progressSteps(definition);
    this.tty = Boolean(io.stdout.isTTY) && process.env.TERM !== 'dumb';
    if (this.tty) this.timer = setInterval(() => this.draw(), 200);
  }

  add(id: string, label: string): void {
    this.rows.set(id, {
      label,
      state: 'uploading',
      step: 0,
      status: 'waiting',
      startedAt: this.now(),
      retries: 0,
      printed: new Set(),
    });
    if (!this.tty) this.line(`${label}: uploading`);
  }

  private line(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** `at` is the execution's own start date, so the duration shown here is the one the results print. */
  started(id: string, executionName: string, at = this.now()): void {
    const row = this.rows.get(id);
    if (!row) return;
    row.status = 'running';
    row.startedAt = at;
    if (!this.tty) this.line(`${row.label}: execution ${executionName} started`);
  }

  entered(id: string, state: string): void {
    const row = this.rows.get(id);
    if (!row) return;
    const step = this.plan.stepOf.get(state);
    // The job reports progress from its submission on; the display keeps it until the job is done and the workflow
    // moves past the poll loop, or the workflow turns to its failure path.
    if (row.transcode && (step === undefined || (step > row.step && row.transcode.percent >= 100)))
      row.transcode = undefined;
    row.state = state;
    if (step !== undefined) row.step = Math.max(row.step, step);
    else row.status = 'failing';
    // The loops re-enter the same states many times: one line per state is enough in a log.
    if (!this.tty && !row.printed.has(state)) {
      row.printed.add(state);
      this.line(`${row.label}: ${step !== undefined ? `[${step}/${this.plan.labels.length}] ` : ''}${state}`);
    }
  }

  /** The transcoder's progress for this file's job. */
  transcoding(id: string, progress: TranscodeProgress): void {
    const row = this.rows.get(id);
    if (!row || row.endedAt) return;
    const now = this.now();
    const since = row.transcode?.since ?? now;
    const elapsed = now - since;
    const eta =
      progress.percent >= 100
        ? 0
        : progress.percent > 1 && elapsed > 500
          ? (elapsed * (100 - progress.percent)) / progress.percent
          : undefined;
    row.transcode = { ...progress, since, ...(eta !== undefined ? { eta } : {}) };
    if (this.tty) return;
    const last = row.transcodePrinted;
    const done = progress.percent >= 100;
    if (last && !done && now - last.at < PLAIN_PROGRESS_EVERY_MS) return;
    if (last && done && last.percent >= 100) return;
    row.transcodePrinted = { at: now, percent: progress.percent };
    const parts = progress.renditions.map((r) => `${r.name} ${Math.floor(r.percent)}%`).join(', ');
    const etaText = eta !== undefined && !done ? `, ETA ${shortDuration(eta)}` : '';
    this.line(
      cell(`${row.label}: transcode ${Math.floor(progress.percent)}%${etaText} (${parts})`, WIDTH).trimEnd(),
    );
  }

  note(id: string, text: string): void {
    const row = this.rows.get(id);
    if (!row) return;
    if (text.startsWith('retry')) row.retries += 1;
    if (!this.tty) this.line(`${row.label}: ${text}`);
  }

  /** `at` is the execution's stop date when it has one (the waiting for its notification is not the job's time). */
  finished(id: string, status: string, detail = '', at = this.now()): void {
    const row = this.rows.get(id);
    if (!row) return;
    row.status = status;
    row.endedAt = at;
    row.transcode = undefined;
    if (status === 'SUCCEEDED') row.step = this.plan.labels.length;
    if (!this.tty)
      this.line(
        `${row.label}: ${status} in ${formatDuration(row.endedAt - row.startedAt)}${detail ? ` — ${detail}` : ''}`,
      );
  }

  /** What the TTY view shows for one file right now. */
  linesOf(id: string): string[] {
    const row = this.rows.get(id);
    return row ? this.render(row) : [];
  }

  /** The lines of one file: a summary line, and one per rendition while its transcode runs. */
  private render(row: Row): string[] {
    const total = Math.max(1, this.plan.labels.length);
    const elapsed = formatDuration((row.endedAt ?? this.now()) - row.startedAt);
    const t = row.transcode;
    let status: string;
    if (t)
      status = `transcode ${Math.floor(t.percent)}%${t.eta !== undefined ? ` ETA ${shortDuration(t.eta)}` : ''}`;
    else if (row.status === 'running' || row.status === 'waiting') status = row.state;
    else if (row.status === 'failing') status = `${row.state} (failing)`;
    else status = row.status;
    const retries = row.retries > 0 ? ` r${row.retries}` : '';
    // 16 + 1 + 16 + 1 + 5 + 1 + 24 + 1 + 10 = 75 columns, and room for a retry count.
    const line = `${cell(row.label, 16)} ${bar(row.step / total, 16)} ${`${row.step}/${total}`.padStart(5)} ${cell(status, 24)} ${elapsed.padStart(10)}${retries}`;
    const lines = [line];
    for (const r of t?.renditions ?? []) {
      lines.push(
        `  ${cell(r.name, 14)} ${bar(r.percent / 100, 20)} ${String(Math.floor(r.percent)).padStart(3)}%`,
      );
    }
    const columns = Math.min(WIDTH, (this.io.stdout.columns ?? 80) - 1);
    return lines.map((l) => l.slice(0, columns));
  }

  draw(): void {
    if (!this.tty) return;
    const lines = [...this.rows.values()].flatMap((r) => this.render(r));
    let out = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    for (const l of lines) out += `\x1b[2K${l}\n`;
    // Lines left over from a longer frame (rendition lines of a finished transcode) are cleared.
    const stale = this.drawnLines - lines.length;
    if (stale > 0) out += `${'\x1b[2K\n'.repeat(stale)}\x1b[${stale}A`;
    this.io.stdout.write(out);
    this.drawnLines = lines.length;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.draw();
  }
}
