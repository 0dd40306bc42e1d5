/**
 * The whole workflow on the embedded stack, over real HTTP: S3 upload → S3 event → SQS → starter → Step Functions →
 * handlers → KMS / S3 / the transcoder (MediaConvert with the SPEKE key provider, or Elastic Transcoder) → SNS
 * notification. One stack per test file (the SDK clients in lib/ resolve their endpoints, and the handlers their
 * configuration, once per process), so each backend has its own file calling `describeWorkflow`.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { s3EventFor, sendCopies, sqsClientFor } from '../../bench/chaos/run.js';
import type { TranscoderBackend } from '../../lib/config/transcoder.js';
import { EncryptionModeSchema } from '../../lib/contracts.js';
import { generateSampleClip } from '../../local/cli/sample.js';
import type { ExecutionRecord } from '../../local/sfn/index.js';
import {
  type Notification,
  type Stack,
  StackAlreadyRunningError,
  startStack,
} from '../../local/stack/index.js';
import { uploadFile } from '../../local/stack/upload.js';
import { untilQueueDrained } from './e2e-checks.js';
import { FFMPEG } from './ffmpeg.js';
import { opensslDecrypt } from './openssl.js';

const ROOT = resolve('.');
const execFileAsync = promisify(execFile);
const ET_CONTEXT = { service: 'elastictranscoder.amazonaws.com' };

const schema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'notification.v1.schema.json'), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: false });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validateNotification = ajv.compile(schema);

async function bodyOf(
  stack: Stack,
  key: string,
): Promise<{ bytes: Buffer; metadata: Record<string, string> }> {
  const got = await stack.s3.send(new GetObjectCommand({ Bucket: stack.config.bucket, Key: key }));
  const bytes = Buffer.from(
    await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
  return { bytes, metadata: got.Metadata ?? {} };
}

/** Every version and delete marker the bucket holds for exactly `key`. */
async function versionsOf(
  stack: Stack,
  key: string,
): Promise<{ versions: string[]; deleteMarkers: string[] }> {
  const out = await stack.s3.send(
    new ListObjectVersionsCommand({ Bucket: stack.config.bucket, Prefix: key }),
  );
  return {
    versions: (out.Versions ?? []).filter((v) => v.Key === key).map((v) => v.VersionId ?? ''),
    deleteMarkers: (out.DeleteMarkers ?? []).filter((m) => m.Key === key).map((m) => m.VersionId ?? ''),
  };
}

/** MPEG-TS packets are 188 bytes, each starting with the sync byte 0x47. */
function looksLikeTransportStream(bytes: Buffer): boolean {
  return bytes.length >= 3 * 188 && [0, 188, 376].every((offset) => bytes[offset] === 0x47);
}

