import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  type GetObjectCommandInput,
  ListPartsCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  type UploadPartCommandInput,
} from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { sdkStreamMixin } from '@smithy/util-stream';
import { mockClient } from 'aws-sdk-client-mock';
import { type Checkpoint, CheckpointSchema } from '../../../lib/contracts.js';
import {
  abortEncryptedUpload,
  choosePartSize,
  completeEncryptedUpload,
  type EncryptToMultipartOptions,
  encryptToMultipart,
  MAX_PARTS,
  MIN_PART_SIZE,
} from '../../../lib/encrypt/engine.js';
import { EncryptionFailedError, S3TransientError, SourceChangedError } from '../../../lib/errors.js';
import { opensslEncrypt } from '../../support/openssl.js';

const MiB = 1024 * 1024;
const s3mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'us-east-1' });

const sdkError = (name: string, status: number) =>
  new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });

/** An in-memory source behind GetObject (honouring Range) and a part store behind UploadPart. */
function fakeS3(source: Buffer, etag = '"src-etag"') {
  const parts = new Map<number, Buffer>();
  s3mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
  s3mock.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput) => {
    const [, a, b] = /bytes=(\d+)-(\d+)/.exec(input.Range ?? '') ?? [];
    const slice = source.subarray(Number(a), Number(b) + 1);
    return { ETag: etag, Body: sdkStreamMixin(Readable.from([Buffer.from(slice)])) };
  });
  s3mock.on(UploadPartCommand).callsFake(async (input: UploadPartCommandInput) => {
    parts.set(input.PartNumber ?? 0, Buffer.from(input.Body as Buffer));
    return { ETag: `"etag-${input.PartNumber}"` };
  });
  s3mock.on(AbortMultipartUploadCommand).resolves({});
  const assembled = () => Buffer.concat([...parts.entries()].sort(([a], [b]) => a - b).map(([, p]) => p));
  return { parts, assembled };
}

function options(
  source: Buffer,
  overrides: Partial<EncryptToMultipartOptions> = {},
): EncryptToMultipartOptions {
  return {
    s3,
    source: { bucket: 'in', key: 'incoming/a.mp4', etag: '"src-etag"', size: source.length },
    destination: { bucket: 'out', key: 'encrypted/a.mp4.enc', metadata: { 'st-mode': 'aes-cbc-pkcs7' } },
    key: Buffer.alloc(16, 7),
    iv: Buffer.alloc(16, 9),
    mode: 'aes-cbc-pkcs7',
    partSizeBytes: MIN_PART_SIZE,
    readAhead: 1,
    uploadConcurrency: 2,
    shouldYield: () => false,
    ...overrides,
  };
}

/** The checkpoint of a call that uploaded the first of two parts and yielded. */
const afterFirstPart = (): Checkpoint => ({
  uploadId: 'upload-1',
  partSize: MIN_PART_SIZE,
  nextPartNumber: 2,
  nextOffset: MIN_PART_SIZE,
  chainBlock: Buffer.alloc(16, 3).toString('base64'),
  bytesDone: MIN_PART_SIZE,
  done: false,
  invocations: 1,
});

