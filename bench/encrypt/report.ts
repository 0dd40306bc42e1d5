/**
 * The encrypt bench's vocabulary (steps, settings, one child's measurement) and its report: the rows with their
 * ratios against (a) and (d), the console table and the JSON file under bench/results.
 */
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** Lambda's 15-minute ceiling minus the default TIME_BUDGET_MARGIN_MS. */
const LAMBDA_BUDGET_S = 900 - 30;
/** Per encrypt-loop iteration: the EncryptSource Task and the EncryptionDone Choice. */
const TRANSITIONS_PER_INVOCATION = 2;

export const KINDS = ['copy', 'cbc', 'ctr', 'manual'] as const;
export type Kind = (typeof KINDS)[number];

export interface ChildResult {
  seconds: number;
  peakRssBytes: number;
  baselineRssBytes: number;
}

export interface Settings {
  steps: Set<string>;
  kinds: Kind[];
  sizesMiB: number[];
  partSize: number;
  readAhead: number;
  concurrency: number;
  repeat: number;
  keyHex: string;
  ivHex: string;
}

export interface Measurements {
  /** Per kind: the fastest run, with the highest peak RSS seen in any run. */
  measured: Map<string, ChildResult>;
  /** Per kind: every run's seconds. */
  runs: Map<string, number[]>;
}

export interface Row {
  sizeMiB: number;
  step: string;
  seconds: number;
  medianSeconds?: number;
  runsSeconds?: number[];
  mbPerSecond: number;
  vsCopy: number;
  vsManual: number;
  peakRssMiB?: number;
  baselineRssMiB?: number;
  lambdaInvocationsPerGiB?: number;
  stateTransitionsPerGiB?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export function rowsFor(
  sizeMiB: number,
  { measured, runs }: Measurements,
  openssl: { eCbc: number; eCtr: number },
  steps: Set<string>,
): Row[] {
  const size = sizeMiB * MiB;
  const copyS = measured.get('copy')?.seconds ?? Number.NaN;
  const manualS = measured.get('manual')?.seconds ?? Number.NaN;
  const row = (step: string, seconds: number, child?: ChildResult, lambda = false, kind?: Kind): Row => {
    const rate = size / seconds;
    const invocations = Math.ceil(GiB / rate / LAMBDA_BUDGET_S);
    const all = kind ? runs.get(kind) : undefined;
    return {
      sizeMiB,
      step,
      seconds: +seconds.toFixed(3),
      ...(all ? { medianSeconds: median(all), runsSeconds: all } : {}),
      mbPerSecond: +(rate / 1e6).toFixed(1),
      vsCopy: +(copyS / seconds).toFixed(2),
      vsManual: +(manualS / seconds).toFixed(2),
      ...(child
        ? {
            peakRssMiB: +(child.peakRssBytes / MiB).toFixed(1),
            baselineRssMiB: +(child.baselineRssBytes / MiB).toFixed(1),
          }
        : {}),
      ...(lambda
        ? {
            lambdaInvocationsPerGiB: invocations,
            stateTransitionsPerGiB: invocations * TRANSITIONS_PER_INVOCATION,
          }
        : {}),
    };
  };
  const measuredRow = (kind: Kind, step: string, lambda: boolean) =>
    row(step, measured.get(kind)?.seconds ?? Number.NaN, measured.get(kind), lambda, kind);
  const all: Array<[Kind | 'openssl', Row]> = [
    ['copy', measuredRow('copy', '(a) ranged copy, no cipher', true)],
    ['cbc', measuredRow('cbc', '(b) CBC encrypt step, cipher on the main thread', true)],
    ['ctr', measuredRow('ctr', '(c) CTR encrypt step', true)],
    ['manual', measuredRow('manual', '(d) manual: download, openssl, upload', false)],
    ['openssl', row('(e) openssl enc file→file (CBC)', openssl.eCbc)],
    ['openssl', row('(e) openssl enc file→file (CTR)', openssl.eCtr)],
  ];
  return all.filter(([kind]) => steps.has(kind)).map(([, r]) => r);
}

export async function report(rows: Row[], settings: Settings): Promise<void> {
  console.table(
    rows.map((r) => ({
      'size MiB': r.sizeMiB,
      step: r.step,
      s: r.seconds,
      'median s': r.medianSeconds ?? '',
      'MB/s': r.mbPerSecond,
      '×(a)': r.vsCopy,
      '×(d)': r.vsManual,
      'peak RSS MiB': r.peakRssMiB ?? '',
      'Lambda inv./GiB': r.lambdaInvocationsPerGiB ?? '',
      'transitions/GiB': r.stateTransitionsPerGiB ?? '',
    })),
  );
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    platform: process.platform,
  };
  const written = {
    partSizeMiB: settings.partSize / MiB,
    readAhead: settings.readAhead,
    concurrency: settings.concurrency,
    repeat: settings.repeat,
    steps: [...settings.steps],
    lambdaBudgetSeconds: LAMBDA_BUDGET_S,
  };
  const file = join('bench', 'results', `encrypt-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), machine, settings: written, rows }, null, 2)}\n`,
  );
  console.log(`results written to ${file}`);
}
