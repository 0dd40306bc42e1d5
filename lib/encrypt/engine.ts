/**
 * The resumable streaming encryption engine. One call works until the object is done or `shouldYield`
 * says the time budget is spent, and returns a small checkpoint; the state machine loops on it and CompleteUpload
 * rebuilds the part list from ListParts. Parts are deterministic (same key, IV, part size → same bytes), so a part
 * number uploaded twice after a crash is harmless.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { Checkpoint, EncryptionMode } from '../contracts.js';
import { AES_BLOCK, assertKeyAndIv, ciphertextSize, createPartCipher } from '../crypto/aes.js';
import { EncryptionFailedError, isWorkflowError, sdkErrorInfo } from '../errors.js';
import { logger } from '../logger.js';
import {
  abortMultipartUpload,
  abortOrphanUploads,
  completeMultipartUpload,
  createMultipartUpload,
  listAllParts,
  MultipartWriter,
  translateS3WriteError,
} from '../s3/multipart.js';
import { type S3ObjectRef, S3RangedReader } from '../s3/ranged-reader.js';
import { runPartPipeline } from './pipeline.js';

const MiB = 1024 * 1024;
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;
export const MAX_PARTS = 10_000;

/**
 * The configured part size, raised to S3's 5 MiB minimum and, for large objects, to the next MiB that keeps the
 * object within S3's 10,000-part limit. Always a multiple of 16 so every CBC/CTR part boundary is block-aligned.
 */
export function choosePartSize(size: number, configured: number): number {
  const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;
  let part = roundUp(Math.max(configured, MIN_PART_SIZE), AES_BLOCK);
  if (Math.ceil(size / part) > MAX_PARTS) part = roundUp(Math.ceil(size / MAX_PARTS), MiB);
  if (part > MAX_PART_SIZE) {
    throw new EncryptionFailedError(
      `an object of ${size} bytes does not fit in ${MAX_PARTS} parts of at most 5 GiB`,
      {
        code: 'OBJECT_TOO_LARGE',
      },
    );
  }
  return part;
}

export interface EncryptToMultipartOptions {
  s3: S3Client;
  source: S3ObjectRef;
  destination: { bucket: string; key: string; metadata: Record<string, string>; contentType?: string };
  /** Plaintext data key (16/24/32 bytes). The caller owns it and zeroes it afterwards. */
  key: Buffer;
  iv: Buffer;
  mode: EncryptionMode;
  checkpoint?: Checkpoint | undefined;
  partSizeBytes: number;
  readAhead: number;
  uploadConcurrency: number;
  /** Checked before each new part (the first part of a call always runs, so every call makes progress). */
  shouldYield: () => boolean;
}

function assertResumable(cp: Checkpoint, size: number): void {
  const consistent =
    cp.partSize % AES_BLOCK === 0 &&
    cp.partSize >= MIN_PART_SIZE &&
    cp.nextOffset === (cp.nextPartNumber - 1) * cp.partSize &&
    cp.nextOffset <= Math.max(size, 0) + cp.partSize &&
    Buffer.from(cp.chainBlock, 'base64').length === AES_BLOCK;
  if (!consistent) {
    throw new EncryptionFailedError(
      `checkpoint for upload ${cp.uploadId} does not match the source (${size} bytes)`,
      {
        code: 'BAD_CHECKPOINT',
      },
    );
  }
}

function asWorkflowError(e: unknown): Error {
  if (isWorkflowError(e)) return e;
  const { name, message } = sdkErrorInfo(e);
  return new EncryptionFailedError(`encryption failed: ${name} — ${message}`, {
    code: 'ENCRYPTION_FAILED',
    cause: e,
  });
}

export async function encryptToMultipart(opts: EncryptToMultipartOptions): Promise<Checkpoint> {
  assertKeyAndIv(opts.key, opts.iv);
  const prior = opts.checkpoint;
  if (prior?.done) return prior;
  if (prior) assertResumable(prior, opts.source.size);

  const partSize = prior?.partSize ?? choosePartSize(opts.source.size, opts.partSizeBytes);
  const dest = { bucket: opts.destination.bucket, key: opts.destination.key };
  const uploadId =
    prior?.uploadId ??
    (await createMultipartUpload(opts.s3, {
      ...dest,
      metadata: opts.destination.metadata,
      contentType: opts.destination.contentType,
    }));
  const created = prior === undefined;

  const firstPart = prior?.nextPartNumber ?? 1;
  const chainBlock = prior ? Buffer.from(prior.chainBlock, 'base64') : opts.iv;
  try {
    const result = await runPartPipeline({
      source: new S3RangedReader(opts.s3, opts.source),
      sink: new MultipartWriter(opts.s3, { ...dest, uploadId }, opts.uploadConcurrency),
      cipher: createPartCipher(opts.mode, opts.key, opts.iv),
      partSize,
      firstPart,
      chainBlock,
      readAhead: opts.readAhead,
      sinkConcurrency: opts.uploadConcurrency,
      shouldYield: opts.shouldYield,
    });
    const nextOffset = (result.nextPartNumber - 1) * partSize;
    const checkpoint: Checkpoint = {
      uploadId,
      partSize,
      nextPartNumber: result.nextPartNumber,
      nextOffset,
      chainBlock: result.chainBlock.toString('base64'),
      bytesDone: Math.min(nextOffset, opts.source.size),
      done: result.done,
      invocations: (prior?.invocations ?? 0) + 1,
    };
    logger.info('encrypt progress', {
      uploadId,
      partsDone: result.nextPartNumber - 1,
      totalParts: result.totalParts,
      bytesDone: checkpoint.bytesDone,
      done: checkpoint.done,
    });
    return checkpoint;
  } catch (e) {
    const err = asWorkflowError(e);
    // A resumed call keeps the upload on transient errors: the state machine retries with the same checkpoint.
    const permanent = !(isWorkflowError(err) && err.transient);
    if (created || permanent) {
      await abortMultipartUpload(opts.s3, { ...dest, uploadId }).catch((abortError: unknown) =>
        logger.warn('abort after failure failed; the bucket lifecycle rule will collect the upload', {
          uploadId,
          errorName: sdkErrorInfo(abortError).name,
        }),
      );
    }
    throw err;
  }
}

