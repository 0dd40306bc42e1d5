import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Checkpoint, EncryptionMode } from '../../lib/contracts.js';
import { ciphertextSize } from '../../lib/crypto/aes.js';
import {
  completeEncryptedUpload,
  type EncryptToMultipartOptions,
  encryptToMultipart,
  MIN_PART_SIZE,
} from '../../lib/encrypt/engine.js';
import { SourceChangedError } from '../../lib/errors.js';
import { FaultInjector } from '../../local/faults.js';
import type { S3Gateway } from '../../local/s3/index.js';
import { startTestGateway } from '../support/gateway.js';
import { opensslEncrypt } from '../support/openssl.js';

const PART = MIN_PART_SIZE;

/** Sources above the 11 MiB single-request limit go in through multipart, as real uploads of that size do. */
async function putSource(s3: S3Client, key: string, data: Buffer): Promise<{ etag: string; size: number }> {
  if (data.length <= PART) {
    const out = await s3.send(new PutObjectCommand({ Bucket: 'media', Key: key, Body: data }));
    return { etag: out.ETag ?? '', size: data.length };
  }
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'media', Key: key }));
  const parts = [];
  for (let offset = 0, n = 1; offset < data.length; offset += PART, n += 1) {
    const out = await s3.send(
      new UploadPartCommand({
        Bucket: 'media',
        Key: key,
        UploadId,
        PartNumber: n,
        Body: data.subarray(offset, offset + PART),
      }),
    );
    parts.push({ PartNumber: n, ETag: out.ETag });
  }
  const done = await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: 'media',
      Key: key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
  return { etag: done.ETag ?? '', size: data.length };
}

async function getBytes(s3: S3Client, key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: 'media', Key: key }));
  return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
}

describe('encryption engine against the local S3 gateway', () => {
  const faults = new FaultInjector();
  let gateway: S3Gateway;
  let s3: S3Client;

  beforeAll(async () => {
    ({ gateway, s3 } = await startTestGateway(['media'], faults));
  });
  afterAll(async () => {
    await gateway.stop();
  });

  async function encryptAll(
    key: string,
    data: Buffer,
    mode: EncryptionMode,
    dataKey: Buffer,
    iv: Buffer,
    extra: Partial<EncryptToMultipartOptions> = {},
  ): Promise<{ checkpoints: Checkpoint[]; encryptedKey: string }> {
    const source = { bucket: 'media', key, ...(await putSource(s3, key, data)) };
    const encryptedKey = `encrypted/${key}.enc`;
    const checkpoints: Checkpoint[] = [];
    let checkpoint: Checkpoint | undefined;
    do {
      checkpoint = await encryptToMultipart({
        s3,
        source,
        destination: { bucket: 'media', key: encryptedKey, metadata: { 'st-mode': mode } },
        key: dataKey,
        iv,
        mode,
        checkpoint,
        partSizeBytes: PART,
        readAhead: 2,
        uploadConcurrency: 3,
        shouldYield: () => false,
        ...extra,
      });
      checkpoints.push(checkpoint);
    } while (!checkpoint.done);
    await completeEncryptedUpload({
      s3,
      bucket: 'media',
      key: encryptedKey,
      uploadId: checkpoint.uploadId,
      expectedSize: ciphertextSize(mode, data.length),
    });
    return { checkpoints, encryptedKey };
  }

  it.each([
    ['aes-cbc-pkcs7', 32, PART - 1],
    ['aes-cbc-pkcs7', 16, PART],
    ['aes-ctr', 24, PART + 1],
    ['aes-cbc-pkcs7', 24, 2 * PART + 333],
  ] as const)(
    'stores the openssl ciphertext for %s with a %i-byte key and a %i-byte source',
    async (mode, keyBytes, size) => {
      // Prepare
      const data = randomBytes(size);
      const dataKey = randomBytes(keyBytes);
      const iv = randomBytes(16);
      // Act
      const { encryptedKey } = await encryptAll(
        `parity/${mode}-${keyBytes}-${size}`,
        data,
        mode,
        dataKey,
        iv,
      );
      // Assess
      const stored = await getBytes(s3, encryptedKey);
      expect(stored.equals(opensslEncrypt(mode, dataKey, iv, data))).toBe(true);
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'media', Key: encryptedKey }));
      expect(head.Metadata).toEqual({ 'st-mode': mode });
    },
  );

  it('resumes across invocations from the checkpoint alone and still matches openssl', async () => {
    // Prepare
    const data = randomBytes(3 * PART + 17);
    const dataKey = randomBytes(32);
    const iv = randomBytes(16);
    // Act
    const { checkpoints, encryptedKey } = await encryptAll('resume/cbc', data, 'aes-cbc-pkcs7', dataKey, iv, {
      readAhead: 0,
      shouldYield: () => true,
    });
    // Assess
    expect(checkpoints.map((c) => [c.nextPartNumber, c.done])).toEqual([
      [2, false],
      [3, false],
      [4, false],
      [5, true],
    ]);
    expect(JSON.stringify(checkpoints).length).toBeLessThan(2000);
    expect(
      (await getBytes(s3, encryptedKey)).equals(opensslEncrypt('aes-cbc-pkcs7', dataKey, iv, data)),
    ).toBe(true);
  });

  it('fails with SourceChangedError when the source is replaced between invocations and leaves no open upload', async () => {
    // Prepare
    const data = randomBytes(2 * PART + 1);
    const key = 'changing/source.mp4';
    const source = { bucket: 'media', key, ...(await putSource(s3, key, data)) };
    const base = {
      s3,
      source,
      destination: { bucket: 'media', key: 'encrypted/changing.enc', metadata: {} },
      key: randomBytes(16),
      iv: randomBytes(16),
      mode: 'aes-ctr' as const,
      partSizeBytes: PART,
      readAhead: 0,
      uploadConcurrency: 1,
      shouldYield: () => true,
    };
    const first = await encryptToMultipart(base);
    await s3.send(new PutObjectCommand({ Bucket: 'media', Key: key, Body: randomBytes(1024) }));
    // Act
    const second = encryptToMultipart({ ...base, checkpoint: first });
    // Assess
    await expect(second).rejects.toThrow(SourceChangedError);
    const open = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: 'media', Prefix: 'encrypted/changing' }),
    );
    expect(open.Uploads ?? []).toEqual([]);
  });

  it('retries injected SlowDown, InternalError and connection resets and still produces the openssl bytes', async () => {
    // Prepare
    const data = randomBytes(3 * PART + 5);
    const dataKey = randomBytes(16);
    const iv = randomBytes(16);
    faults.add({ service: 's3', operation: 'GetObject', kind: 'slowdown', schedule: [1, 3] });
    faults.add({ service: 's3', operation: 'UploadPart', kind: 'internal', schedule: [2] });
    faults.add({ service: 's3', operation: 'UploadPart', kind: 'reset', schedule: [4] });
    const before = faults.totalInjected();
    // Act
    const { encryptedKey } = await encryptAll('faults/ctr', data, 'aes-ctr', dataKey, iv);
    // Assess
    faults.clear();
    expect(faults.totalInjected() - before).toBe(4);
    expect((await getBytes(s3, encryptedKey)).equals(opensslEncrypt('aes-ctr', dataKey, iv, data))).toBe(
      true,
    );
  });
});
