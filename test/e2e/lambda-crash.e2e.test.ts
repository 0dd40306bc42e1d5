/**
 * The encrypt Lambda killed mid-way: EncryptSource invocations die part-way (`lambda:encryptSource:crash`),
 * the state machine retries them on Lambda.Unknown from the last checkpoint it received, and the job still ends with
 * an encrypted copy openssl restores byte for byte and no multipart upload left open. One stack for the file.
 */
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { EncryptionModeSchema } from '../../lib/contracts.js';
import type { ExecutionRecord, HistoryEvent } from '../../local/sfn/index.js';
import type { Notification, Stack } from '../../local/stack/index.js';
import { uploadFile } from '../../local/stack/upload.js';
import { bodyOf, kmsClientFor, openUploads, paddedMp4 } from '../support/e2e-checks.js';
import { type E2eStack, startE2eStack, stopE2eStack } from '../support/e2e-stack.js';
import { opensslDecrypt } from '../support/openssl.js';

jest.setTimeout(180_000);

const MiB = 1024 * 1024;
const ENCRYPT_TIMEOUT_MS = 900_000;

type Scheduled = { lambdaFunctionScheduledEventDetails?: { resource?: string; input?: string } };
type Failed = { lambdaFunctionFailedEventDetails?: { error?: string; cause?: string } };
type Retried = { evaluationFailedEventDetails?: { state?: string; error?: string } };

describe('an EncryptSource invocation killed mid-way', () => {
  let e2e: E2eStack;
  let stack: Stack;
  let kms: KMSClient;
  let source: Buffer;
  let record: ExecutionRecord;
  let notification: Notification;
  let history: HistoryEvent[];
  const createdUploads: string[] = [];
  const key = 'incoming/crash/killed mid-way.mp4';

  beforeAll(async () => {
    e2e = await startE2eStack('crash', {
      env: { PART_SIZE_MIB: '5', TIME_BUDGET_MARGIN_MS: String(ENCRYPT_TIMEOUT_MS) },
      onS3Request: (r) => {
        if (r.operation === 'CreateMultipartUpload' && r.key?.startsWith('encrypted/crash/'))
          createdUploads.push(r.key);
      },
    });
    stack = e2e.stack;
    // Four 5 MiB parts. A time-budget margin as long as the timeout makes every invocation yield after the one part
    // a call always does: one checkpoint per part, so the 3rd invocation always has one to resume.
    source = paddedMp4(e2e.clip, 18 * MiB);
    kms = kmsClientFor(stack);
    // The 1st invocation dies before any checkpoint exists, the 3rd after one was returned.
    stack.faults.add({ service: 'lambda', operation: 'encryptSource', kind: 'crash', schedule: [1, 3] });

    const since = Date.now();
    await uploadFile(stack.s3, { bucket: stack.config.bucket, key, body: source });
    record = await stack.waitForExecution(key, 150_000, since);
    notification = await stack.waitForNotification(record.name, 30_000);
    history = stack.sfn.getExecutionHistory(record.executionArn);
  });

  afterAll(() => stopE2eStack(e2e, kms));

  it('still completes the job', () => {
    // Assess
    expect(record.status).toBe('SUCCEEDED');
    expect(notification).toMatchObject({ status: 'SUCCEEDED', source: { key, size: source.length } });
    expect(
      stack.faults.stats().find((s) => s.service === 'lambda' && s.operation === 'encryptSource'),
    ).toMatchObject({
      injected: 2,
    });
  });

  it('shows each killed invocation as Lambda.Unknown followed by a retry in the execution history', () => {
    // Act
    const failures = history
      .filter((e) => e.type === 'LambdaFunctionFailed')
      .map((e) => (e as Failed).lambdaFunctionFailedEventDetails);
    const retries = history
      .filter((e) => e.type === 'StateRetried')
      .map((e) => (e as Retried).evaluationFailedEventDetails);

    // Assess
    expect(failures.map((f) => f?.error)).toEqual(['Lambda.Unknown', 'Lambda.Unknown']);
    for (const f of failures) expect(f?.cause).toContain('Runtime.ExitError');
    expect(retries.map((r) => [r?.state, r?.error])).toEqual([
      ['EncryptSource', 'Lambda.Unknown'],
      ['EncryptSource', 'Lambda.Unknown'],
    ]);
  });

  it('retries from the last checkpoint it received rather than from the start', () => {
    // Prepare: the input of every EncryptSource invocation, in order
    const inputs = history
      .map((e) => (e as Scheduled).lambdaFunctionScheduledEventDetails)
      .filter((d) => d?.resource?.endsWith('-encryptSource'))
      .map((d) => JSON.parse(d?.input ?? '{}') as { encrypt?: { uploadId: string; nextPartNumber: number } });

    // Assess: #1 died with no checkpoint, #2 started over; #3 died after #2's checkpoint and #4 got it again
    expect(inputs.length).toBeGreaterThanOrEqual(4);
    expect([inputs[0]?.encrypt, inputs[1]?.encrypt]).toEqual([undefined, undefined]);
    expect(inputs[2]?.encrypt?.nextPartNumber).toBeGreaterThan(1);
    expect(inputs[3]?.encrypt).toEqual(inputs[2]?.encrypt);
  });

  it('stores an encrypted copy that openssl restores to the uploaded bytes', async () => {
    // Prepare
    const encrypted = notification.encrypted;
    if (!encrypted) throw new Error('the success notification has no encrypted object');
    const ciphertext = await bodyOf(stack, encrypted.key);
    const unwrapped = await kms.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(encrypted.wrappedKey ?? '', 'base64'),
        EncryptionContext: { service: 'elastictranscoder.amazonaws.com' },
      }),
    );
    const dataKey = Buffer.from(unwrapped.Plaintext ?? new Uint8Array());

    // Act
    const plain = opensslDecrypt(
      EncryptionModeSchema.parse(encrypted.mode),
      dataKey,
      Buffer.from(encrypted.initializationVector, 'base64'),
      ciphertext,
    );

    // Assess
    expect(ciphertext.length).toBeGreaterThan(2 * 5 * MiB);
    expect(plain.equals(source)).toBe(true);
  });

  it('leaves no multipart upload open, including the one the first killed invocation had created', async () => {
    // Act
    const open = await openUploads(stack);

    // Assess: the killed first invocation had started an upload no checkpoint ever named
    expect(createdUploads.length).toBeGreaterThanOrEqual(2);
    expect(open).toEqual([]);
  });
});
