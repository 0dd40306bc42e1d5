/**
 * Multipart upload plumbing for the encrypted copy: create, bounded-concurrency UploadPart, ListParts (paginated),
 * complete, abort. Write-side S3 errors are translated here; "the upload is gone" and "not writable" are permanent.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { EncryptionFailedError, S3TransientError, sdkErrorInfo } from '../errors.js';
import { translateS3Error } from './errors.js';
import { retryTransient } from './retry.js';

export interface ObjectLocation {
  bucket: string;
  key: string;
}

const PERMANENT_WRITE = new Set([
  'NoSuchUpload',
  'NoSuchBucket',
  'AccessDenied',
  'InvalidPart',
  'InvalidPartOrder',
  'EntityTooLarge',
  'EntityTooSmall',
  'InvalidArgument',
  'InvalidRequest',
]);

export function translateS3WriteError(e: unknown, what: string, where: ObjectLocation): Error {
  if (e instanceof EncryptionFailedError || e instanceof S3TransientError) return e;
  const { name, status, message } = sdkErrorInfo(e);
  const translated = translateS3Error(e, what, where);
  if (translated instanceof S3TransientError && !PERMANENT_WRITE.has(name)) return translated;
  const hint =
    name === 'NoSuchUpload'
      ? ' (the multipart upload was aborted or completed)'
      : name === 'AccessDenied' || status === 403
        ? ' (the destination is not writable with this function’s permissions)'
        : '';
  return new EncryptionFailedError(
    `S3 ${what} s3://${where.bucket}/${where.key} failed: ${name}${message && message !== name ? ` — ${message}` : ''}${hint}`,
    { code: name === 'NoSuchUpload' ? 'NO_SUCH_UPLOAD' : 'S3_WRITE_FAILED', cause: e },
  );
}

export async function createMultipartUpload(
  s3: S3Client,
  where: ObjectLocation & { metadata?: Record<string, string>; contentType?: string | undefined },
): Promise<string> {
  const out = await retryTransient(() =>
    s3
      .send(
        new CreateMultipartUploadCommand({
          Bucket: where.bucket,
          Key: where.key,
          Metadata: where.metadata,
          ContentType: where.contentType ?? 'application/octet-stream',
        }),
      )
      .catch((e: unknown) => {
        throw translateS3WriteError(e, 'CreateMultipartUpload', where);
      }),
  );
  if (!out.UploadId)
    throw new EncryptionFailedError('S3 CreateMultipartUpload returned no UploadId', {
      code: 'S3_WRITE_FAILED',
    });
  return out.UploadId;
}

/** Receives encrypted parts in order; the pipeline hands each buffer over and gets it back through `release`. */
export interface PartSink {
  submit(partNumber: number, data: Buffer, release: () => void): Promise<void>;
  /** Waits for every submitted part; rejects with the first failure. */
  drain(): Promise<void>;
}

/** UploadPart with at most `concurrency` requests in flight; `submit` waits for a free slot (backpressure). */
export class MultipartWriter implements PartSink {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;

  constructor(
    private readonly s3: S3Client,
    private readonly where: ObjectLocation & { uploadId: string },
    private readonly concurrency: number,
  ) {}

  async submit(partNumber: number, data: Buffer, release: () => void): Promise<void> {
    while (!this.failure && this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    if (this.failure) {
      release();
      throw this.failure;
    }
    const p: Promise<void> = this.uploadPart(partNumber, data)
      .then(() => undefined)
      .catch((e: unknown) => {
        this.failure ??= e as Error;
      })
      .finally(() => {
        release();
        this.inFlight.delete(p);
      });
    this.inFlight.add(p);
  }

  async drain(): Promise<void> {
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
  }

  private uploadPart(partNumber: number, body: Buffer): Promise<unknown> {
    const { bucket, key, uploadId } = this.where;
    return retryTransient(() =>
      this.s3
        .send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: partNumber,
            Body: body,
          }),
        )
        .catch((e: unknown) => {
          throw translateS3WriteError(e, `UploadPart ${partNumber}`, this.where);
        }),
    );
  }
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
  size: number;
}

