/**
 * The leak scan of a chaos run: every data key the system stored a wrapped copy of (histories, notifications, JSON
 * files in the data directory, object metadata) is unwrapped, then its plaintext is looked for in every S3 object,
 * its metadata and tags, and every file of the data directory.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { sourceRetentionConfig } from '../../lib/config/workflow.js';
import { MEDIACONVERT_CONTEXT } from '../../lib/kms/contexts.js';
import type { Notification, Stack } from '../../local/stack/index.js';
import {
  collectAssetIds,
  collectWrappedKeys,
  type LeakHit,
  scanBuffer,
  scanTree,
  unwrapKeys,
  withKeyServiceContexts,
} from './leaks.js';
import { jsonFiles, readJsonValues, TRANSCODER_CONTEXT } from './verify.js';

export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * Versions of succeeded uploads still under `prefix` — current or noncurrent, since a delete marker would hide the
 * plaintext from a listing without removing it — when the workflow runs with SOURCE_RETENTION=delete.
 */
export async function sourcesLeft(
  s3: S3Client,
  bucket: string,
  prefix: string,
  succeeded: ReadonlySet<string>,
): Promise<string[]> {
  if (sourceRetentionConfig().policy !== 'delete') return [];
  const left: string[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix,
        KeyMarker: keyMarker,
        VersionIdMarker: versionIdMarker,
      }),
    );
    for (const v of page.Versions ?? [])
      if (v.Key && succeeded.has(v.Key)) left.push(`${v.Key} (version ${v.VersionId})`);
    keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
    versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
  } while (keyMarker);
  return left;
}

/** Every object in the bucket: body, user metadata and tags — where a careless step could have written a key. */
async function scanBucket(s3: S3Client, bucket: string, keys: Buffer[]) {
  const hits: LeakHit[] = [];
  const blobs = new Set<string>();
  let objects = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (!o.Key) continue;
      objects += 1;
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      const body = Buffer.from(
        await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      );
      const tags = await s3
        .send(new GetObjectTaggingCommand({ Bucket: bucket, Key: o.Key }))
        .catch(() => undefined);
      const meta = JSON.stringify({ metadata: got.Metadata ?? {}, tags: tags?.TagSet ?? [] });
      hits.push(
        ...scanBuffer(`s3://${bucket}/${o.Key}`, body, keys),
        ...scanBuffer(`s3://${bucket}/${o.Key} (metadata, tags)`, Buffer.from(meta), keys),
      );
      collectWrappedKeys(got.Metadata ?? {}, blobs);
      if (o.Key.endsWith('.json')) collectWrappedKeys(body.toString('utf8'), blobs);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { hits, blobs, objects };
}

export interface LeakScan {
  leakHits: LeakHit[];
  keysRecovered: number;
  undecryptableBlobs: number;
  scanned: { files: number; bytes: number; objects: number };
}

export async function scanForLeaks(options: {
  stack: Stack;
  kms: KMSClient;
  dataDir: string;
  notifications: Map<string, Notification[]>;
  historyBlobs: Set<string>;
  historyAssetIds: Set<string>;
  log: (line: string) => void;
  beforeTreeScan: () => Promise<void>;
}): Promise<LeakScan> {
  const { stack, kms, dataDir, notifications, historyBlobs, historyAssetIds, log, beforeTreeScan } = options;
  // Leak scan: unwrap every data key the system stored a blob of, then look for the plaintexts everywhere.
  log('scanning for plaintext keys…');
  const blobs = new Set(historyBlobs);
  for (const list of notifications.values())
    for (const n of list) {
      collectWrappedKeys(n, blobs);
      collectAssetIds(n, historyAssetIds);
    }
  for (const file of jsonFiles(dataDir))
    for (const value of readJsonValues(file)) {
      collectWrappedKeys(value, blobs);
      collectAssetIds(value, historyAssetIds);
    }
  const firstPass = await scanBucket(stack.s3, stack.config.bucket, []);
  for (const b of firstPass.blobs) blobs.add(b);
  // MediaConvert's job records hold its own copy of the source key (decryptionSettings), under its context.
  const recovered = await unwrapKeys(kms, blobs, [
    ...withKeyServiceContexts(TRANSCODER_CONTEXT, historyAssetIds),
    { ...MEDIACONVERT_CONTEXT },
  ]);
  const bucketScan = await scanBucket(stack.s3, stack.config.bucket, recovered.keys);
  // The tree scan reads the data dir, S3 objects and their metadata included: an owned stack stops first.
  await beforeTreeScan();
  const treeScan = scanTree(dataDir, recovered.keys);
  for (const key of recovered.keys) key.fill(0);
  const leakHits = [...bucketScan.hits, ...treeScan.hits];

  return {
    leakHits,
    keysRecovered: recovered.keys.length,
    undecryptableBlobs: recovered.undecryptable,
    scanned: { files: treeScan.files, bytes: treeScan.bytes, objects: bucketScan.objects },
  };
}
