/**
 * The one job queue under both front-ends: jobs run a few at a time (each job's ffmpeg already uses every core),
 * in the order they were queued, each with its own AbortSignal so one job can be cancelled without touching the
 * others. The queue knows only job ids; the front-end's `run` does the work and records the outcome.
 */
import { logger } from '../../lib/logger.js';

/** Jobs transcoded at the same time unless told otherwise; each job's ffmpeg already uses every core. */
export const DEFAULT_JOB_CONCURRENCY = 2;

export interface JobQueueOptions {
  concurrency: number;
  /** Runs one job to its end; a rejection is logged as a crash (the front-end records failures itself). */
  run: (jobId: string, signal: AbortSignal) => Promise<void>;
  /** Names the service in the crash log line. */
  service: string;
}

export class JobQueue {
  private readonly queue: string[] = [];
  private readonly running = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  private stopping = false;

  constructor(private readonly options: JobQueueOptions) {}

  /** True once `stop` was called: a job that fails now failed because the service is stopping. */
  get stopped(): boolean {
    return this.stopping;
  }

  enqueue(jobId: string): void {
    this.queue.push(jobId);
    this.pump();
  }

  /** Cancels a queued or running job; false when it is neither. */
  cancel(jobId: string): boolean {
    const i = this.queue.indexOf(jobId);
    if (i >= 0) {
      this.queue.splice(i, 1);
      return true;
    }
    const run = this.running.get(jobId);
    run?.abort.abort();
    return run !== undefined;
  }

  /** Drops the queued jobs, aborts the running ones and waits for them to end. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.queue.length = 0;
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.promise));
  }

  private pump(): void {
    while (!this.stopping && this.running.size < this.options.concurrency && this.queue.length > 0) {
      const jobId = this.queue.shift() as string;
      const abort = new AbortController();
      const promise = this.options
        .run(jobId, abort.signal)
        .catch((e: unknown) => {
          logger.error(`${this.options.service} job crashed`, {
            jobId,
            error: e instanceof Error ? e.message : String(e),
          });
        })
        .finally(() => {
          this.running.delete(jobId);
          this.pump();
        });
      this.running.set(jobId, { promise, abort });
    }
  }
}
