import { describe, expect, it } from '@jest/globals';
import { JobQueue } from '../../../../local/engine/queue.js';

/** A job that runs until released or aborted, recording when it started and what signal it got. */
function controllableJobs() {
  const started: string[] = [];
  const signals = new Map<string, AbortSignal>();
  const release = new Map<string, () => void>();
  const run = (jobId: string, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      started.push(jobId);
      signals.set(jobId, signal);
      release.set(jobId, resolve);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  return { started, signals, release, run };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('JobQueue', () => {
  it('runs at most `concurrency` jobs at once, in the order they were queued', async () => {
    // Prepare
    const jobs = controllableJobs();
    const queue = new JobQueue({ concurrency: 2, service: 'test', run: jobs.run });

    // Act
    for (const id of ['a', 'b', 'c']) queue.enqueue(id);
    await tick();
    const before = [...jobs.started];
    jobs.release.get('a')?.();
    await tick();

    // Assess
    expect(before).toEqual(['a', 'b']);
    expect(jobs.started).toEqual(['a', 'b', 'c']);
    await queue.stop();
  });

  it('drops a queued job on cancel, so it never runs', async () => {
    // Prepare
    const jobs = controllableJobs();
    const queue = new JobQueue({ concurrency: 1, service: 'test', run: jobs.run });
    queue.enqueue('a');
    queue.enqueue('b');

    // Act
    const cancelled = queue.cancel('b');
    jobs.release.get('a')?.();
    await tick();

    // Assess
    expect(cancelled).toBe(true);
    expect(jobs.started).toEqual(['a']);
    await queue.stop();
  });

  it('aborts only the cancelled running job, and says false for a job it does not hold', async () => {
    // Prepare
    const jobs = controllableJobs();
    const queue = new JobQueue({ concurrency: 2, service: 'test', run: jobs.run });
    queue.enqueue('a');
    queue.enqueue('b');
    await tick();

    // Act
    const cancelled = queue.cancel('a');
    const unknown = queue.cancel('nope');

    // Assess
    expect(cancelled).toBe(true);
    expect(unknown).toBe(false);
    expect(jobs.signals.get('a')?.aborted).toBe(true);
    expect(jobs.signals.get('b')?.aborted).toBe(false);
    await queue.stop();
  });

  it('on stop, aborts the running jobs, drops the queued ones and reports itself stopped', async () => {
    // Prepare
    const jobs = controllableJobs();
    const queue = new JobQueue({ concurrency: 1, service: 'test', run: jobs.run });
    queue.enqueue('a');
    queue.enqueue('b');
    await tick();

    // Act
    await queue.stop();
    queue.enqueue('c');
    await tick();

    // Assess
    expect(queue.stopped).toBe(true);
    expect(jobs.signals.get('a')?.aborted).toBe(true);
    expect(jobs.started).toEqual(['a']);
  });
});
