/**
 * Input download and output upload through S3. Uploads above one part size go multipart so no single request
 * exceeds what small S3 emulators accept (fauxqs 1.9.2 caps bodies at 11 MiB).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { sdkErrorInfo } from '../../lib/errors.js';
import { JobFailure } from './errors.js';

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
      if (MISSING.has(name) || status === 404) throw new JobFailure(3001, `bucket=${bucket}, key=${key}`);
      if (name === 'AccessDenied' || status === 403)
        throw new JobFailure(3003, `bucket=${bucket}, key=${key}`);
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

export async function uploadFile(
  s3: S3Client,
  bucket: string,
  key: string,
  file: string,
  signal?: AbortSignal,
) {
  const { size } = await stat(file);
  const ContentType = contentTypeOf(key);
  if (size <= PART_SIZE) {
    const body = createReadStream(file);
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: size, ContentType }),
      {
        abortSignal: signal,
      },
    );
    return;
  }
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType }),
  );
  const handle = await open(file, 'r');
  try {
    const parts: { PartNumber: number; ETag: string | undefined }[] = [];
    for (let offset = 0, n = 1; offset < size; offset += PART_SIZE, n++) {
      const body = Buffer.alloc(Math.min(PART_SIZE, size - offset));
      await handle.read(body, 0, body.length, offset);
      const part = await s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: body }),
        {
          abortSignal: signal,
        },
      );
      parts.push({ PartNumber: n, ETag: part.ETag });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
  } catch (e) {
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }))
      .catch(() => undefined);
    throw e;
  } finally {
    await handle.close();
  }
}
