/**
 * Copies a finished asset's outputs out of the (in-memory) local S3 into `<dataDir>/exports/<source name>-<assetId>/`
 * (the source name so a person finds their file, the asset id so two uploads of one name never share a folder), keeping the
 * layout under the output prefix, so the HLS files can be inspected or served by any tool. The segments stay
 * AES-128 encrypted; their EXT-X-KEY URI is the key service, which wants a token (the CLI prints a player URL).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { Notification } from './notifications.js';

/** The asset's output prefix: everything up to and including `/<assetId>/` in its playlist or output keys. */
export function outputPrefixOf(n: Notification): string | undefined {
  const assetId = n.playback?.assetId;
  if (!assetId) return undefined;
  // Every output of a job sits directly under its OutputKeyPrefix: the folder of the master playlist.
  const master = n.playback?.masterPlaylist ?? n.playlists[0]?.key;
  if (!master) return undefined;
  const prefix = master.slice(0, master.lastIndexOf('/') + 1);
  return prefix.includes(`/${assetId}/`) ? prefix : undefined;
}

/** `<source file name without extension, made filesystem-safe>-<assetId>`, e.g. `my-holiday-3f2a…`. */
export function exportDirName(n: Notification, assetId: string): string {
  const key = n.source.key ?? '';
  const stem = basename(key, extname(key))
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|-+$/g, '')
    .slice(0, 60);
  return stem ? `${stem}-${assetId}` : assetId;
}

export async function exportAsset(
  s3: S3Client,
  bucket: string,
  exportsDir: string,
  n: Notification,
): Promise<{ dir: string; files: string[] } | undefined> {
  const prefix = outputPrefixOf(n);
  const assetId = n.playback?.assetId;
  if (!prefix || !assetId) return undefined;
  const dir = join(exportsDir, exportDirName(n, assetId));
  const files: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      if (!object.Key) continue;
      const target = resolve(dir, object.Key.slice(prefix.length));
      // Keys are data: never let one write outside the export directory.
      if (relative(dir, target).startsWith('..')) continue;
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(
        target,
        await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
        { mode: 0o600 },
      );
      files.push(target);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'notification.json'), `${JSON.stringify(n, null, 2)}\n`, { mode: 0o600 });
  return { dir, files };
}
