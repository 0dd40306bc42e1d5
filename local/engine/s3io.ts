/**
 * Input download and output upload through S3. Uploads above one part size go multipart, as a real transcoder's
 * large outputs do, so no single request holds a whole rendition.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { sdkErrorInfo } from '../../lib/errors.js';
import { EngineError } from './errors.js';

const PART_SIZE = 8 * 1024 * 1024;
const MISSING = new Set(['NoSuchKey', 'NoSuchBucket', 'NotFound']);

export async function downloadInput(
  s3: S3Client,
  bucket: string,
  key: string,
  file: string,
  signal?: AbortSignal,
) {
  const object = await s3
    .send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal })
    .catch((e: unknown) => {
      const { name, status } = sdkErrorInfo(e);
      if (MISSING.has(name) || status === 404)
        throw new EngineError('InputNotFound', `bucket=${bucket}, key=${key}`, { bucket, key });
      if (name === 'AccessDenied' || status === 403)
        throw new EngineError('InputAccessDenied', `bucket=${bucket}, key=${key}`, { bucket, key });
      throw e;
    });
  await pipeline(object.Body as Readable, createWriteStream(file, { mode: 0o600 }));
}

export function contentTypeOf(key: string): string {
  if (key.endsWith('.m3u8')) return 'application/x-mpegURL';
  if (key.endsWith('.ts')) return 'video/MP2T';
  if (key.endsWith('.mp4')) return 'video/mp4';
  return 'application/octet-stream';
}

/**
 * Streams a file to S3 with the SDK's managed upload: one PutObject up to a part, multipart above (aborted on
 * failure), at most two parts in memory whatever the file size.
 */
export async function uploadFile(
  s3: S3Client,
  bucket: string,
  key: string,
  file: string,
  signal?: AbortSignal,
) {
  signal?.throwIfAborted();
  const upload = new Upload({
    client: s3,
    partSize: PART_SIZE,
    queueSize: 2,
    params: { Bucket: bucket, Key: key, Body: createReadStream(file), ContentType: contentTypeOf(key) },
  });
  const abort = () => void upload.abort();
  signal?.addEventListener('abort', abort, { once: true });
  try {
    await upload.done();
  } finally {
    signal?.removeEventListener('abort', abort);
  }
}