describe('encryptToMultipart', () => {
  beforeEach(() => {
    s3mock.reset();
  });

  it('writes parts whose concatenation is the openssl ciphertext and returns a checkpoint without ETags', async () => {
    // Prepare
    const source = randomBytes(2 * MIN_PART_SIZE + 17);
    const fake = fakeS3(source);
    // Act
    const checkpoint = await encryptToMultipart(options(source));
    // Assess
    expect(
      fake
        .assembled()
        .equals(opensslEncrypt('aes-cbc-pkcs7', Buffer.alloc(16, 7), Buffer.alloc(16, 9), source)),
    ).toBe(true);
    expect(CheckpointSchema.strict().parse(checkpoint)).toEqual(checkpoint);
    expect(JSON.stringify(checkpoint)).not.toContain('etag');
    expect(checkpoint).toMatchObject({
      uploadId: 'upload-1',
      nextPartNumber: 4,
      done: true,
      bytesDone: source.length,
      invocations: 1,
    });
    expect(s3mock).toHaveReceivedCommandWith(CreateMultipartUploadCommand, {
      Bucket: 'out',
      Key: 'encrypted/a.mp4.enc',
      Metadata: { 'st-mode': 'aes-cbc-pkcs7' },
    });
    expect(s3mock).toHaveReceivedCommandWith(GetObjectCommand, { IfMatch: '"src-etag"' });
  });

  it('stops between parts when the budget is spent and resumes from the checkpoint', async () => {
    // Prepare
    const source = randomBytes(3 * MIN_PART_SIZE + 5);
    const fake = fakeS3(source);
    const key = Buffer.alloc(32, 1);
    const checkpoints: Checkpoint[] = [];
    // Act
    let checkpoint: Checkpoint | undefined;
    do {
      checkpoint = await encryptToMultipart(
        options(source, { key, mode: 'aes-ctr', readAhead: 0, checkpoint, shouldYield: () => true }),
      );
      checkpoints.push(checkpoint);
    } while (!checkpoint.done);
    // Assess
    expect(checkpoints.map((c) => c.nextPartNumber)).toEqual([2, 3, 4, 5]);
    expect(checkpoints.at(-1)?.invocations).toBe(4);
    expect(s3mock).toHaveReceivedCommandTimes(CreateMultipartUploadCommand, 1);
    expect(fake.assembled().equals(opensslEncrypt('aes-ctr', key, Buffer.alloc(16, 9), source))).toBe(true);
  });

  it('encrypts CBC across calls from the checkpoint chaining block, and matches openssl', async () => {
    // Prepare
    const source = randomBytes(5 * MIN_PART_SIZE + 7);
    const fake = fakeS3(source);
    const key = Buffer.alloc(32, 3);
    const nextParts: number[] = [];
    // Act
    let checkpoint: Checkpoint | undefined;
    do {
      let asked = 0;
      checkpoint = await encryptToMultipart(
        options(source, {
          key,
          uploadConcurrency: 3,
          checkpoint,
          shouldYield: () => ++asked >= 2,
        }),
      );
      nextParts.push(checkpoint.nextPartNumber);
    } while (!checkpoint.done);
    // Assess
    expect(nextParts).toEqual([3, 5, 7]);
    expect(fake.assembled().equals(opensslEncrypt('aes-cbc-pkcs7', key, Buffer.alloc(16, 9), source))).toBe(
      true,
    );
  });

  it('produces one padding block for a zero-byte CBC source and an empty part for CTR', async () => {
    // Prepare
    const empty = Buffer.alloc(0);
    const fake = fakeS3(empty);
    // Act
    await encryptToMultipart(options(empty));
    const cbc = fake.assembled();
    await encryptToMultipart(options(empty, { mode: 'aes-ctr' }));
    // Assess
    expect(cbc.equals(opensslEncrypt('aes-cbc-pkcs7', Buffer.alloc(16, 7), Buffer.alloc(16, 9), empty))).toBe(
      true,
    );
    expect(cbc.length).toBe(16);
    expect(fake.assembled().length).toBe(0);
    expect(s3mock).toHaveReceivedCommandTimes(GetObjectCommand, 0);
  });

  it('aborts the multipart upload it created when a part upload fails', async () => {
    // Prepare
    const source = randomBytes(MIN_PART_SIZE + 1);
    fakeS3(source);
    s3mock.on(UploadPartCommand).rejects(sdkError('AccessDenied', 403));
    // Act
    const run = encryptToMultipart(options(source));
    // Assess
    await expect(run).rejects.toThrow(EncryptionFailedError);
    expect(s3mock).toHaveReceivedCommandWith(AbortMultipartUploadCommand, {
      Bucket: 'out',
      UploadId: 'upload-1',
    });
  });

  it('fails with SourceChangedError when the source no longer matches its ETag (412) and aborts', async () => {
    // Prepare
    const source = randomBytes(MIN_PART_SIZE + 1);
    fakeS3(source);
    s3mock.on(GetObjectCommand).rejects(sdkError('PreconditionFailed', 412));
    // Act
    const run = encryptToMultipart(options(source));
    // Assess
    await expect(run).rejects.toThrow(SourceChangedError);
    expect(s3mock).toHaveReceivedCommandTimes(AbortMultipartUploadCommand, 1);
  });

  it('keeps the upload of a resumed call on a transient error so the state machine can retry', async () => {
    // Prepare
    const source = randomBytes(2 * MIN_PART_SIZE);
    fakeS3(source);
    s3mock.on(UploadPartCommand).rejects(sdkError('SlowDown', 503));
    const checkpoint = afterFirstPart();
    // Act
    const run = encryptToMultipart(options(source, { checkpoint }));
    // Assess
    await expect(run).rejects.toThrow(S3TransientError);
    expect(s3mock).toHaveReceivedCommandTimes(AbortMultipartUploadCommand, 0);
    expect(s3mock).toHaveReceivedCommandTimes(CreateMultipartUploadCommand, 0);
  });

  it('aborts the upload of a resumed call on a permanent error', async () => {
    // Prepare
    const source = randomBytes(2 * MIN_PART_SIZE);
    fakeS3(source);
    s3mock.on(GetObjectCommand).rejects(sdkError('NoSuchKey', 404));
    const checkpoint = afterFirstPart();
    // Act
    const run = encryptToMultipart(options(source, { checkpoint }));
    // Assess
    await expect(run).rejects.toThrow('NoSuchKey');
    expect(s3mock).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { UploadId: 'upload-1' });
  });
});

