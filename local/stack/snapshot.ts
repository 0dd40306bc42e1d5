/**
 * fauxqs 1.9.2 keeps objects in memory (its file-backed storage needs Node ≥ 22.5), so the stack saves the bucket to
 * `<dataDir>/s3/` when it stops and puts it back when it starts: encrypted sources, outputs and asset records
 * outlive a restart of `up`, like KMS keys and executions do. Objects are stored under content hashes with an index,
 * because S3 keys such as `a` and `a/b` cannot both be files.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

interface IndexEntry {
  key: string;
  file: string;
  contentType?: string;
  metadata?: Record<string, string>;
}

// Below fauxqs's 11 MiB request-body limit, above S3's 5 MiB minimum part size.
export const UPLOAD_PART_SIZE = 8 * 1024 * 1024;

export async function saveSnapshot(s3: S3Client, bucket: string, dir: string): Promise<number> {
  const objectsDir = join(dir, 'objects');
  mkdirSync(objectsDir, { recursive: true, mode: 0o700 });
  const index: IndexEntry[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      if (!object.Key) continue;
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      const bytes = await (
        got.Body as { transformToByteArray(): Promise<Uint8Array> }
      ).transformToByteArray();
      const file = createHash('sha256').update(object.Key).digest('hex');
      writeFileSync(join(objectsDir, file), bytes, { mode: 0o600 });
      index.push({
        key: object.Key,
        file,
        ...(got.ContentType ? { contentType: got.ContentType } : {}),
        ...(got.Metadata && Object.keys(got.Metadata).length > 0 ? { metadata: got.Metadata } : {}),
      });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const kept = new Set(index.map((e) => e.file));
  for (const f of readdirSync(objectsDir)) if (!kept.has(f)) rmSync(join(objectsDir, f));
  writeFileSync(join(dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`, { mode: 0o600 });
  return index.length;
}

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

export async function restoreSnapshot(s3: S3Client, bucket: string, dir: string): Promise<number> {
  const indexPath = join(dir, 'index.json');
  if (!existsSync(indexPath)) return 0;
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as IndexEntry[];
  let restored = 0;
  for (const entry of index) {
    const file = join(dir, 'objects', entry.file);
    if (!existsSync(file)) continue;
    await uploadFile(s3, {
      bucket,
      key: entry.key,
      body: readFileSync(file),
      contentType: entry.contentType,
      metadata: entry.metadata,
    });
    restored += 1;
  }
  return restored;
}
