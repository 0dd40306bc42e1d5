/**
 * `secure-transcode status`: the executions recorded in the data directory, newest first, with their state, the
 * step they are in (or ended in) and their age. Reads the files directly, so it works whether or not a stack runs.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ExecutionStore, summarizeExecution } from '../sfn/index.js';
import { readLock } from '../stack/index.js';
import { type CliIo, formatDuration, parseCliArgs, privateDataDirFrom, UsageError } from './common.js';

export const STATUS_USAGE = `Usage: secure-transcode status [options]

Lists the workflow executions recorded in the data directory: state, current (or last) step, age, duration, source,
asset id and, for a failure, the error the workflow caught (e.g. SourceEmptyError) and the step that raised it.

Options:
  --data-dir DIR   state directory (default ./.secure-transcode/)
  --limit N        show the newest N executions (default 20)
  --json           print JSON instead of a table
  -h, --help       show this help`;

function parse(argv: string[]) {
  return parseCliArgs({
    args: argv,
    allowPositionals: false,
    options: {
      'data-dir': { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

export async function runStatusCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv);
  if (values.help) {
    io.stdout.write(`${STATUS_USAGE}\n`);
    return 0;
  }
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit must be a positive whole number, got "${values.limit}"`);
  const dataDir = privateDataDirFrom(values['data-dir'], 'read');
  const root = join(dataDir, 'executions');
  const machines = existsSync(root)
    ? readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())
    : [];
  const records = machines
    .flatMap((d) => {
      const store = new ExecutionStore(dataDir, d.name);
      return store.loadAll().map((record) => ({ record, store }));
    })
    .sort((a, b) => b.record.startDate - a.record.startDate)
    .slice(0, limit)
    .map(({ record, store }) => ({ ...record, ...summarizeExecution(record, store.history(record.name)) }));
  const lock = readLock(dataDir);
  const now = Date.now();

  if (values.json) {
    io.stdout.write(
      `${JSON.stringify({ stack: lock ? { running: true, pid: lock.pid, startedAt: lock.startedAt } : { running: false }, executions: records }, null, 2)}\n`,
    );
    return 0;
  }
  io.stdout.write(
    lock
      ? `stack: running (pid ${lock.pid}, since ${lock.startedAt})\n`
      : `stack: not running on ${dataDir}\n`,
  );
  if (records.length === 0) {
    io.stdout.write('no executions yet\n');
    return 0;
  }
  const rows = records.map((r) => [
    r.status,
    r.currentState ?? '',
    formatDuration(now - r.startDate),
    formatDuration((r.stopDate ?? now) - r.startDate),
    r.sourceKey ?? '(no source in the input)',
    r.assetId ?? '-',
    r.errorCode ? `${r.errorCode}${r.failedStep ? ` at ${r.failedStep}` : ''}` : '-',
    r.name,
  ]);
  const header = ['STATUS', 'STEP', 'AGE', 'DURATION', 'SOURCE', 'ASSET', 'ERROR', 'EXECUTION'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const format = (cells: string[]) =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ');
  io.stdout.write(`${[format(header), ...rows.map(format)].join('\n')}\n`);
  return 0;
}
