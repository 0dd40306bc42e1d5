/**
 * Progress of running jobs, in one shape for both front-ends: the CLI and the console draw it the same way whichever
 * service runs the job.
 */
import type { LadderProgress } from './transcode.js';

/** A running job's progress: the job, and where its ladder is (transcode.ts). */
export interface JobProgress extends LadderProgress {
  jobId: string;
  /** The job's user metadata (the workflow puts its execution name there). */
  userMetadata: Record<string, string>;
  /** Output keys, in the order of `renditions`. */
  outputKeys: string[];
}

export type ProgressListener = (progress: JobProgress) => void;

/** The listeners of one server; `subscribe` returns the unsubscribe function. */
export class ProgressListeners {
  private readonly listeners = new Set<ProgressListener>();

  subscribe(listener: ProgressListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(progress: JobProgress): void {
    for (const listener of this.listeners) listener(progress);
  }
}
