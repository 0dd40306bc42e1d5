import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MachineDates {
  createdAt: number;
  updatedAt: number;
  sha256: string;
}

/**
 * The state machine "exists" from the first start on a data directory; its update date moves when the ASL file
 * changes. Kept beside the execution records so the dates survive restarts, as the service's do.
 */
export function machineDates(dataDir: string, name: string, definition: string): MachineDates {
  const dir = join(dataDir, 'executions');
  const file = join(dir, `${encodeURIComponent(name)}.state-machine.json`);
  const sha256 = createHash('sha256').update(definition).digest('hex');
  let saved: MachineDates | undefined;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as MachineDates;
  } catch {
    saved = undefined;
  }
  if (saved && saved.sha256 === sha256 && Number.isFinite(saved.createdAt)) return saved;
  const now = Date.now();
  const dates = { createdAt: saved?.createdAt ?? now, updatedAt: now, sha256 };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(dates)}\n`, { mode: 0o600 });
  return dates;
}
