/**
 * The transcoder-side bad endings, on a stack whose poll deadline is one second and whose transcoder is kept
 * busy: two long jobs created directly on the pipeline fill the local transcoder's two slots, so the workflow's own
 * job waits `Submitted` — the only status Elastic Transcoder lets CancelJob act on. A job that is still queued at the
 * poll deadline fails with PollDeadlineExceededError (and CleanUp cancels it); a job someone cancels ends with
 * TranscodeJobCanceledError. A separate file because POLL_DEADLINE_SECONDS is read once per process.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CancelJobCommand,
  CreateJobCommand,
  ElasticTranscoderClient,
  ReadJobCommand,
} from '@aws-sdk/client-elastic-transcoder';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { generateClip } from '../../bench/chaos/corpus.js';
import { queueDepth } from '../../bench/chaos/run.js';
import type { ExecutionRecord, HistoryEvent } from '../../local/sfn/index.js';
import type { Notification, Stack } from '../../local/stack/index.js';
import { uploadFile } from '../../local/stack/upload.js';
import { leftoversOf, scanDataDirForKeys } from '../support/e2e-checks.js';
import { type E2eStack, runCase, startE2eStack, stopE2eStack } from '../support/e2e-stack.js';
import { FFMPEG } from '../support/ffmpeg.js';

jest.setTimeout(120_000);

// Three HLS renditions of a minute-long clip: several seconds of work per job on the local transcoder.
const BUSY_OUTPUTS = [
  { Key: 'hls-400k', PresetId: '1351620000001-200050', SegmentDuration: '2' },
  { Key: 'hls-600k', PresetId: '1351620000001-200040', SegmentDuration: '2' },
  { Key: 'hls-1000k', PresetId: '1351620000001-200030', SegmentDuration: '2' },
];

type Entered = { stateEnteredEventDetails?: { name?: string; input?: string } };

describe('a busy transcoder with a one-second poll deadline', () => {
  let e2e: E2eStack;
  let stack: Stack;
  let sqs: SQSClient;
  let et: ElasticTranscoderClient;
  let notifications: Notification[];

  const run = (key: string) =>
    runCase(e2e, key, () => uploadFile(stack.s3, { bucket: stack.config.bucket, key, body: e2e.clip }));

  const jobOf = (record: ExecutionRecord): string => {
    const submitted = stack.sfn
      .getExecutionHistory(record.executionArn)
      .map((e) => (e as Entered).stateEnteredEventDetails)
      .find((d) => d?.name === 'WaitForJob');
    return (JSON.parse(submitted?.input ?? '{}') as { job?: { id?: string } }).job?.id ?? '';
  };

  beforeAll(async () => {
    e2e = await startE2eStack('slow-transcoder', {
      // The queue and cancel checks read Elastic Transcoder's own job records.
      backend: 'elastictranscoder',
      env: { POLL_DEADLINE_SECONDS: '1' },
    });
    ({ stack, sqs, notifications } = e2e);
    await generateClip(FFMPEG, join(e2e.work, 'long.mp4'), 60);
    et = new ElasticTranscoderClient({
      region: stack.config.region,
      credentials: { ...stack.config.credentials },
      endpoint: stack.config.endpoints.elastictranscoder,
    });
    // Outside the input prefix: these start no workflow, they only occupy the transcoder.
    await uploadFile(stack.s3, {
      bucket: stack.config.bucket,
      key: 'busy/long.mp4',
      body: readFileSync(join(e2e.work, 'long.mp4')),
    });
    for (const n of [1, 2]) {
      await et.send(
        new CreateJobCommand({
          PipelineId: stack.config.pipelineId,
          Input: { Key: 'busy/long.mp4' },
          OutputKeyPrefix: `busy/out-${n}/`,
          Outputs: BUSY_OUTPUTS,
        }),
      );
    }
  });

  afterAll(() => stopE2eStack(e2e, et));

  it('fails a job still queued at the poll deadline, and cancels it so it never writes outputs', async () => {
    // Act
    const { record, notification } = await run('incoming/slow/past the deadline.mp4');
    const job = await et.send(new ReadJobCommand({ Id: jobOf(record) }));

    // Assess
    expect(record.status).toBe('FAILED');
    expect(notification.status).toBe('FAILED');
    expect(notification.error).toMatchObject({ code: 'PollDeadlineExceededError', step: 'PollJob' });
    expect(notification.error?.message).toContain('still Submitted at the poll deadline');
    expect(notifications.filter((n) => n.execution.name === record.name)).toHaveLength(1);
    expect(job.Job?.Status).toBe('Canceled');
    expect(await leftoversOf(stack, record)).toEqual([]);
    expect(await queueDepth(sqs, stack.config.dlqUrl)).toBe(0);
  });

  it('fails a job canceled while it waits in the transcoder queue with TranscodeJobCanceledError', async () => {
    // Prepare: cancel the workflow's job as soon as the state machine starts waiting on it
    const key = 'incoming/slow/canceled.mp4';
    let canceled: Promise<unknown> | undefined;
    const unsubscribe = stack.onExecutionEvent((record: ExecutionRecord, event: HistoryEvent) => {
      const details = (event as Entered).stateEnteredEventDetails;
      if (canceled || details?.name !== 'WaitForJob' || !record.input.includes('canceled.mp4')) return;
      const id = (JSON.parse(details.input ?? '{}') as { job?: { id?: string } }).job?.id;
      canceled = et.send(new CancelJobCommand({ Id: id }));
    });

    // Act
    const { record, notification } = await run(key).finally(unsubscribe);

    // Assess
    await expect(canceled).resolves.toBeDefined();
    expect(record.status).toBe('FAILED');
    expect(notification.status).toBe('FAILED');
    expect(notification.error).toMatchObject({ code: 'TranscodeJobCanceledError', step: 'PollJob' });
    expect(notification.error?.message).toContain('was canceled');
    expect(notifications.filter((n) => n.execution.name === record.name)).toHaveLength(1);
    expect(await leftoversOf(stack, record)).toEqual([]);
    expect(await queueDepth(sqs, stack.config.dlqUrl)).toBe(0);
  });

  it('leaves no plaintext key anywhere in the data directory', async () => {
    // Act
    const scan = await scanDataDirForKeys(stack, notifications);

    // Assess: both failed jobs had a source and a playback key to look for
    expect(scan.keysRecovered).toBeGreaterThanOrEqual(4);
    expect(scan.undecryptable).toBe(0);
    expect(scan.hits).toEqual([]);
  });
});
