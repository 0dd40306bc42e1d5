/**
 * The asset record `<ASSET_PREFIX><assetId>.json`: the only thing the key service knows about an asset. Written by
 * the workflow's submit step, read by the key service, the SPEKE key provider and the token issuer. Its only key
 * material is the playback key as two KMS blobs under the playback KMS key: `playbackKey` (the key service's copy,
 * `keyServiceContext(assetId)`) and `spekeKey` (the SPEKE key provider's copy, `spekeKeyProviderContext(assetId)`).
 *
 * What keeps a source key out of a player's hands is KMS, not this file: the key service decrypts only with the
 * playback KMS key, and no role can put a source key under that key (README.md, "Security model"). The context
 * checks here only keep the workflow from publishing a record its consumers would refuse anyway.
 */

import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { keyServiceContext, sameContext, spekeKeyProviderContext } from '../kms/contexts.js';
import { assetOutputRoot, isSafeKey, KEY_SEGMENT_RULE } from '../paths.js';
import { PlaybackDeniedError } from './errors.js';
import { ASSET_ID_PATTERN } from './tokens.js';

const b64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');
/** A key relative to outputKeyPrefix that cannot climb out of it. */
const relativePlaylist = z
  .string()
  .min(1)
  .max(512)
  .refine((p) => p.endsWith('.m3u8') && isSafeKey(p), `must be a relative .m3u8 key; ${KEY_SEGMENT_RULE}`);

/** A KMS blob as a record carries it: ciphertext, the KMS key it was made under, and its encryption context. */
export const RecordKeySchema = z.object({
  wrappedKey: b64,
  kmsKeyId: z.string().min(1),
  encryptionContext: z.record(z.string(), z.string()),
});

export const AssetRecordSchema = z.object({
  assetId: z.string().regex(ASSET_ID_PATTERN),
  /** The key service's copy of the playback key. */
  playbackKey: RecordKeySchema,
  /** The SPEKE key provider's copy of the same playback key. */
  spekeKey: RecordKeySchema,
  outputBucket: z.string().min(3),
  /** Ends with `/`; keys under it are built by concatenation, never by a path join that would normalise `..`. */
  outputKeyPrefix: z
    .string()
    .min(1)
    .refine(
      (p) => p.endsWith('/') && isSafeKey(p, { prefix: true }),
      `must end with "/"; ${KEY_SEGMENT_RULE}`,
    ),
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

export async function writeAssetRecord(
  where: AssetRecordLocation,
  record: AssetRecord,
): Promise<{ bucket: string; key: string }> {
  const valid = AssetRecordSchema.parse(record);
  if (!sameContext(valid.playbackKey.encryptionContext, keyServiceContext(valid.assetId))) {
    throw new Error('Refusing to publish a playbackKey that is not in the key-service context of this asset');
  }
  if (!sameContext(valid.spekeKey.encryptionContext, spekeKeyProviderContext(valid.assetId))) {
    throw new Error(
      'Refusing to publish a spekeKey that is not in the SPEKE key provider context of this asset',
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
  return known ? `${record.outputKeyPrefix}${playlist}` : undefined;
}

/**
 * The S3 key of `relative` under the asset's outputs, or undefined when it would name anything else: the record's
 * prefix must lie under `<outputPrefix><assetId>/` (so a record, even a tampered one, cannot point at another asset's
 * outputs) and the key must follow KEY_SEGMENT_RULE (so nothing downstream can normalise it into another object).
 */
export function assetObjectKey(
  record: AssetRecord,
  outputPrefix: string,
  relative: string,
): string | undefined {
  if (!record.outputKeyPrefix.startsWith(assetOutputRoot(outputPrefix, record.assetId))) return undefined;
  const key = `${record.outputKeyPrefix}${relative}`;
  return relative !== '' && isSafeKey(key) ? key : undefined;
}
