/**
 * Deterministic names derived from the source object. The same object version always maps to the same execution
 * name, asset id and output paths, which is what makes duplicate S3 events harmless.
 */
import { createHash } from 'node:crypto';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The one rule for object keys: no empty, `.` or `..` segment. S3 stores such a key literally, but a path library
 * (`posix.join`), a URL parser or a browser normalises it, so two parts of the system would name different objects
 * for one key: `incoming/../<asset>/clip.mp4` once made the key service sign another asset's segments. Sources that
 * break it are refused at ValidateSource; every derived key and every key the key service signs or proxies is checked
 * against it. A prefix's one trailing `/` is its end, not an empty segment.
 */
export const KEY_SEGMENT_RULE = 'an object key may not contain an empty, "." or ".." path segment';

/** The first segment of `key` that breaks KEY_SEGMENT_RULE (`''`, `.` or `..`), or undefined when it has none. */
export function unsafeKeySegment(key: string, options: { prefix?: boolean } = {}): string | undefined {
  const body = options.prefix && key.endsWith('/') ? key.slice(0, -1) : key;
  return body.split('/').find((s) => s === '' || s === '.' || s === '..');
}

export function isSafeKey(key: string, options: { prefix?: boolean } = {}): boolean {
  return unsafeKeySegment(key, options) === undefined;
}

/** Why `key` is refused, naming the key and the rule; undefined when it follows the rule. */
export function keyRuleViolation(key: string, options: { prefix?: boolean } = {}): string | undefined {
  const segment = unsafeKeySegment(key, options);
  if (segment === undefined) return undefined;
  const shown = segment === '' ? 'an empty' : `a "${segment}"`;
  return `Object key "${key}" has ${shown} path segment: ${KEY_SEGMENT_RULE}`;
}

/** The output prefix every key of an asset lives under, whatever the source was called. */
export function assetOutputRoot(outputPrefix: string, assetId: string): string {
  return `${outputPrefix}${assetId}/`;
}

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
  // ValidateSource refuses such a source first, with a failure notification; this keeps any other caller from
  // deriving a prefix that climbs out of the asset's own.
  const violation = keyRuleViolation(source.key);
  if (violation) throw new Error(violation);
  const assetId = assetIdFor(source);
  const rel = relativeKey(source.key, prefixes.inputPrefix);
  const relForEncrypted = truncateUtf8(rel, 900);
  const room = 255 - Buffer.byteLength(prefixes.outputPrefix) - assetId.length - 2;
  // Stripping the extension of `...mp4`, or cutting a name after its leading dots, can leave a `.` or `..` segment
  // (or an empty one) that the source key did not have; such segments are dropped, the asset id keeps it unique.
  const relNoExt = truncateUtf8(stripExtension(rel), Math.max(0, Math.min(room, 160)))
    .split('/')
    .filter((segment) => isSafeKey(segment))
    .join('/');
  // The asset id comes first: with `<rel>/<assetId>/` one asset's prefix could contain another's (an input named
  // `show/<assetId>/ep1.mp4` lands under `show.mp4`'s outputs), and clean-up of one would delete the other.
  const root = assetOutputRoot(prefixes.outputPrefix, assetId);
  const outputKeyPrefix = relNoExt ? `${root}${relNoExt}/` : root;
  return {
    assetId,
    encryptedKey: `${prefixes.encryptedPrefix}${relForEncrypted}.${assetId}.enc`,
    outputKeyPrefix,
    assetRecordKey: `${prefixes.assetPrefix}${assetId}.json`,
  };
}