export interface CompleteEncryptedUploadOptions {
  s3: S3Client;
  bucket: string;
  key: string;
  uploadId: string;
  /** Ciphertext size (see `ciphertextSize`); verified against the parts before completing. */
  expectedSize?: number;
  /**
   * User metadata the finished object must carry. With `expectedSize` it lets a retry whose earlier attempt did
   * complete (response lost, upload now gone) recognise the object instead of failing with NoSuchUpload.
   */
  expectedMetadata?: Record<string, string>;
}

async function alreadyCompleted(
  opts: CompleteEncryptedUploadOptions,
): Promise<{ etag: string; size: number } | undefined> {
  if (opts.expectedSize === undefined || !opts.expectedMetadata) return undefined;
  const head = await opts.s3
    .send(new HeadObjectCommand({ Bucket: opts.bucket, Key: opts.key }))
    .catch((e: unknown) => {
      if (sdkErrorInfo(e).status === 404) return undefined;
      throw translateS3WriteError(e, 'HeadObject', opts);
    });
  if (!head || head.ContentLength !== opts.expectedSize) return undefined;
  const meta = head.Metadata ?? {};
  const matches = Object.entries(opts.expectedMetadata).every(([k, v]) => meta[k.toLowerCase()] === v);
  return matches ? { etag: head.ETag ?? '', size: head.ContentLength } : undefined;
}

/**
 * Completes from ListParts (no ETag list travels in the state). Verifies the parts are 1..N with no gap and add up
 * to the expected size; a mismatch aborts the upload, since completing it would publish a corrupt ciphertext.
 */
export async function completeEncryptedUpload(
  opts: CompleteEncryptedUploadOptions,
): Promise<{ etag: string; size: number }> {
  const where = { bucket: opts.bucket, key: opts.key, uploadId: opts.uploadId };
  let listed: Awaited<ReturnType<typeof listAllParts>>;
  try {
    listed = await listAllParts(opts.s3, where);
  } catch (e) {
    const done = isWorkflowError(e) && e.code === 'NO_SUCH_UPLOAD' ? await alreadyCompleted(opts) : undefined;
    if (done) {
      await sweepOrphans(opts);
      return done;
    }
    throw e;
  }
  const parts = listed.sort((a, b) => a.partNumber - b.partNumber);
  const size = parts.reduce((n, p) => n + p.size, 0);
  const gap = parts.findIndex((p, i) => p.partNumber !== i + 1);
  const problem =
    parts.length === 0
      ? 'no parts were uploaded'
      : gap >= 0
        ? `part ${gap + 1} is missing`
        : opts.expectedSize !== undefined && size !== opts.expectedSize
          ? `parts add up to ${size} bytes, expected ${opts.expectedSize}`
          : undefined;
  if (problem) {
    await abortEncryptedUpload(opts);
    throw new EncryptionFailedError(`cannot complete s3://${opts.bucket}/${opts.key}: ${problem}`, {
      code: 'PARTS_MISMATCH',
    });
  }
  const etag = await completeMultipartUpload(opts.s3, where, parts);
  await sweepOrphans(opts);
  return { etag, size };
}

/**
 * After the object is complete, no other upload on its key can still be wanted: abort those a killed EncryptSource
 * invocation left behind. Best effort — the object is already right, and the bucket's lifecycle rule is the backstop.
 */
async function sweepOrphans(opts: CompleteEncryptedUploadOptions): Promise<void> {
  const aborted = await abortOrphanUploads(opts.s3, { bucket: opts.bucket, key: opts.key }).catch(
    (e: unknown) => {
      logger.warn('could not abort orphaned uploads; the bucket lifecycle rule will collect them', {
        errorName: sdkErrorInfo(e).name,
      });
      return 0;
    },
  );
  if (aborted > 0) logger.info('aborted orphaned multipart uploads', { key: opts.key, aborted });
}

export async function abortEncryptedUpload(opts: {
  s3: S3Client;
  bucket: string;
  key: string;
  uploadId: string;
}): Promise<void> {
  await abortMultipartUpload(opts.s3, { bucket: opts.bucket, key: opts.key, uploadId: opts.uploadId });
}

export { ciphertextSize };
