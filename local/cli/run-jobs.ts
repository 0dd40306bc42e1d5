/**
 * The jobs of `secure-transcode run`: one object key per file, uploaded in turn, each followed from the execution
 * it starts to its notification, with live progress in the view.
 */
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import type { ExecutionRecord } from '../sfn/index.js';
import { type Notification, type Stack, uploadFile } from '../stack/index.js';
import type { ProgressView } from './progress.js';

export interface Job {
  file: string;
  key: string;
  label: string;
  uploadedAt: number;
}

export interface JobOutcome {
  job: Job;
  record: ExecutionRecord | undefined;
  notification: Notification | undefined;
}

/** One key per file under `prefix`; files with the same name get " (2)", " (3)"… so no upload overwrites another. */
export function uniqueKeys(files: string[], prefix: string): Job[] {
  const used = new Set<string>();
  return files.map((file) => {
    const ext = extname(file);
    const stem = basename(file, ext);
    let name = `${stem}${ext}`;
    for (let n = 2; used.has(name); n += 1) name = `${stem} (${n})${ext}`;
    used.add(name);
    return { file, key: `${prefix}${name}`, label: name, uploadedAt: 0 };
  });
}

type HistoryDetails = {
  stateEnteredEventDetails?: { name: string };
  evaluationFailedEventDetails?: { state: string; error: string; location: string };
};

/** Shows each job's executions and transcode progress in the view; returns the function that stops following. */
export function followJobs(stack: Stack, view: ProgressView, jobs: Job[]): () => void {
  const byKey = new Map(jobs.map((j) => [j.key, j]));
  const executionToKey = new Map<string, string>();
  const executionNameToKey = new Map<string, string>();
  const unsubscribeProgress = stack.onTranscodeProgress((p) => {
    const key = executionNameToKey.get(p.userMetadata.execution ?? '');
    if (!key) return;
    view.transcoding(key, {
      percent: p.percent,
      renditions: p.renditions.map((percent, i) => ({
        name: basename(p.outputKeys[i] ?? `#${i + 1}`),
        percent,
      })),
    });
  });
  const unsubscribeEvents = stack.onExecutionEvent((record, event) => {
    if (event.type === 'ExecutionStarted') {
      const key = (JSON.parse(record.input) as { source?: { key?: string } }).source?.key;
      const job = key === undefined ? undefined : byKey.get(key);
      if (!job || record.startDate < job.uploadedAt) return;
      executionToKey.set(record.executionArn, job.key);
      executionNameToKey.set(record.name, job.key);
      view.started(job.key, record.name, record.startDate);
      return;
    }
    const key = executionToKey.get(record.executionArn);
    if (key) showHistoryEvent(view, key, event.type, event as HistoryDetails);
  });
  return () => {
    unsubscribeEvents();
    unsubscribeProgress();
  };
}

function showHistoryEvent(view: ProgressView, key: string, type: string, details: HistoryDetails): void {
  if (type.endsWith('StateEntered') && details.stateEnteredEventDetails)
    view.entered(key, details.stateEnteredEventDetails.name);
  else if (type === 'StateRetried')
    view.note(
      key,
      `retry ${details.evaluationFailedEventDetails?.state}: ${details.evaluationFailedEventDetails?.error}`,
    );
  else if (type === 'StateCaught')
    view.note(
      key,
      `caught ${details.evaluationFailedEventDetails?.error} in ${details.evaluationFailedEventDetails?.state}`,
    );
}

/** Uploads every job's file (one after another), then waits for each job's execution and notification. */
export async function runJobs(
  stack: Stack,
  view: ProgressView,
  jobs: Job[],
  timeoutSeconds: number,
): Promise<JobOutcome[]> {
  for (const job of jobs) {
    view.add(job.key, job.label);
    job.uploadedAt = Date.now();
    await uploadFile(stack.s3, {
      bucket: stack.config.bucket,
      key: job.key,
      body: readFileSync(job.file),
    });
  }
  return Promise.all(jobs.map((job) => awaitJob(stack, view, job, timeoutSeconds)));
}

async function awaitJob(
  stack: Stack,
  view: ProgressView,
  job: Job,
  timeoutSeconds: number,
): Promise<JobOutcome> {
  const arn = await stack.waitForExecutionStart(job.key, 120_000, job.uploadedAt).catch(() => undefined);
  if (!arn) {
    view.finished(job.key, 'FAILED', 'no execution started (see the ingest DLQ)');
    return { job, record: undefined, notification: undefined };
  }
  const record = await stack.sfn.waitForExecution(arn, timeoutSeconds * 1000).catch(() => undefined);
  if (!record) {
    view.finished(job.key, 'TIMED_OUT', `still running after ${timeoutSeconds} s`);
    return { job, record: stack.sfn.describeExecution(arn), notification: undefined };
  }
  const notification = await stack.waitForNotification(record.name, 30_000).catch(() => undefined);
  view.finished(
    job.key,
    record.status,
    notification?.error ? `${notification.error.code} at ${notification.error.step}` : '',
    record.stopDate,
  );
  return { job, record, notification };
}
