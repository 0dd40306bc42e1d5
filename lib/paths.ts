/**
 * Deterministic names derived from the source object. The same object version always maps to the same execution
 * name, asset id and output paths, which is what makes duplicate S3 events harmless.
 */
import { createHash } from 'node:crypto';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The version discriminator: S3 versionId when the bucket is versioned, else the event's sequencer. */
export function versionTag(source: {
  versionId?: string | undefined;
  sequencer?: string | undefined;
}): string {
  return source.versionId
    ? `v:${source.versionId}`
    : source.sequencer
      ? `s:${source.sequencer}`
      : 'unversioned';
}

/**
 * Step Functions names: 1–80 chars of [A-Za-z0-9_-]. A readable slug of the file name plus a 32-hex digest of
 * (bucket, key, version) keeps names unique per object version and stable across duplicate deliveries.
 */
export function executionNameFor(source: {
  bucket: string;
  key: string;
  versionId?: string;
  sequencer?: string;
}): string {
  const digest = sha256(`${source.bucket}\n${source.key}\n${versionTag(source)}`).slice(0, 32);
  const base = source.key.split('/').pop() ?? '';
  const slug = base
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return slug ? `${slug}-${digest}` : `object-${digest}`;
}

export function assetIdFor(source: {
  bucket: string;
  key: string;
  versionId?: string;
  sequencer?: string;
}): string {
  return `a${sha256(`asset\n${source.bucket}\n${source.key}\n${versionTag(source)}`).slice(0, 23)}`;
}

/** Cuts a string to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

export function relativeKey(key: string, inputPrefix: string): string {
  return key.startsWith(inputPrefix) ? key.slice(inputPrefix.length) : key;
}

function stripExtension(rel: string): string {
  const slash = rel.lastIndexOf('/');
  const dot = rel.lastIndexOf('.');
  return dot > slash + 1 ? rel.slice(0, dot) : rel;
}

export interface AssetPaths {
  assetId: string;
  encryptedKey: string;
  outputKeyPrefix: string;
  assetRecordKey: string;
}

/**
 * Encrypted copies and outputs live outside the input prefix, so the workflow never triggers on its own writes.
 * Elastic Transcoder limits OutputKeyPrefix to 255 characters, so long source names are truncated (the asset id
 * keeps the path unique).
 */
export function assetPaths(
  source: { bucket: string; key: string; versionId?: string; sequencer?: string },
  prefixes: { inputPrefix: string; encryptedPrefix: string; outputPrefix: string; assetPrefix: string },
): AssetPaths {
  const assetId = assetIdFor(source);
  const rel = relativeKey(source.key, prefixes.inputPrefix);
  const relForEncrypted = truncateUtf8(rel, 900);
  const room = 255 - Buffer.byteLength(prefixes.outputPrefix) - assetId.length - 2;
  const relNoExt = truncateUtf8(stripExtension(rel), Math.max(0, Math.min(room, 160))).replace(/\/+$/, '');
  // The asset id comes first: with `<rel>/<assetId>/` one asset's prefix could contain another's (an input named
  // `show/<assetId>/ep1.mp4` lands under `show.mp4`'s outputs), and clean-up of one would delete the other.
  const outputKeyPrefix = relNoExt
    ? `${prefixes.outputPrefix}${assetId}/${relNoExt}/`
    : `${prefixes.outputPrefix}${assetId}/`;
  return {
    assetId,
    encryptedKey: `${prefixes.encryptedPrefix}${relForEncrypted}.${assetId}.enc`,
    outputKeyPrefix,
    assetRecordKey: `${prefixes.assetPrefix}${assetId}.json`,
  };
}
