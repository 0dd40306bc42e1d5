/**
 * Older stacks kept S3 objects in memory and saved them to `<dataDir>/s3/index.json` + `objects/` on a clean stop.
 * Objects now live on disk in the gateway's store; this moves such a snapshot into it once and removes it.
 */
import { createReadStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { uploadFile } from './upload.js';

interface IndexEntry {
  key: string;
  file: string;
  contentType?: string;
  metadata?: Record<string, string>;
}

export async function migrateSnapshot(s3: S3Client, bucket: string, dir: string): Promise<number> {
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
      body: createReadStream(file),
      contentType: entry.contentType,
      metadata: entry.metadata,
    });
    restored += 1;
  }
  rmSync(indexPath, { force: true });
  rmSync(join(dir, 'objects'), { recursive: true, force: true });
  return restored;
}