describe('choosePartSize', () => {
  it.each([
    [0, 8 * MiB],
    [1024 ** 3, 8 * MiB],
    [50 * 1024 ** 3, 8 * MiB],
    [100 * 1024 ** 3, 8 * MiB],
    [5 * 1024 ** 4, 8 * MiB],
    [3 * 1024 ** 3, 1],
  ])('keeps a %d-byte object within 10,000 block-aligned parts of at least 5 MiB', (size, configured) => {
    // Act
    const part = choosePartSize(size, configured);
    // Assess
    expect(part % 16).toBe(0);
    expect(part).toBeGreaterThanOrEqual(Math.max(MIN_PART_SIZE, configured));
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(MAX_PARTS);
  });

  it('grows the part size for a 100 GiB object', () => {
    // Act
    const part = choosePartSize(100 * 1024 ** 3, 8 * MiB);
    // Assess
    expect(part).toBe(11 * MiB);
  });
});

describe('completeEncryptedUpload', () => {
  beforeEach(() => {
    s3mock.reset();
  });

  it('completes from every page of ListParts', async () => {
    // Prepare
    s3mock
      .on(ListPartsCommand, { PartNumberMarker: undefined })
      .resolves({
        IsTruncated: true,
        NextPartNumberMarker: '2',
        Parts: [1, 2].map((n) => ({ PartNumber: n, ETag: `"e${n}"`, Size: 10 })),
      })
      .on(ListPartsCommand, { PartNumberMarker: '2' })
      .resolves({ IsTruncated: false, Parts: [{ PartNumber: 3, ETag: '"e3"', Size: 4 }] });
    s3mock.on(CompleteMultipartUploadCommand).resolves({ ETag: '"done-3"' });
    // Act
    const result = await completeEncryptedUpload({
      s3,
      bucket: 'out',
      key: 'k',
      uploadId: 'u',
      expectedSize: 24,
    });
    // Assess
    expect(result).toEqual({ etag: '"done-3"', size: 24 });
    expect(s3mock).toHaveReceivedCommandWith(CompleteMultipartUploadCommand, {
      UploadId: 'u',
      MultipartUpload: { Parts: [1, 2, 3].map((n) => ({ PartNumber: n, ETag: `"e${n}"` })) },
    });
  });

  it('aborts instead of completing when the parts do not add up to the expected size', async () => {
    // Prepare
    s3mock
      .on(ListPartsCommand)
      .resolves({ IsTruncated: false, Parts: [{ PartNumber: 1, ETag: '"e1"', Size: 10 }] });
    s3mock.on(AbortMultipartUploadCommand).resolves({});
    // Act
    const run = completeEncryptedUpload({ s3, bucket: 'out', key: 'k', uploadId: 'u', expectedSize: 32 });
    // Assess
    await expect(run).rejects.toThrow(EncryptionFailedError);
    expect(s3mock).toHaveReceivedCommandTimes(CompleteMultipartUploadCommand, 0);
    expect(s3mock).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { UploadId: 'u' });
  });

  it('aborts instead of completing when a part number is missing', async () => {
    // Prepare
    s3mock
      .on(ListPartsCommand)
      .resolves({ Parts: [1, 3].map((n) => ({ PartNumber: n, ETag: `"e${n}"`, Size: 5 })) });
    s3mock.on(AbortMultipartUploadCommand).resolves({});
    // Act
    const run = completeEncryptedUpload({ s3, bucket: 'out', key: 'k', uploadId: 'u' });
    // Assess
    await expect(run).rejects.toThrow('part 2 is missing');
  });
});

describe('abortEncryptedUpload', () => {
  it('treats an upload that is already gone as aborted', async () => {
    // Prepare
    s3mock.reset();
    s3mock.on(AbortMultipartUploadCommand).rejects(sdkError('NoSuchUpload', 404));
    // Act
    const run = abortEncryptedUpload({ s3, bucket: 'out', key: 'k', uploadId: 'u' });
    // Assess
    await expect(run).resolves.toBeUndefined();
  });
});
