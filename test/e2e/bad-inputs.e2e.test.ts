/**
 * Bad inputs on one embedded stack, each through the real workflow (S3 upload → SQS → starter → Step
 * Functions → handlers → local KMS / S3 / Elastic Transcoder): one failure notification with a clear code, step and
 * message, nothing left in the queues, no open upload and nothing half-written. Awkward key names succeed, a folder
 * marker starts nothing, a poison message ends in the DLQ, and the data directory holds no plaintext key afterwards.
 * The transcoder-side cases that need a busy transcoder (Canceled, poll deadline) are in
 * bad-inputs-slow-transcoder.e2e.test.ts.
 */
import { DisableKeyCommand, EnableKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { queueDepth } from '../../bench/chaos/run.js';
import type { S3RequestRecord } from '../../local/s3/index.js';
import type { ExecutionRecord, HistoryEvent } from '../../local/sfn/index.js';
import type { Notification, Stack } from '../../local/stack/index.js';
import { uploadFile } from '../../local/stack/upload.js';
import {
  assetOf,
  kmsClientFor,
  leftoversOf,
  paddedMp4,
  rewriteObject,
  scanDataDirForKeys,
  untilQueueDrained,
} from '../support/e2e-checks.js';
import { type E2eStack, runCase, startE2eStack, stopE2eStack } from '../support/e2e-stack.js';

jest.setTimeout(120_000);

const MiB = 1024 * 1024;
const MAX_SOURCE_BYTES = 24 * MiB;

interface Outcome {
  record: ExecutionRecord;
  notification: Notification;
}

describe('bad inputs on the local stack', () => {
  let e2e: E2eStack;
  let stack: Stack;
  let sqs: SQSClient;
  let kms: KMSClient;
  let clip: Buffer;
  let notifications: Notification[];
  const s3Listeners = new Set<(r: S3RequestRecord) => void>();

  const run = (key: string, act: () => Promise<unknown>): Promise<Outcome> => runCase(e2e, key, act);
  const upload = (key: string, body: Buffer) =>
    uploadFile(stack.s3, { bucket: stack.config.bucket, key, body });
  const notificationsOf = (record: ExecutionRecord) =>
    notifications.filter((n) => n.execution.name === record.name);

  /** What every bad input must end in: one failure notification and nothing left behind. */
  async function expectCleanFailure(outcome: Outcome, code: string, step: string): Promise<void> {
    const { record, notification } = outcome;
    expect(record.status).toBe('FAILED');
    expect(notification.status).toBe('FAILED');
    expect(notification.error).toMatchObject({ code, step });
    expect(notification.error?.message.length).toBeGreaterThan(20);
    expect(notificationsOf(record)).toHaveLength(1);
    expect(await leftoversOf(stack, record)).toEqual([]);
    expect(await queueDepth(sqs, stack.config.queueUrl)).toBe(0);
    expect(await queueDepth(sqs, stack.config.dlqUrl)).toBe(0);
  }

  beforeAll(async () => {
    // One 5 MiB part per EncryptSource invocation (a time-budget margin as long as the function's timeout), so a
    // replacement after the first UploadPart is met by the next invocation's first read.
    e2e = await startE2eStack('bad-inputs', {
      env: {
        MAX_SOURCE_BYTES: String(MAX_SOURCE_BYTES),
        PART_SIZE_MIB: '5',
        TIME_BUDGET_MARGIN_MS: '900000',
      },
      onS3Request: (r) => {
        for (const l of s3Listeners) l(r);
      },
    });
    ({ stack, sqs, clip, notifications } = e2e);
    kms = kmsClientFor(stack);
  });

  afterAll(() => stopE2eStack(e2e, kms));

  it('fails an object over the size limit at ValidateSource', async () => {
    // Act
    const key = 'incoming/bad/too large.mp4';
    const outcome = await run(key, () => upload(key, paddedMp4(clip, MAX_SOURCE_BYTES + 1)));

    // Assess
    await expectCleanFailure(outcome, 'SourceTooLargeError', 'ValidateSource');
    expect(outcome.notification.error?.message).toContain(`maximum of ${MAX_SOURCE_BYTES} bytes`);
  });

  it('fails an object deleted before processing at ValidateSource', async () => {
    // Act: the bucket is versioned (as deployed), so "deleted" means its version is deleted, not hidden by a marker
    const key = 'incoming/bad/deleted.mp4';
    const outcome = await run(key, async () => {
      await upload(key, clip);
      const head = await stack.s3.send(new HeadObjectCommand({ Bucket: stack.config.bucket, Key: key }));
      await stack.s3.send(
        new DeleteObjectCommand({ Bucket: stack.config.bucket, Key: key, VersionId: head.VersionId }),
      );
    });

    // Assess
    await expectCleanFailure(outcome, 'SourceNotFoundError', 'ValidateSource');
  });

  it('transcodes each version of an object replaced during encryption from its own bytes', async () => {
    // Prepare: four 5 MiB parts; the replacement lands as the first part is uploaded
    const key = 'incoming/bad/replaced.mp4';
    const encryptedPrefix = 'encrypted/bad/replaced.mp4.';
    let replaced: Promise<void> | undefined;
    const onRequest = (r: S3RequestRecord) => {
      if (replaced || r.operation !== 'UploadPart' || !r.key?.startsWith(encryptedPrefix)) return;
      replaced = upload(key, clip);
    };
    s3Listeners.add(onRequest);

    // Act
    const since = Date.now();
    const first = await run(key, () => upload(key, paddedMp4(clip, 20 * MiB))).finally(() =>
      s3Listeners.delete(onRequest),
    );
    await replaced;
    const second = await stack.waitForExecution(key, 90_000, first.record.startDate + 1);
    const secondNotification = await stack.waitForNotification(second.name, 30_000);
    await untilQueueDrained(sqs, stack.config.queueUrl, 30_000);

    // Assess: in a versioned bucket every read is pinned to the event's version, so the replacement cannot change
    // what the first execution encrypts (an unversioned bucket's ETag pin fails it instead: SourceChangedError,
    // covered by the ranged-reader tests)
    expect(first.record.startDate).toBeGreaterThanOrEqual(since);
    expect(first.record.status).toBe('SUCCEEDED');
    expect(first.notification).toMatchObject({ status: 'SUCCEEDED', source: { key } });
    expect(first.notification.source.size).toBeGreaterThan(clip.length);
    expect(second.name).not.toBe(first.record.name);
    expect(secondNotification).toMatchObject({ status: 'SUCCEEDED', source: { key, size: clip.length } });
    // Each execution deleted its own version, by id: the other's job was not disturbed and no delete marker is left.
    const versions = await stack.s3.send(
      new ListObjectVersionsCommand({ Bucket: stack.config.bucket, Prefix: key }),
    );
    expect([versions.Versions ?? [], versions.DeleteMarkers ?? []]).toEqual([[], []]);
    expect([first.notification, secondNotification].map((n) => n.source.retention)).toEqual([
      { policy: 'delete', deleted: true, versionId: first.notification.source.versionId },
      { policy: 'delete', deleted: true, versionId: secondNotification.source.versionId },
    ]);
  });

  it('fails at GenerateKeys while the KMS key is disabled', async () => {
    // Prepare
    const key = 'incoming/bad/key disabled.mp4';
    await kms.send(new DisableKeyCommand({ KeyId: stack.config.kmsKeyId }));

    // Act
    const outcome = await run(key, () => upload(key, clip)).finally(() =>
      kms.send(new EnableKeyCommand({ KeyId: stack.config.kmsKeyId })),
    );

    // Assess
    await expectCleanFailure(outcome, 'KmsKeyUnavailableError', 'GenerateKeys');
    expect(outcome.notification.error?.message).toMatch(/disabled/i);
  });

  it('fails a job whose encrypted copy was tampered with before the transcoder read it', async () => {
    // Prepare: the first SubmitJob attempts are throttled (SDK and state-machine retries), which holds the job back
    // while the encrypted copy is rewritten with one bit flipped in its second-to-last AES block — under CBC that
    // flips the padding byte of the last block, so decryption fails deterministically (a flip elsewhere in an
    // unauthenticated CBC/CTR ciphertext only garbles plaintext, and can go unnoticed by the transcoder).
    const key = 'incoming/bad/tampered.mp4';
    const reads: number[] = [];
    let tampered: Promise<number> | undefined;
    const onRequest = (r: S3RequestRecord) => {
      if (r.operation === 'GetObject' && r.key?.startsWith('encrypted/bad/tampered.mp4.'))
        reads.push(Date.now());
    };
    const onEvent = (record: ExecutionRecord, event: HistoryEvent) => {
      const details = (event as { stateEnteredEventDetails?: { name?: string } }).stateEnteredEventDetails;
      if (tampered || details?.name !== 'WrapKey' || !record.input.includes('tampered.mp4')) return;
      tampered = rewriteObject(stack, assetOf(record).encryptedKey, (body) => {
        const copy = Buffer.from(body);
        copy[copy.length - 17] = (copy[copy.length - 17] ?? 0) ^ 0xff;
        return copy;
      }).then(() => Date.now());
    };
    s3Listeners.add(onRequest);
    const unsubscribe = stack.onExecutionEvent(onEvent);
    stack.faults.add({
      service: 'transcoder',
      operation: 'CreateJob',
      kind: 'throttle',
      schedule: [1, 2, 3, 4],
    });

    // Act
    const outcome = await run(key, () => upload(key, clip)).finally(() => {
      unsubscribe();
      s3Listeners.delete(onRequest);
      stack.faults.clear();
    });
    const tamperedAt = await tampered;

    // Assess: the transcoder's read (the last one) came after the rewrite
    expect(tamperedAt).toBeDefined();
    expect(reads.at(-1)).toBeGreaterThan(tamperedAt ?? Number.POSITIVE_INFINITY);
    await expectCleanFailure(outcome, 'TranscodeJobFailedError', 'PollJob');
    // Elastic Transcoder's code for an undecryptable input is 4016; MediaConvert's (the default) is 1010.
    expect(outcome.notification.error?.message).toMatch(/code (4016|1010)\b.*decrypt/);
  });

  describe('awkward key names', () => {
    const keys = [
      'incoming/odd/with spaces in the name.mp4',
      'incoming/odd/ünïcødé 日本語 clip.mp4',
      'incoming/odd/a+b=c.mp4',
      'incoming/odd/salt & pepper 100% real.mp4',
      `incoming/odd/${'very-long-name-'.repeat(64)}end.mp4`,
    ];
    let outcomes: Outcome[];

    beforeAll(async () => {
      const since = Date.now();
      await Promise.all(keys.map((key) => upload(key, clip)));
      outcomes = await Promise.all(
        keys.map(async (key) => {
          const record = await stack.waitForExecution(key, 90_000, since);
          return { record, notification: await stack.waitForNotification(record.name, 30_000) };
        }),
      );
      await untilQueueDrained(sqs, stack.config.queueUrl, 30_000);
    });

    it('transcodes each one', () => {
      // Assess
      expect(keys[4]?.length).toBeGreaterThan(960);
      expect(outcomes.map((o) => [o.notification.source.key, o.notification.status])).toEqual(
        keys.map((key) => [key, 'SUCCEEDED']),
      );
    });

    it('writes every listed output under the asset path derived from the key, and each one exists', async () => {
      for (const { record, notification } of outcomes) {
        // Prepare
        const prefix = assetOf(record).outputKeyPrefix;
        const listed = [
          ...notification.outputs.map((o) => o.key),
          ...notification.playlists.map((p) => p.key),
        ];

        // Act
        const missing: string[] = [];
        for (const key of listed) {
          await stack.s3
            .send(new HeadObjectCommand({ Bucket: stack.config.bucket, Key: key }))
            .catch(() => missing.push(key));
        }

        // Assess
        expect(listed.length).toBeGreaterThan(0);
        expect(listed.filter((k) => !k.startsWith(prefix))).toEqual([]);
        expect(missing).toEqual([]);
      }
    });
  });

  it('starts nothing for a folder marker', async () => {
    // Prepare
    const key = 'incoming/odd/a folder/';
    const before = notifications.length;

    // Act
    await stack.s3.send(
      new PutObjectCommand({ Bucket: stack.config.bucket, Key: key, Body: Buffer.alloc(0) }),
    );
    await new Promise((r) => setTimeout(r, 3000));
    const depth = await untilQueueDrained(sqs, stack.config.queueUrl, 30_000);

    // Assess
    expect(depth).toBe(0);
    expect(stack.executionsFor(key)).toEqual([]);
    expect(notifications.length).toBe(before);
    expect(await queueDepth(sqs, stack.config.dlqUrl)).toBe(0);
  });

  it('moves a poison message to the DLQ after the queue’s receive limit instead of retrying it forever', async () => {
    // Prepare
    const body = '{"Records": [ this is not JSON';

    // Act
    await sqs.send(new SendMessageCommand({ QueueUrl: stack.config.queueUrl, MessageBody: body }));
    const deadline = Date.now() + 60_000;
    let dead: { Body?: string; ReceiptHandle?: string; Attributes?: Record<string, string> } | undefined;
    while (!dead && Date.now() < deadline) {
      const got = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: stack.config.dlqUrl,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      dead = got.Messages?.[0];
    }
    if (dead?.ReceiptHandle)
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: stack.config.dlqUrl, ReceiptHandle: dead.ReceiptHandle }),
      );

    // Assess
    expect(dead?.Body).toBe(body);
    expect(Number(dead?.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(3);
    expect(await queueDepth(sqs, stack.config.queueUrl)).toBe(0);
  });

  it('leaves no plaintext key anywhere in the data directory', async () => {
    // Act: stops the stack and scans its data directory (S3 objects included)
    const succeeded = notifications.filter((n) => n.status === 'SUCCEEDED').length;
    const scan = await scanDataDirForKeys(stack, notifications);

    // Assess: the scan had real keys to look for (a source and a playback key per success at least)
    expect(succeeded).toBeGreaterThanOrEqual(6);
    expect(scan.keysRecovered).toBeGreaterThanOrEqual(2 * succeeded);
    expect(scan.undecryptable).toBe(0);
    expect(scan.files).toBeGreaterThan(0);
    expect(scan.hits).toEqual([]);
  });
});
