import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Checkpoint, EncryptionMode } from '../../lib/contracts.js';
import { ciphertextSize } from '../../lib/crypto/aes.js';
import { completeEncryptedUpload, MIN_PART_SIZE } from '../../lib/encrypt/engine.js';
import type { S3ObjectRef } from '../../lib/s3/ranged-reader.js';
import { type S3Gateway, type S3RequestRecord, startS3Gateway } from '../../local/s3/index.js';
import { dataDirCredentials } from '../support/credentials.js';
import { CHECKPOINT_MARK, type EncryptChildJob } from '../support/encrypt-child.js';
import { opensslEncrypt } from '../support/openssl.js';

// Generous: these spawn openssl and child processes, whose speed depends on the machine's load.
jest.setTimeout(180_000);

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PART = MIN_PART_SIZE;
const BUCKET = 'media';
/** 7 parts; the child stops every 2 parts, so it is killed inside its second invocation with parts 3 and 4. */
const SIZE = 6 * PART + 100;
const PARTS_PER_INVOCATION = 2;

interface ChildRun {
  child: ChildProcess;
  checkpoints: Checkpoint[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(job: EncryptChildJob): ChildRun {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'run-ts.js'), join(ROOT, 'test', 'support', 'encrypt-child.ts'), JSON.stringify(job)],
    {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'ERROR', NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const checkpoints: Checkpoint[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith(CHECKPOINT_MARK))
        checkpoints.push(JSON.parse(line.slice(CHECKPOINT_MARK.length)) as Checkpoint);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return { child, checkpoints, exited };
}

const rangeStart = (r: S3RequestRecord) => Number(/bytes=(\d+)-/.exec(r.range ?? '')?.[1] ?? Number.NaN);
const partNumber = (r: S3RequestRecord) => Number(r.query.get('partNumber'));

describe('the encrypt step killed between parts resumes from its last checkpoint', () => {
  const requests: S3RequestRecord[] = [];
  /** Called by the gateway as each S3 request arrives, before anything is forwarded. */
  let onRequest: (r: S3RequestRecord) => void = () => undefined;
  let gateway: S3Gateway;
  let s3: S3Client;
  let source: S3ObjectRef;
  const data = randomBytes(SIZE);
  const { dataDir, credentials, auth } = dataDirCredentials();

  beforeAll(async () => {
    gateway = await startS3Gateway({
      auth,
      buckets: [BUCKET],
      onS3Request: (r) => {
        requests.push(r);
        onRequest(r);
      },
    });
    s3 = new S3Client({
      endpoint: gateway.endpoint,
      region: 'us-east-1',
      credentials: { ...credentials },
      forcePathStyle: true,
    });
    const key = 'incoming/kill-resume.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const parts = [];
    for (let offset = 0, n = 1; offset < SIZE; offset += PART, n += 1) {
      const body = data.subarray(offset, offset + PART);
      const out = await s3.send(
        new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: n, Body: body }),
      );
      parts.push({ PartNumber: n, ETag: out.ETag });
    }
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    source = { bucket: BUCKET, key, etag: done.ETag ?? '', size: SIZE };
  });

  afterAll(async () => {
    await gateway.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each(['aes-cbc-pkcs7', 'aes-ctr'] as const)(
    'SIGKILLs the %s step mid-invocation, resumes in a new process and stores the openssl bytes',
    async (mode: EncryptionMode) => {
      // Prepare
      const dataKey = randomBytes(32);
      const iv = randomBytes(16);
      const destination = { bucket: BUCKET, key: `encrypted/kill-resume.${mode}.enc` };
      const job: EncryptChildJob = {
        endpoint: gateway.endpoint,
        dataDir,
        source,
        destination,
        mode,
        keyHex: dataKey.toString('hex'),
        ivHex: iv.toString('hex'),
        partSize: PART,
        partsPerInvocation: PARTS_PER_INVOCATION,
      };
      const ours = (r: S3RequestRecord) =>
        r.key === destination.key || (r.key === source.key && r.operation === 'GetObject');
      const first = startChild(job);
      // Kill as the first part beyond the reported checkpoint's first part arrives: the process dies with that
      // invocation's parts in flight, after at least one of them (the checkpoint's own part) went out.
      onRequest = (r) => {
        const last = first.checkpoints.at(-1);
        if (
          r.operation === 'UploadPart' &&
          r.key === destination.key &&
          last &&
          partNumber(r) > last.nextPartNumber
        ) {
          first.child.kill('SIGKILL');
        }
      };
      const killed = await first.exited;
      onRequest = () => undefined;
      const resumeFrom = first.checkpoints.at(-1);
      const beforeResume = requests.filter(ours).length;

      // Act
      const second = startChild({ ...job, ...(resumeFrom ? { checkpoint: resumeFrom } : {}) });
      const resumed = await second.exited;
      const final = second.checkpoints.at(-1);
      const result = await completeEncryptedUpload({
        s3,
        ...destination,
        uploadId: final?.uploadId ?? '',
        expectedSize: ciphertextSize(mode, SIZE),
      });

      // Assess
      expect(killed).toEqual({ code: null, signal: 'SIGKILL' });
      expect(resumed).toEqual({ code: 0, signal: null });
      expect(resumeFrom).toMatchObject({
        nextPartNumber: 3,
        nextOffset: 2 * PART,
        done: false,
        invocations: 1,
      });
      expect(final).toMatchObject({ uploadId: resumeFrom?.uploadId, done: true, nextPartNumber: 8 });
      const phase1 = requests.filter(ours).slice(0, beforeResume);
      const phase2 = requests.filter(ours).slice(beforeResume);
      // Not from zero: the new process reads and uploads only what the checkpoint had not covered, once each.
      const reads2 = phase2.filter((r) => r.operation === 'GetObject').map(rangeStart);
      const uploads2 = phase2.filter((r) => r.operation === 'UploadPart').map(partNumber);
      expect(reads2.sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6].map((n) => n * PART));
      expect(uploads2.sort((a, b) => a - b)).toEqual([3, 4, 5, 6, 7]);
      expect(phase2.filter((r) => r.operation === 'CreateMultipartUpload')).toHaveLength(0);
      // Parts before the checkpoint went up exactly once, in the killed process.
      const uploads1 = phase1.filter((r) => r.operation === 'UploadPart').map(partNumber);
      expect(uploads1.filter((n) => n < 3).sort()).toEqual([1, 2]);
      expect(uploads1).toContain(4);
      const stored = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: destination.key }));
      const bytes = Buffer.from((await stored.Body?.transformToByteArray()) ?? []);
      expect(bytes.equals(opensslEncrypt(mode, dataKey, iv, data))).toBe(true);
      expect(result.size).toBe(ciphertextSize(mode, SIZE));
      expect(gateway.openUploads(BUCKET)).toEqual([]);
      const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }));
      expect(listed.Uploads ?? []).toEqual([]);
    },
  );
});
