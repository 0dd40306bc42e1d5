/**
 * Jobs of the local MediaConvert, one JSON file each under `<dataDir>/mediaconvert/jobs/`, in the wire form GetJob
 * returns, so `up` can restart without losing the jobs a workflow is polling. Job records hold only what CreateJob
 * received (the input key as a KMS blob) and never the SPEKE key; files are still 0600.
 */
import { randomInt } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WireJob } from './wire.js';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Job ids look like the service's: epoch milliseconds, a dash, six lowercase letters or digits. */
export function newJobId(): string {
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += ALPHABET[randomInt(ALPHABET.length)];
  return `${Date.now()}-${suffix}`;
}

export class JobStore {
  readonly jobs = new Map<string, WireJob>();
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(private readonly dir: string) {}

  static async open(dataDir: string): Promise<JobStore> {
    const dir = join(dataDir, 'mediaconvert', 'jobs');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const store = new JobStore(dir);
    const names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
    const jobs = await Promise.all(
      names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8')) as WireJob),
    );
    jobs.sort((a, b) => a.createdAt - b.createdAt);
    for (const j of jobs) store.jobs.set(j.id, j);
    return store;
  }

  /** Writes are serialised per job so a slow older write never overwrites a newer status. */
  save(job: WireJob): Promise<void> {
    this.jobs.set(job.id, job);
    const file = join(this.dir, `${job.id}.json`);
    const snapshot = JSON.stringify(job, null, 2);
    const next = (this.writes.get(file) ?? Promise.resolve()).then(async () => {
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, snapshot, { mode: 0o600 });
      await rename(tmp, file);
    });
    this.writes.set(
      file,
      next.catch(() => undefined),
    );
    return next;
  }

  async flush(): Promise<void> {
    await Promise.all(this.writes.values());
  }
}