export function describeWorkflow(backend: TranscoderBackend): void {
  describe(`secure-transcode workflow on the local stack (${backend})`, () => {
    let work: string;
    let stack: Stack;
    let kms: KMSClient;
    let clip: Buffer;
    let success: { record: ExecutionRecord; notification: Notification };
    let failure: { record: ExecutionRecord; notification: Notification; tookMs: number };

    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'st-e2e-'));
      const clipFile = join(work, 'clip.mp4');
      await generateSampleClip(FFMPEG, clipFile, 2, '160x120');
      clip = readFileSync(clipFile);
      stack = await startStack({ dataDir: join(work, 'data'), backend, fast: true, quiet: true });
      kms = new KMSClient({
        region: stack.config.region,
        credentials: stack.config.credentials,
        endpoint: stack.config.endpoints.kms,
      });

      const since = Date.now();
      await uploadFile(stack.s3, { bucket: stack.config.bucket, key: 'incoming/e2e clip.mp4', body: clip });
      const record = await stack.waitForExecution('incoming/e2e clip.mp4', 90_000, since);
      success = { record, notification: await stack.waitForNotification(record.name, 30_000) };

      const started = Date.now();
      await uploadFile(stack.s3, {
        bucket: stack.config.bucket,
        key: 'incoming/corrupt.mp4',
        body: Buffer.alloc(300_000, 0x5a),
      });
      const failed = await stack.waitForExecution('incoming/corrupt.mp4', 90_000, started);
      failure = {
        record: failed,
        notification: await stack.waitForNotification(failed.name, 30_000),
        tookMs: Date.now() - started,
      };
    }, 180_000);

    afterAll(async () => {
      kms?.destroy();
      await stack?.stop();
      rmSync(work, { recursive: true, force: true });
    });

    it('publishes a success notification that validates against the v1 schema', () => {
      // Assess
      expect(success.record.status).toBe('SUCCEEDED');
      expect(validateNotification(success.notification)).toBe(true);
      expect(validateNotification.errors ?? []).toEqual([]);
      expect(success.notification).toMatchObject({
        status: 'SUCCEEDED',
        source: { bucket: stack.config.bucket, key: 'incoming/e2e clip.mp4', size: clip.length },
        job: { backend, status: 'Complete' },
        execution: { name: success.record.name, arn: success.record.executionArn },
      });
      expect(JSON.stringify(success.notification)).not.toMatch(/plaintext/i);
    });

    it('records every notification in notifications.jsonl and as an EventBridge event', () => {
      // Act
      const lines = readFileSync(stack.config.notificationsFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      const events = readFileSync(stack.config.eventsFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      // The local MediaConvert sends its job state changes to the same EventBridge.
      const jobEvents = events.filter((e) => e.source === 'aws.mediaconvert');
      const notificationEvents = events.filter((e) => e.source !== 'aws.mediaconvert');

      // Assess
      expect(lines.map((n) => n.execution.name).sort()).toEqual(
        [failure.record.name, success.record.name].sort(),
      );
      expect(lines.every((n) => validateNotification(n))).toBe(true);
      expect(notificationEvents.map((e) => e.detail.execution.name).sort()).toEqual(
        [failure.record.name, success.record.name].sort(),
      );
      const successJob = jobEvents
        .filter((e) => e.detail.jobId === success.notification.job?.id)
        .map((e) => [e['detail-type'], e.detail.status]);
      expect(successJob).toEqual(
        backend === 'mediaconvert'
          ? [
              ['MediaConvert Job State Change', 'PROGRESSING'],
              ['MediaConvert Job State Change', 'COMPLETE'],
            ]
          : [],
      );
    });

    it('stores the source encrypted so that openssl, with the key unwrapped through KMS, restores the original bytes', async () => {
      // Prepare
      const encrypted = success.notification.encrypted;
      if (!encrypted) throw new Error('the success notification has no encrypted object');
      const { bytes } = await bodyOf(stack, encrypted.key);
      const unwrapped = await kms.send(
        new DecryptCommand({
          CiphertextBlob: Buffer.from(encrypted.wrappedKey ?? '', 'base64'),
          EncryptionContext: ET_CONTEXT,
        }),
      );
      const key = Buffer.from(unwrapped.Plaintext ?? new Uint8Array());

      // Act
      const decrypted = opensslDecrypt(
        EncryptionModeSchema.parse(encrypted.mode),
        key,
        Buffer.from(encrypted.initializationVector, 'base64'),
        bytes,
      );

      // Assess
      expect(bytes.equals(clip)).toBe(false);
      expect(bytes.includes(Buffer.from('ftyp'))).toBe(false);
      expect(decrypted.equals(clip)).toBe(true);
    });

    it('writes HLS segments that are unreadable without the key and decode with it', async () => {
      // Prepare
      const assetId = success.notification.playback?.assetId ?? '';
      const exportDir = stack.exportDirFor(assetId) ?? '';
      const variant = readdirSync(exportDir).find((f) => /\.m3u8$/.test(f) && f !== 'index.m3u8') ?? '';
      const playlist = readFileSync(join(exportDir, variant), 'utf8');
      const keyLine = playlist.split('\n').find((l) => l.startsWith('#EXT-X-KEY')) ?? '';
      const iv = /IV=0x([0-9a-fA-F]{32})/.exec(keyLine)?.[1] ?? '';
      const segment = playlist.split('\n').find((l) => l.endsWith('.ts')) ?? '';
      const encryptedSegment = readFileSync(join(exportDir, segment));
      const token = await stack.issueToken(assetId);
      const keyUrl = success.notification.playback?.keyUrl ?? '';

      // Act
      const refused = await fetch(keyUrl);
      const served = await fetch(`${keyUrl}?token=${encodeURIComponent(token)}`);
      const key = Buffer.from(await served.arrayBuffer());
      const decrypted = opensslDecrypt('aes-cbc-pkcs7', key, Buffer.from(iv, 'hex'), encryptedSegment);
      const decodedFile = join(work, 'segment.ts');
      writeFileSync(decodedFile, decrypted);
      const probe = execFileSync(
        FFMPEG,
        ['-hide_banner', '-nostdin', '-v', 'error', '-i', decodedFile, '-f', 'null', '-'],
        {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );

      // Assess
      expect(keyLine).toContain('METHOD=AES-128');
      expect(keyLine).toContain(`URI="${keyUrl}"`);
      expect(looksLikeTransportStream(encryptedSegment)).toBe(false);
      expect(refused.status).toBeGreaterThanOrEqual(400);
      expect(served.status).toBe(200);
      expect(key).toHaveLength(16);
      expect(looksLikeTransportStream(decrypted)).toBe(true);
      expect(probe).toBe('');
    });

    it('ends a corrupt input in a failure notification instead of hanging', () => {
      // Assess
      expect(failure.record).toMatchObject({ status: 'FAILED', error: 'TranscodeWorkflowFailed' });
      expect(validateNotification(failure.notification)).toBe(true);
      expect(failure.notification).toMatchObject({
        status: 'FAILED',
        source: { key: 'incoming/corrupt.mp4' },
        error: { code: expect.any(String), step: expect.any(String) },
      });
      expect(failure.tookMs).toBeLessThan(60_000);
    });

    it('deletes exactly the processed source version once the job succeeded, and says so', async () => {
      // Act
      const left = await versionsOf(stack, 'incoming/e2e clip.mp4');

      // Assess
      expect(success.notification.source.versionId).toEqual(expect.any(String));
      expect(success.notification.source.retention).toEqual({
        policy: 'delete',
        deleted: true,
        versionId: success.notification.source.versionId,
      });
      expect(left).toEqual({ versions: [], deleteMarkers: [] });
    });

    it('keeps the source of a failed job', async () => {
      // Prepare
      const versionId = failure.notification.source.versionId ?? '';

      // Act
      const head = await stack.s3.send(
        new HeadObjectCommand({
          Bucket: stack.config.bucket,
          Key: 'incoming/corrupt.mp4',
          VersionId: versionId,
        }),
      );

      // Assess
      expect(head.ContentLength).toBe(300_000);
      expect(failure.notification.source.retention).toEqual({ policy: 'delete', deleted: false, versionId });
      expect(await versionsOf(stack, 'incoming/corrupt.mp4')).toEqual({
        versions: [versionId],
        deleteMarkers: [],
      });
    });

    it('treats a redelivered event for the deleted source version as a duplicate: no execution, no notification', async () => {
      // Prepare
      const sqs = sqsClientFor(stack);
      const notified = readFileSync(stack.config.notificationsFile, 'utf8').trim().split('\n').length;

      // Act
      await sendCopies(
        sqs,
        stack.config.queueUrl,
        s3EventFor(stack, success.record.executionArn, clip.length),
        5,
      );
      const depth = await untilQueueDrained(sqs, stack.config.queueUrl, 30_000);
      const dlq = await untilQueueDrained(sqs, stack.config.dlqUrl, 1_000);
      sqs.destroy();

      // Assess
      expect([depth, dlq]).toEqual([0, 0]);
      expect(stack.executionsFor('incoming/e2e clip.mp4').map((r) => r.name)).toEqual([success.record.name]);
      expect(readFileSync(stack.config.notificationsFile, 'utf8').trim().split('\n')).toHaveLength(notified);
    });

    it('starts the workflow for an upload made with the AWS CLI', async () => {
      // Prepare
      const since = Date.now();
      const file = join(work, 'clip.mp4');
      const env = {
        ...process.env,
        AWS_ACCESS_KEY_ID: stack.config.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: stack.config.credentials.secretAccessKey,
        AWS_DEFAULT_REGION: stack.config.region,
      };

      // Act (asynchronously: the S3 endpoint the CLI talks to runs in this process)
      await execFileAsync(
        'aws',
        [
          '--endpoint-url',
          stack.config.endpoints.s3,
          's3',
          'cp',
          file,
          `s3://${stack.config.bucket}/incoming/from aws cli.mp4`,
        ],
        { env, timeout: 60_000 },
      );
      const record = await stack.waitForExecution('incoming/from aws cli.mp4', 60_000, since);
      const notification = await stack.waitForNotification(record.name, 30_000);

      // Assess
      expect(record.status).toBe('SUCCEEDED');
      expect(notification.source).toMatchObject({ key: 'incoming/from aws cli.mp4', size: clip.length });
    });

    it('refuses to start a second stack on the same data directory', async () => {
      // Act
      const second = startStack({ dataDir: stack.dataDir, quiet: true });

      // Assess
      await expect(second).rejects.toThrow(StackAlreadyRunningError);
      await expect(second).rejects.toThrow(`A local stack is already running on ${stack.dataDir}`);
    });

    it('shows retries and caught errors in the execution history', () => {
      // Act
      const history = stack.sfn.getExecutionHistory(failure.record.executionArn);

      // Assess
      expect(history.filter((e) => e.type === 'StateCaught').length).toBeGreaterThanOrEqual(1);
      expect(
        history.some(
          (e) =>
            e.type === 'TaskStateEntered' &&
            (e.stateEnteredEventDetails as { name: string }).name === 'CleanUp',
        ),
      ).toBe(true);
      expect(history.at(-1)?.type).toBe('ExecutionFailed');
    });
  });
}
