/**
 * Per-rendition bitrate and codecs for the notification, from the master playlist the transcoder wrote: its
 * `EXT-X-STREAM-INF` lines are what players choose renditions by, so the notification reports the same numbers.
 * Elastic Transcoder's ReadJob has no bitrate or codecs per output; the playlist is the one source for both backends.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { VariantInfo } from './contract.js';

function attributes(line: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of line.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) {
    const [, name, raw] = m;
    if (name && raw !== undefined) out.set(name, raw.replace(/^"|"$/g, ''));
  }
  return out;
}

const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);

/** Variant facts keyed by the variant playlist's object key (resolved against the master's folder). */
export function parseMasterPlaylist(text: string, masterKey: string): Map<string, VariantInfo> {
  const folder = masterKey.slice(0, masterKey.lastIndexOf('/') + 1);
  const variants = new Map<string, VariantInfo>();
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  lines.forEach((line, i) => {
    if (!line.startsWith('#EXT-X-STREAM-INF:')) return;
    const uri = lines.slice(i + 1).find((l) => l !== '' && !l.startsWith('#'));
    if (!uri || /^[a-z]+:\/\//i.test(uri) || uri.startsWith('/')) return;
    const a = attributes(line.slice('#EXT-X-STREAM-INF:'.length));
    variants.set(`${folder}${uri.split('?')[0]}`, {
      bandwidth: num(a.get('BANDWIDTH')),
      averageBandwidth: num(a.get('AVERAGE-BANDWIDTH')),
      codecs: a.get('CODECS') || null,
    });
  });
  return variants;
}

/** Reads and parses the master playlist; undefined if it cannot be read (the fields are then null, not invented). */
export async function readVariants(
  s3: S3Client,
  bucket: string,
  masterKey: string,
): Promise<Map<string, VariantInfo> | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: masterKey }));
    const text = (await out.Body?.transformToString('utf8')) ?? '';
    return parseMasterPlaylist(text.slice(0, 256 * 1024), masterKey);
  } catch {
    return undefined;
  }
}