/** Every part of an upload, following NextPartNumberMarker until the listing is complete. */
export async function listAllParts(
  s3: S3Client,
  where: ObjectLocation & { uploadId: string },
): Promise<UploadedPart[]> {
  const parts: UploadedPart[] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await retryTransient(() =>
      s3
        .send(
          new ListPartsCommand({
            Bucket: where.bucket,
            Key: where.key,
            UploadId: where.uploadId,
            PartNumberMarker: marker,
          }),
        )
        .catch((e: unknown) => {
          throw translateS3WriteError(e, 'ListParts', where);
        }),
    );
    for (const p of page.Parts ?? []) {
      if (p.PartNumber === undefined || !p.ETag) continue;
      parts.push({ partNumber: p.PartNumber, etag: p.ETag, size: p.Size ?? 0 });
    }
    if (!page.IsTruncated) return parts;
    const next = page.NextPartNumberMarker;
    if (next === undefined || next === marker) {
      throw new EncryptionFailedError('S3 ListParts is truncated but gave no new NextPartNumberMarker', {
        code: 'S3_WRITE_FAILED',
      });
    }
    marker = next;
  }
}

export async function completeMultipartUpload(
  s3: S3Client,
  where: ObjectLocation & { uploadId: string },
  parts: UploadedPart[],
): Promise<string> {
  const out = await retryTransient(() =>
    s3
      .send(
        new CompleteMultipartUploadCommand({
          Bucket: where.bucket,
          Key: where.key,
          UploadId: where.uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
      )
      .catch((e: unknown) => {
        throw translateS3WriteError(e, 'CompleteMultipartUpload', where);
      }),
  );
  return out.ETag ?? '';
}

/** Abort, treating "already gone" as success: cleanup must be safe to repeat. */
export async function abortMultipartUpload(
  s3: S3Client,
  where: ObjectLocation & { uploadId: string },
): Promise<void> {
  await retryTransient(() =>
    s3
      .send(
        new AbortMultipartUploadCommand({ Bucket: where.bucket, Key: where.key, UploadId: where.uploadId }),
      )
      .then(() => undefined)
      .catch((e: unknown) => {
        if (sdkErrorInfo(e).name === 'NoSuchUpload') return;
        throw translateS3WriteError(e, 'AbortMultipartUpload', where);
      }),
  );
}

/** Upload ids of the multipart uploads open on exactly this key (paginated over key and upload-id markers). */
export async function listOpenUploads(s3: S3Client, where: ObjectLocation): Promise<string[]> {
  const ids: string[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await retryTransient(() =>
      s3
        .send(
          new ListMultipartUploadsCommand({
            Bucket: where.bucket,
            Prefix: where.key,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        )
        .catch((e: unknown) => {
          throw translateS3WriteError(e, 'ListMultipartUploads', where);
        }),
    );
    for (const u of page?.Uploads ?? []) if (u.Key === where.key && u.UploadId) ids.push(u.UploadId);
    if (!page?.IsTruncated) return ids;
    if (page.NextKeyMarker === keyMarker && page.NextUploadIdMarker === uploadIdMarker) {
      throw new EncryptionFailedError('S3 ListMultipartUploads is truncated but gave no new marker', {
        code: 'S3_WRITE_FAILED',
      });
    }
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

/**
 * Aborts every upload open on the key except `keep`. An invocation killed after CreateMultipartUpload and before
 * it returned its checkpoint leaves an upload no state knows; the key belongs to one asset, and so to one
 * execution, so any other upload on it is such an orphan. Returns how many were aborted.
 */
export async function abortOrphanUploads(
  s3: S3Client,
  where: ObjectLocation,
  keep?: string,
): Promise<number> {
  const orphans = (await listOpenUploads(s3, where)).filter((id) => id !== keep);
  for (const uploadId of orphans) await abortMultipartUpload(s3, { ...where, uploadId });
  return orphans.length;
}
