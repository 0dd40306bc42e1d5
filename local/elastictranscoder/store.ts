/**
 * Pipelines and jobs of the local transcoder, one JSON file each under `<dataDir>/transcoder/`, so `up` can be
 * restarted without losing the pipeline id the stack hands out or the jobs a workflow is polling. Job records hold
 * only KMS-wrapped keys (what CreateJob received), never a plaintext key; files are still 0600.
 */
import { randomInt } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Job, Pipeline } from '@aws-sdk/client-elastic-transcoder';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Ids look like the service's: 13-digit epoch milliseconds, a dash, six word characters (`^\d{13}-\w{6}$`). */
export function newId(): string {
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
  return `${Date.now()}-${suffix}`;
}

async function writeJson(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2), { mode: 0o600 });
  await rename(tmp, file);
}

async function readAll<T>(dir: string): Promise<T[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8')) as T));
}

export class TranscoderStore {
  readonly pipelines = new Map<string, Pipeline>();
  readonly jobs = new Map<string, Job>();
  /** Serialises writes per file so a fast status change cannot be overwritten by a slower, older write. */
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(private readonly dir: string) {}

  static async open(dataDir: string): Promise<TranscoderStore> {
    const store = new TranscoderStore(join(dataDir, 'transcoder'));
    for (const sub of ['pipelines', 'jobs'])
      await mkdir(join(store.dir, sub), { recursive: true, mode: 0o700 });
    await chmod(store.dir, 0o700);
    for (const p of await readAll<Pipeline>(join(store.dir, 'pipelines')))
      if (p.Id) store.pipelines.set(p.Id, p);
    const jobs = await readAll<Job>(join(store.dir, 'jobs'));
    jobs.sort((a, b) => (a.Timing?.SubmitTimeMillis ?? 0) - (b.Timing?.SubmitTimeMillis ?? 0));
    for (const j of jobs) if (j.Id) store.jobs.set(j.Id, j);
    return store;
  }

  private write(kind: 'pipelines' | 'jobs', id: string, value: unknown): Promise<void> {
    const file = join(this.dir, kind, `${id}.json`);
    const snapshot = structuredClone(value);
    const next = (this.writes.get(file) ?? Promise.resolve()).then(() => writeJson(file, snapshot));
    this.writes.set(
      file,
      next.catch(() => undefined),
    );
    return next;
  }

  async savePipeline(p: Pipeline & { Id: string }): Promise<void> {
    this.pipelines.set(p.Id, p);
    await this.write('pipelines', p.Id, p);
  }

  async saveJob(j: Job & { Id: string }): Promise<void> {
    this.jobs.set(j.Id, j);
    await this.write('jobs', j.Id, j);
  }

  /** Waits for pending writes, so a stopped server leaves complete files behind. */
  async flush(): Promise<void> {
    await Promise.all(this.writes.values());
  }
}
