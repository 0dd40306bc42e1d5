/**
 * The key-leak scan: recover every plaintext data key the run created by unwrapping the KMS blobs the
 * system legitimately stores, then look for each key, in raw, base64 (at every byte alignment, so a key inside a
 * longer base64 string is found too), base64url and hex form, in everything the system wrote.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { keyServiceContext, sourceKeyContext, spekeKeyProviderContext } from '../../lib/kms/contexts.js';

// Field names under which the workflow stores KMS ciphertext blobs of data keys (state, notifications, asset
// records, transcoder job records, S3 user metadata).
const WRAPPED_FIELDS = new Set(['wrappedKey', 'st-wrapped-key']);
const TRANSCODER_KEY_PARENTS = new Set(['Encryption', 'HlsContentProtection']);

/** Every wrapped-key string found anywhere inside `value` (JSON strings are parsed, since state nests JSON). */
export function collectWrappedKeys(
  value: unknown,
  into = new Set<string>(),
  parent = '',
  depth = 0,
): Set<string> {
  if (depth > 40 || value === null || value === undefined) return into;
  if (typeof value === 'string') {
    const t = value.trim();
    if ((t.startsWith('{') || t.startsWith('[')) && t.length > 20) {
      try {
        collectWrappedKeys(JSON.parse(t), into, parent, depth + 1);
      } catch {
        // Not JSON after all: plain text cannot hold a named field.
      }
    }
    return into;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectWrappedKeys(v, into, parent, depth + 1);
    return into;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const isBlob = WRAPPED_FIELDS.has(k) || (k === 'Key' && TRANSCODER_KEY_PARENTS.has(parent));
      if (isBlob && typeof v === 'string' && v.length >= 24) into.add(v);
      else collectWrappedKeys(v, into, k, depth + 1);
    }
  }
  return into;
}

export interface RecoveredKeys {
  keys: Buffer[];
  /** Blobs KMS would not decrypt under the transcoder context (reported, never silently ignored). */
  undecryptable: number;
}

/**
 * Unwraps each blob under the first of `contexts` KMS accepts: the transcoder's context for source and HLS keys, and
 * the per-asset contexts of the playback key's copies (see `withKeyServiceContexts`).
 */
export async function unwrapKeys(
  kms: KMSClient,
  blobs: Iterable<string>,
  contexts: Record<string, string> | Array<Record<string, string>>,
): Promise<RecoveredKeys> {
  const candidates = Array.isArray(contexts) ? contexts : [contexts];
  const seen = new Map<string, Buffer>();
  let undecryptable = 0;
  for (const blob of new Set(blobs)) {
    let plaintext: Uint8Array | undefined;
    for (const context of candidates) {
      const out = await kms
        .send(new DecryptCommand({ CiphertextBlob: Buffer.from(blob, 'base64'), EncryptionContext: context }))
        .catch(() => undefined);
      plaintext = out?.Plaintext;
      if (plaintext) break;
    }
    if (!plaintext) {
      undecryptable += 1;
      continue;
    }
    const key = Buffer.from(plaintext);
    seen.set(key.toString('hex'), key);
  }
  return { keys: [...seen.values()], undecryptable };
}

/** Every `assetId` string anywhere in a JSON value (states, notifications, records). */
export function collectAssetIds(value: unknown, into = new Set<string>(), depth = 0): Set<string> {
  if (depth > 40 || value === null || typeof value !== 'object') {
    if (typeof value === 'string' && value.trim().startsWith('{')) {
      try {
        collectAssetIds(JSON.parse(value), into, depth + 1);
      } catch {
        // Not JSON.
      }
    }
    return into;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'assetId' && typeof v === 'string') into.add(v);
    else collectAssetIds(v, into, depth + 1);
  }
  return into;
}

/**
 * The transcoder's context plus, for each asset, the two contexts of the playback key's copies under the playback KMS
 * key (the key service's and the SPEKE key provider's). Decrypt names no KeyId, so blobs under either KMS key unwrap.
 */
export function withKeyServiceContexts(
  transcoderContext: Record<string, string>,
  assetIds: Iterable<string>,
): Array<Record<string, string>> {
  const perAsset = [...new Set(assetIds)].flatMap((id) => [
    { ...keyServiceContext(id) },
    { ...spekeKeyProviderContext(id) },
  ]);
  // The source key stays under its own context; the transcoder's copies may be under another (MediaConvert's).
  const source = sourceKeyContext();
  const sameAsTranscoder = JSON.stringify(source) === JSON.stringify(transcoderContext);
  return [transcoderContext, ...(sameAsTranscoder ? [] : [{ ...source }]), ...perAsset];
}

export interface KeyPattern {
  form: 'raw' | 'base64' | 'base64url' | 'hex' | 'HEX';
  bytes: Buffer;
}

/** Base64 characters fully determined by the key's bits when it starts `shift` bytes into the encoded data. */
function alignedBase64(key: Buffer, shift: number, url: boolean): string {
  const encoded = Buffer.concat([Buffer.alloc(shift), key]).toString(url ? 'base64url' : 'base64');
  const first = Math.ceil((8 * shift) / 6);
  const last = Math.floor((8 * (shift + key.length)) / 6);
  return encoded.slice(first, last);
}

export function keyPatterns(key: Buffer): KeyPattern[] {
  const patterns: KeyPattern[] = [
    { form: 'raw', bytes: key },
    { form: 'hex', bytes: Buffer.from(key.toString('hex')) },
    { form: 'HEX', bytes: Buffer.from(key.toString('hex').toUpperCase()) },
  ];
  for (const shift of [0, 1, 2]) {
    patterns.push({ form: 'base64', bytes: Buffer.from(alignedBase64(key, shift, false)) });
    patterns.push({ form: 'base64url', bytes: Buffer.from(alignedBase64(key, shift, true)) });
  }
  return patterns;
}

export interface LeakHit {
  where: string;
  form: KeyPattern['form'];
  /** Which recovered key (its index), so a report never repeats any part of the key itself. */
  keyIndex: number;
}

export function scanBuffer(where: string, data: Buffer, keys: Buffer[]): LeakHit[] {
  const hits: LeakHit[] = [];
  keys.forEach((key, keyIndex) => {
    for (const p of keyPatterns(key)) {
      if (data.includes(p.bytes)) hits.push({ where, form: p.form, keyIndex });
    }
  });
  return hits;
}

function* walk(dir: string, skip: (path: string) => boolean): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (skip(path)) continue;
    if (entry.isDirectory()) yield* walk(path, skip);
    else if (entry.isFile()) yield path;
  }
}

/** Scans every file under `root`; returns the hits and how many files and bytes were read. */
export function scanTree(root: string, keys: Buffer[], skip: (path: string) => boolean = () => false) {
  const hits: LeakHit[] = [];
  let files = 0;
  let bytes = 0;
  for (const path of walk(root, skip)) {
    const size = statSync(path).size;
    files += 1;
    bytes += size;
    hits.push(...scanBuffer(relative(root, path), readFileSync(path), keys));
  }
  return { hits, files, bytes };
}
