/** Uploads a file or buffer with the SDK's managed multipart upload (what `run` and the tests upload with). */
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

// S3's 5 MiB minimum part size, with room; two parts in flight keep memory at a few parts whatever the file size.
export const UPLOAD_PART_SIZE = 8 * 1024 * 1024;

export async function uploadFile(
  s3: S3Client,
  params: {
    bucket: string;
    key: string;
    body: Buffer | NodeJS.ReadableStream;
    contentType?: string;
    metadata?: Record<string, string>;
  },
): Promise<void> {
  await new Upload({
    client: s3,
    partSize: UPLOAD_PART_SIZE,
    queueSize: 2,
    params: {
      Bucket: params.bucket,
      Key: params.key,
      Body: params.body as Buffer,
      ...(params.contentType ? { ContentType: params.contentType } : {}),
      ...(params.metadata ? { Metadata: params.metadata } : {}),
    },
  }).done();
}
