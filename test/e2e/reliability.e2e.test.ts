/**
 * Reliability on the embedded stack: a storm of duplicate S3 events for one object version, a new version of the same
 * key, and the small chaos run (faults at 20%, bad inputs, duplicate deliveries, leak scan). One stack for the file:
 * the SDK clients in lib/ resolve their endpoints once per process.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  type ChaosReport,
  DEFAULT_FAULT_SPEC,
  queueDepth,
  runChaos,
  SMALL_PRESET,
  s3EventFor,
  sendCopies,
} from '../../bench/chaos/run.js';
import { transcodeJobsByExecution } from '../../bench/chaos/verify.js';
import type { Stack } from '../../local/stack/index.js';
import { uploadFile } from '../../local/stack/upload.js';
import { untilQueueDrained } from '../support/e2e-checks.js';
import { type E2eStack, startE2eStack, stopE2eStack } from '../support/e2e-stack.js';
import { FFMPEG } from '../support/ffmpeg.js';

jest.setTimeout(180_000);

const COPIES = 120;

function transcoderJobsFor(stack: Stack, executionName: string): number {
  return transcodeJobsByExecution(stack.dataDir).get(executionName) ?? 0;
}

describe('reliability on the local stack', () => {
  let e2e: E2eStack;
  let stack: Stack;
  let sqs: SQSClient;
  let clip: Buffer;
  const notified = (key: string) => e2e.notifications.filter((n) => n.source?.key === key);

  beforeAll(async () => {
    // Elastic Transcoder: its CreateJob goes out without SDK retries, so the scheduled CreateJob throttles of the
    // default fault spec are guaranteed to reach the state machine as retries (MediaConvert's client token lets the
    // SDK absorb them). `npm run chaos -- --backend mediaconvert` runs the same faults against MediaConvert.
    e2e = await startE2eStack('reliability', { backend: 'elastictranscoder' });
    ({ stack, sqs, clip } = e2e);
  });

  afterAll(() => stopE2eStack(e2e));

  describe('a storm of duplicate S3 events', () => {
    const key = 'incoming/reliability/storm ü a+b & 100%.mp4';
    let firstName: string;

    it(`starts one execution, one transcode job and one notification for ${COPIES} concurrent copies of one event`, async () => {
      // Prepare: the object's own event starts the workflow; its copies arrive while it runs
      const since = Date.now();
      await uploadFile(stack.s3, { bucket: stack.config.bucket, key, body: clip });
      const arn = await stack.waitForExecutionStart(key, 30_000, since);
      const event = s3EventFor(stack, arn, clip.length);

      // Act
      await sendCopies(sqs, stack.config.queueUrl, event, COPIES);
      const record = await stack.sfn.waitForExecution(arn, 90_000);
      await stack.waitForNotification(record.name, 30_000);
      const depth = await untilQueueDrained(sqs, stack.config.queueUrl, 60_000);
      await new Promise((r) => setTimeout(r, 1500));
      firstName = record.name;

      // Assess
      expect(depth).toBe(0);
      expect(await queueDepth(sqs, stack.config.dlqUrl)).toBe(0);
      expect(stack.executionsFor(key).map((r) => r.name)).toEqual([record.name]);
      expect(record.status).toBe('SUCCEEDED');
      expect(transcoderJobsFor(stack, record.name)).toBe(1);
      expect(notified(key).map((n) => [n.status, n.execution.name])).toEqual([['SUCCEEDED', record.name]]);
    });

    it('starts a new execution for a new version of the same key', async () => {
      // Prepare
      const since = Date.now();

      // Act
      await uploadFile(stack.s3, { bucket: stack.config.bucket, key, body: clip });
      const second = await stack.waitForExecution(key, 90_000, since);
      const notification = await stack.waitForNotification(second.name, 30_000);

      // Assess
      expect(second.name).not.toBe(firstName);
      expect(second.status).toBe('SUCCEEDED');
      expect(notification.status).toBe('SUCCEEDED');
      expect(stack.executionsFor(key).map((r) => r.name)).toEqual([firstName, second.name]);
      expect(transcoderJobsFor(stack, second.name)).toBe(1);
    });
  });

  describe('the small chaos run with 20% faults', () => {
    let report: ChaosReport;

    beforeAll(async () => {
      report = await runChaos({
        ...SMALL_PRESET,
        stack,
        ffmpegPath: FFMPEG,
        // The chaos default: 20% on every operation (including the transcoder's own KMS/S3 calls) plus resets.
        faults: DEFAULT_FAULT_SPEC,
      });
    });

    it('transcodes every good input, byte-correct, exactly once', () => {
      const good = report.results.filter((r) => r.kind === 'good');
      expect(good).toHaveLength(SMALL_PRESET.jobs);
      expect(
        good.map((r) => [r.key, r.status, r.verified, r.executions, r.transcodeJobs, r.notifications]),
      ).toEqual(good.map((r) => [r.key, 'SUCCEEDED', true, 1, 1, 1]));
    });

    it('ends every bad input in one failure notification with its error code and a message', () => {
      const bad = report.results.filter((r) => r.kind === 'bad');
      expect(bad.map((r) => [r.label, r.status, r.errorCode])).toEqual([
        ['zero-byte object', 'FAILED', 'SourceEmptyError'],
        ['text file named .mp4', 'FAILED', 'TranscodeJobFailedError'],
        ['truncated mp4 (no moov atom)', 'FAILED', 'TranscodeJobFailedError'],
      ]);
      for (const r of bad) expect(r.errorMessage?.length).toBeGreaterThan(10);
    });

    it('loses nothing, doubles nothing and leaks no key, with faults injected and retried', () => {
      expect(report.problems).toEqual([]);
      expect({ lost: report.lost, duplicated: report.duplicated, leaks: report.leaks }).toEqual({
        lost: 0,
        duplicated: 0,
        leaks: 0,
      });
      expect(report.faultsInjected).toBeGreaterThan(0);
      expect(report.retries).toBeGreaterThan(0);
      expect(report.retriesByError.TranscoderThrottledError).toBeGreaterThan(0);
      // The scan had real keys to look for: a source and a playback key per transcoded job at least.
      expect(report.keysRecovered).toBeGreaterThanOrEqual(2 * SMALL_PRESET.jobs);
      expect(report.scanned.files).toBeGreaterThan(0);
      expect(report.scanned.objects).toBeGreaterThan(0);
      expect(report.openMultipartUploads).toBe(0);
      expect(report.leftovers).toEqual([]);
      expect(report.ingestDlqDepth).toBe(0);
    });
  });
});
