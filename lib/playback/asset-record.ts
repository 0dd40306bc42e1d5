/**
 * The asset record `<ASSET_PREFIX><assetId>.json`: the only thing the key service knows about an asset. Written by
 * the workflow's submit step, read by the key service and the token issuer. It carries the *playback* key as a KMS
 * blob only, under the key-service context `KEY_SERVICE_CONTEXT(assetId)`; the source data key is never written here
 * (writeAssetRecord refuses it, and refuses any other encryption context).
 */

import { posix } from 'node:path';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { PlaybackDeniedError } from './errors.js';
import { isKeyServiceContext } from './key-context.js';
import { ASSET_ID_PATTERN } from './tokens.js';

const b64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');
/** A key relative to outputKeyPrefix that cannot climb out of it. */
const relativePlaylist = z
  .string()
  .min(1)
  .max(512)
  .refine(
    (p) => p.endsWith('.m3u8') && !p.startsWith('/') && !p.split('/').includes('..'),
    'must be a relative .m3u8 key',
  );

export const AssetRecordSchema = z.object({
  assetId: z.string().regex(ASSET_ID_PATTERN),
  wrappedKey: b64,
  keyMd5: b64,
  kmsKeyId: z.string().min(1),
  encryptionContext: z.record(z.string(), z.string()),
  outputBucket: z.string().min(3),
  outputKeyPrefix: z.string(),
  /** e.g. `index.m3u8`, relative to outputKeyPrefix. */
  masterPlaylist: relativePlaylist,
  /** Variant playlists, relative to outputKeyPrefix. */
  playlists: z.array(relativePlaylist),
});
export type AssetRecord = z.infer<typeof AssetRecordSchema>;

export interface AssetRecordLocation {
  s3: S3Client;
  bucket: string;
  assetPrefix: string;
}

export function assetRecordKey(assetPrefix: string, assetId: string): string {
  if (!ASSET_ID_PATTERN.test(assetId)) throw new PlaybackDeniedError('bad_request');
  return `${assetPrefix}${assetId}.json`;
}

/** Throws PlaybackDeniedError('asset_not_found') when there is no record. */
export async function readAssetRecord(where: AssetRecordLocation, assetId: string): Promise<AssetRecord> {
  const key = assetRecordKey(where.assetPrefix, assetId);
  const out = await where.s3
    .send(new GetObjectCommand({ Bucket: where.bucket, Key: key }))
    .catch((e: unknown) => {
      if (e instanceof NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') return undefined;
      throw e;
    });
  if (!out?.Body) throw new PlaybackDeniedError('asset_not_found');
  const record = AssetRecordSchema.parse(JSON.parse(await out.Body.transformToString('utf8')));
  if (record.assetId !== assetId) throw new Error(`Asset record ${key} names asset ${record.assetId}`);
  return record;
}

export interface WriteAssetRecordOptions {
  /** The source data key's KeyMd5: the write is refused if the record would carry that key. */
  sourceKeyMd5?: string;
}

export async function writeAssetRecord(
  where: AssetRecordLocation,
  record: AssetRecord,
  options: WriteAssetRecordOptions = {},
): Promise<{ bucket: string; key: string }> {
  const valid = AssetRecordSchema.parse(record);
  if (options.sourceKeyMd5 !== undefined && options.sourceKeyMd5 === valid.keyMd5) {
    throw new Error('Refusing to publish the source data key as the playback key');
  }
  if (!isKeyServiceContext(valid.encryptionContext, valid.assetId)) {
    throw new Error(
      'Refusing to publish a playback key that is not wrapped under the key-service context of this asset',
    );
  }
  const key = assetRecordKey(where.assetPrefix, valid.assetId);
  await where.s3.send(
    new PutObjectCommand({
      Bucket: where.bucket,
      Key: key,
      Body: JSON.stringify(valid, null, 2),
      ContentType: 'application/json',
    }),
  );
  return { bucket: where.bucket, key };
}

/** The S3 key of a playlist the record lists, or undefined for anything else (no arbitrary object reads). */
export function playlistObjectKey(record: AssetRecord, playlist: string): string | undefined {
  const known = playlist === record.masterPlaylist || record.playlists.includes(playlist);
  return known ? posix.join(record.outputKeyPrefix, playlist) : undefined;
}
