/**
 * `npm run chaos` — the reliability run on the embedded stack: N jobs (copies of one generated clip under
 * keys with spaces, unicode, `+`, `&`, `%`) and bad inputs, with faults injected and S3 events delivered more than
 * once. Prints a table, writes `bench/results/chaos-<timestamp>.json`, and exits 1 if anything was lost, doubled or
 * leaked, or an expected success failed.
 *
 *   --jobs N (20)  --small (4 jobs + bad inputs, CI)  --no-bad  --duplicates N  --faults SPEC (local/faults.ts)
 *   --backend mediaconvert|elastictranscoder (default mediaconvert, as deployed)
 *   --timeout SECONDS  --data-dir DIR (default: a fresh temporary directory)  --keep (keep the data dir)
 *
 * The handlers' logs are written to `<data dir>/logs/handlers.log` instead of the terminal, so the leak scan covers them.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { backendFrom, resolveFfmpegOrExplain } from '../../local/cli/common.js';
import { type ChaosOptions, type ChaosReport, DEFAULT_PRESET, SMALL_PRESET } from './run.js';

const CHAOS_USAGE =
  'Usage: npm run chaos -- [--small] [--backend mediaconvert|elastictranscoder] [--jobs N] [--no-bad] [--duplicates N] [--faults SPEC] [--timeout S] [--data-dir DIR] [--keep]';
const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results');

export function parseChaosArgs(
  argv: string[],
): Omit<ChaosOptions, 'ffmpegPath'> & { keep: boolean; help: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      jobs: { type: 'string' },
      small: { type: 'boolean', default: false },
      backend: { type: 'string' },
      'no-bad': { type: 'boolean', default: false },
      duplicates: { type: 'string' },
      faults: { type: 'string' },
      timeout: { type: 'string' },
      'data-dir': { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const preset = values.small ? SMALL_PRESET : DEFAULT_PRESET;
  const count = (flag: string, value: string | undefined, fallback: number, min: number) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new Error(`--${flag} must be an integer ≥ ${min}, got "${value}"`);
    return n;
  };
  return {
    backend: backendFrom(values.backend),
    jobs: count('jobs', values.jobs, preset.jobs, 0),
    bad: !values['no-bad'] && preset.bad,
    duplicates: count('duplicates', values.duplicates, preset.duplicates, 0),
    clipSeconds: preset.clipSeconds,
    timeoutMs: count('timeout', values.timeout, preset.timeoutMs / 1000, 1) * 1000,
    ...(values.faults !== undefined ? { faults: values.faults } : {}),
    ...(values['data-dir'] ? { dataDir: resolve(values['data-dir']) } : {}),
    keep: values.keep,
    help: values.help,
  };
}

function pad(s: string | number, n: number): string {
  const t = String(s);
  return t.length >= n ? t : t + ' '.repeat(n - t.length);
}

export function formatChaosTable(r: ChaosReport): string {
  const rows: Array<[string, string | number, string]> = [
    ['backend', r.backend, ''],
    ['jobs (good inputs)', r.jobs, ''],
    ['bad inputs', r.badInputs, ''],
    ['duplicate deliveries / object', r.duplicateDeliveriesPerObject, ''],
    ['faults injected', r.faultsInjected, ''],
    ['retries (StateRetried)', r.retries, ''],
    ['succeeded', r.succeeded, `= ${r.jobs}`],
    ['failed with notification', r.failedWithNotification, `= ${r.badInputs}`],
    ['verified (bytes + outputs)', r.verified, `= ${r.jobs}`],
    ['lost', r.lost, '= 0'],
    ['duplicated', r.duplicated, '= 0'],
    ['leaks', r.leaks, '= 0'],
    ['keys recovered for the scan', r.keysRecovered, `≥ ${2 * r.succeeded}`],
    ['open multipart uploads', r.openMultipartUploads, '= 0'],
    ['objects left (failed, sources)', r.leftovers.length, '= 0'],
    ['ingest DLQ depth', r.ingestDlqDepth, '= 0'],
    ['wall time (s)', r.wallSeconds, ''],
  ];
  const lines = ['', `${pad('metric', 32)}${pad('value', 10)}must be`, '-'.repeat(52)];
  for (const [name, value, must] of rows) lines.push(`${pad(name, 32)}${pad(value, 10)}${must}`);
  lines.push('', 'faults by operation (injected/calls):');
  for (const s of r.faultStats.filter((s) => s.injected > 0))
    lines.push(`  ${pad(`${s.service}:${s.operation}`, 40)}${s.injected}/${s.calls}`);
  lines.push('', 'retries by error:');
  for (const [error, n] of Object.entries(r.retriesByError)) lines.push(`  ${pad(error, 40)}${n}`);
  lines.push('', 'inputs:');
  for (const x of r.results) {
    const outcome = x.status === 'FAILED' ? `FAILED ${x.errorCode} at ${x.step}` : x.status;
    lines.push(
      `  ${x.ok ? 'ok  ' : 'FAIL'} ${pad(x.kind === 'bad' ? x.label : 'good', 30)}${pad(outcome, 48)}${pad(`${x.seconds ?? '?'} s`, 8)}${x.key}`,
    );
  }
  if (r.problems.length > 0) lines.push('', 'PROBLEMS:', ...r.problems.map((p) => `  - ${p}`));
  return `${lines.join('\n')}\n`;
}

/** Sends everything written to stdout/stderr (the handlers' Powertools logs) to `file`; returns the real writers. */
function captureProcessOutput(file: string) {
  // The handlers' logs sit in the data directory, owner-only like everything else there.
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const sink = (chunk: string | Uint8Array, ...rest: unknown[]) => {
    appendFileSync(file, chunk, { mode: 0o600 });
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
  process.stdout.write = sink as typeof process.stdout.write;
  process.stderr.write = sink as typeof process.stderr.write;
  return {
    print: (s: string) => out(s),
    restore: () => {
      process.stdout.write = out as typeof process.stdout.write;
      process.stderr.write = err as typeof process.stderr.write;
    },
  };
}

async function main(argv: string[]): Promise<number> {
  const options = parseChaosArgs(argv);
  if (options.help) {
    process.stdout.write(`${CHAOS_USAGE}\n`);
    return 0;
  }
  const ffmpegPath = await resolveFfmpegOrExplain();
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'secure-transcode-chaos-')));
  process.env.LOG_LEVEL ??= 'INFO';
  const io = captureProcessOutput(join(dataDir, 'logs', 'handlers.log'));
  let report: ChaosReport;
  try {
    const { runChaos } = await import('./run.js');
    io.print(`chaos: data dir ${dataDir}\n`);
    report = await runChaos({ ...options, dataDir, ffmpegPath, log: (line) => io.print(`chaos: ${line}\n`) });
  } finally {
    io.restore();
  }
  process.stdout.write(formatChaosTable(report));
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `chaos-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\nresults: ${file}\n`);
  const failed = report.problems.length > 0;
  if (failed || options.keep || options.dataDir) process.stdout.write(`data dir kept: ${dataDir}\n`);
  else await rm(dataDir, { recursive: true, force: true });
  return failed ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`chaos: ${(e as Error).stack ?? e}`);
      process.exit(2);
    },
  );
}
