/**
 * ListObjects (v1 and v2), ListObjectVersions, ListParts and ListMultipartUploads as XML, from the object store's
 * index. Keys are compared as UTF-8 byte strings would be for the characters S3 keys use; `encoding-type=url`
 * percent-encodes keys, prefixes and delimiters in the answer as S3 does.
 */
import { type ObjectStore, S3StoreError, type VersionRecord } from './object-store.js';
import { doc, el, OWNER } from './xml.js';

function maxKeys(q: URLSearchParams): number {
  const raw = q.get('max-keys');
  if (raw !== null && !/^\d+$/.test(raw))
    throw new S3StoreError(
      'InvalidArgument',
      'Provided max-keys not an integer or within integer range',
      400,
    );
  return clampInt(raw, 1000, 1000);
}

const clampInt = (v: string | null, def: number, max: number) => {
  const n = v === null ? Number.NaN : Number.parseInt(v, 10);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, max) : def;
};

const encoder = (q: URLSearchParams) =>
  q.get('encoding-type') === 'url'
    ? (s: string) => encodeURIComponent(s).replace(/%2F/g, '/')
    : (s: string) => s;

interface Walk<T> {
  entries: T[];
  prefixes: string[];
  truncated: boolean;
  /** The last key (or common prefix) on the page. */
  last?: string;
}

/**
 * Walks keys after `marker` under `prefix`, folding keys that contain `delimiter` after the prefix into common
 * prefixes, until `max` entries + prefixes are on the page.
 */
function walk<T>(
  keys: string[],
  opts: { prefix: string; delimiter: string; marker: string; max: number },
  expand: (key: string) => T[],
): Walk<T> {
  const out: Walk<T> = { entries: [], prefixes: [], truncated: false };
  let count = 0;
  for (const key of keys) {
    if (!key.startsWith(opts.prefix)) continue;
    if (opts.marker && key <= opts.marker) continue;
    const commonPrefix = commonPrefixOf(opts.delimiter, opts.prefix, key);
    if (commonPrefix !== undefined) {
      if (out.prefixes.at(-1) === commonPrefix) continue;
      if (opts.marker && commonPrefix <= opts.marker) continue;
      if (count >= opts.max) {
        // S3 answers max-keys=0 with an empty, untruncated page.
        out.truncated = opts.max > 0;
        break;
      }
      out.prefixes.push(commonPrefix);
      out.last = commonPrefix;
      count += 1;
      continue;
    }
    const items = expand(key);
    if (items.length === 0) continue;
    if (count >= opts.max) {
      out.truncated = opts.max > 0;
      break;
    }
    out.entries.push(...items);
    out.last = key;
    count += 1;
  }
  return out;
}

const contents = (v: VersionRecord, enc: (s: string) => string, owner: boolean) =>
  `<Contents>${el('Key', enc(v.key))}${el('LastModified', v.lastModified)}${el('ETag', v.etag)}${v.checksum ? el('ChecksumAlgorithm', v.checksum.algorithm.toUpperCase()) : ''}${el('Size', v.size)}${owner ? `<Owner>${OWNER}</Owner>` : ''}${el('StorageClass', 'STANDARD')}</Contents>`;

const prefixesXml = (prefixes: string[], enc: (s: string) => string) =>
  prefixes.map((p) => `<CommonPrefixes>${el('Prefix', enc(p))}</CommonPrefixes>`).join('');

export function listObjectsXml(store: ObjectStore, bucket: string, q: URLSearchParams, v2: boolean): string {
  const enc = encoder(q);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const max = maxKeys(q);
  if (q.get('allow-unordered') === 'true' && delimiter)
    throw new S3StoreError(
      'InvalidArgument',
      'The allow-unordered parameter cannot be used when delimiter is specified.',
      400,
    );
  const token = q.get('continuation-token');
  const startAfter = q.get('start-after') ?? '';
  const marker = v2
    ? token
      ? Buffer.from(token, 'base64url').toString('utf8')
      : startAfter
    : (q.get('marker') ?? '');
  const page = walk(store.sortedKeys(bucket), { prefix, delimiter, marker, max }, (key) => {
    const current = store.find(bucket, key);
    return current && !current.deleteMarker ? [current] : [];
  });
  const items = page.entries.map((v) => contents(v, enc, !v2 || q.get('fetch-owner') === 'true')).join('');
  // ListObjects v1 returns its Prefix as given even with encoding-type=url (clients do not decode it).
  const common = `${el('Name', bucket)}${el('Prefix', v2 ? enc(prefix) : prefix)}${delimiter ? el('Delimiter', enc(delimiter)) : ''}${el('MaxKeys', max)}${q.has('encoding-type') ? el('EncodingType', q.get('encoding-type') ?? '') : ''}${el('IsTruncated', page.truncated)}`;
  if (v2) {
    const next =
      page.truncated && page.last
        ? el('NextContinuationToken', Buffer.from(page.last).toString('base64url'))
        : '';
    return doc(
      'ListBucketResult',
      `${common}${token !== null ? el('ContinuationToken', token) : ''}${startAfter ? el('StartAfter', enc(startAfter)) : ''}${el('KeyCount', page.entries.length + page.prefixes.length)}${next}${items}${prefixesXml(page.prefixes, enc)}`,
    );
  }
  // v1 names NextMarker only with a delimiter; without one clients continue from the last key.
  const next = page.truncated && delimiter && page.last ? el('NextMarker', enc(page.last)) : '';
  return doc(
    'ListBucketResult',
    `${common}${el('Marker', enc(marker))}${next}${items}${prefixesXml(page.prefixes, enc)}`,
  );
}

export function listVersionsXml(store: ObjectStore, bucket: string, q: URLSearchParams): string {
  const enc = encoder(q);
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const max = maxKeys(q);
  const keyMarker = q.get('key-marker') ?? '';
  const versionMarker = q.get('version-id-marker') ?? '';
  // Paging counts versions (and common prefixes), not keys: a key's versions may span pages.
  const shown: VersionRecord[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  let last: { key: string; versionId: string } | undefined;
  const full = () => shown.length + prefixes.length >= max;
  for (const key of store.sortedKeys(bucket)) {
    if (!key.startsWith(prefix)) continue;
    if (keyMarker && key < keyMarker) continue;
    const cp = commonPrefixOf(delimiter, prefix, key);
    if (cp !== undefined) {
      if (prefixes.at(-1) === cp || (keyMarker && cp <= keyMarker)) continue;
      if (full()) {
        truncated = true;
        break;
      }
      prefixes.push(cp);
      last = { key: cp, versionId: '' };
      continue;
    }
    let versions = store.versions(bucket, key);
    if (key === keyMarker) {
      if (!versionMarker) continue;
      const i = versions.findIndex((v) => v.versionId === versionMarker);
      versions = i >= 0 ? versions.slice(i + 1) : [];
    }
    for (const v of versions) {
      if (full()) {
        truncated = true;
        break;
      }
      shown.push(v);
      last = { key: v.key, versionId: v.versionId };
    }
    if (truncated) break;
  }
  const item = (v: VersionRecord) => {
    const latest = store.find(bucket, v.key)?.seq === v.seq;
    const common = `${el('Key', enc(v.key))}${el('VersionId', v.versionId)}${el('IsLatest', latest)}${el('LastModified', v.lastModified)}`;
    return v.deleteMarker
      ? `<DeleteMarker>${common}<Owner>${OWNER}</Owner></DeleteMarker>`
      : `<Version>${common}${el('ETag', v.etag)}${el('Size', v.size)}${el('StorageClass', 'STANDARD')}<Owner>${OWNER}</Owner></Version>`;
  };
  const next =
    truncated && last
      ? `${el('NextKeyMarker', enc(last.key))}${last.versionId ? el('NextVersionIdMarker', last.versionId) : ''}`
      : '';
  return doc(
    'ListVersionsResult',
    `${el('Name', bucket)}${el('Prefix', enc(prefix))}${el('KeyMarker', enc(keyMarker))}${el('VersionIdMarker', versionMarker)}${next}${delimiter ? el('Delimiter', enc(delimiter)) : ''}${el('MaxKeys', max)}${q.has('encoding-type') ? el('EncodingType', q.get('encoding-type') ?? '') : ''}${el('IsTruncated', truncated)}${shown.map(item).join('')}${prefixesXml(prefixes, enc)}`,
  );
}

/** The common prefix `key` folds into under `delimiter`, if any. */
function commonPrefixOf(delimiter: string, prefix: string, key: string): string | undefined {
  if (!delimiter) return undefined;
  const i = key.indexOf(delimiter, prefix.length);
  return i >= 0 ? key.slice(0, i + delimiter.length) : undefined;
}

export function listPartsXml(
  store: ObjectStore,
  uploadId: string,
  bucket: string,
  key: string,
  q: URLSearchParams,
) {
  const upload = store.upload(uploadId, bucket, key);
  const marker = clampInt(q.get('part-number-marker'), 0, 10_000);
  const maxParts = clampInt(q.get('max-parts'), 1000, 1000);
  const remaining = [...upload.parts.values()]
    .filter((p) => p.partNumber > marker)
    .sort((a, b) => a.partNumber - b.partNumber);
  const page = remaining.slice(0, maxParts);
  const truncated = remaining.length > page.length;
  const next = page.at(-1)?.partNumber ?? marker;
  const parts = page
    .map(
      (p) =>
        `<Part>${el('PartNumber', p.partNumber)}${el('LastModified', p.lastModified)}${el('ETag', p.etag)}${el('Size', p.size)}${p.checksum ? el(`Checksum${p.checksum.algorithm.toUpperCase()}`, p.checksum.value) : ''}</Part>`,
    )
    .join('');
  return doc(
    'ListPartsResult',
    `${el('Bucket', upload.bucket)}${el('Key', upload.key)}${el('UploadId', uploadId)}<Initiator>${OWNER}</Initiator><Owner>${OWNER}</Owner>${el('StorageClass', 'STANDARD')}${el('PartNumberMarker', marker)}${el('NextPartNumberMarker', next)}${el('MaxParts', maxParts)}${el('IsTruncated', truncated)}${upload.checksumAlgorithm ? el('ChecksumAlgorithm', upload.checksumAlgorithm.toUpperCase()) : ''}${parts}`,
  );
}

export function listUploadsXml(store: ObjectStore, bucket: string, q: URLSearchParams): string {
  store.bucket(bucket);
  const enc = encoder(q);
  const prefix = q.get('prefix') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const idMarker = q.get('upload-id-marker') ?? '';
  const max = clampInt(q.get('max-uploads'), 1000, 1000);
  const after = (u: { key: string; uploadId: string }) =>
    !keyMarker || u.key > keyMarker || (u.key === keyMarker && idMarker !== '' && u.uploadId > idMarker);
  const all = store
    .listUploads(bucket)
    .filter((u) => u.key.startsWith(prefix) && after(u))
    .sort((a, b) =>
      a.key === b.key
        ? a.initiated === b.initiated
          ? a.uploadId < b.uploadId
            ? -1
            : 1
          : a.initiated < b.initiated
            ? -1
            : 1
        : a.key < b.key
          ? -1
          : 1,
    );
  const page = all.slice(0, max);
  const truncated = all.length > page.length;
  const last = page.at(-1);
  const uploads = page
    .map(
      (u) =>
        `<Upload>${el('Key', enc(u.key))}${el('UploadId', u.uploadId)}<Initiator>${OWNER}</Initiator><Owner>${OWNER}</Owner>${el('StorageClass', 'STANDARD')}${el('Initiated', u.initiated)}</Upload>`,
    )
    .join('');
  return doc(
    'ListMultipartUploadsResult',
    `${el('Bucket', bucket)}${el('KeyMarker', enc(keyMarker))}${el('UploadIdMarker', idMarker)}${truncated && last ? el('NextKeyMarker', enc(last.key)) + el('NextUploadIdMarker', last.uploadId) : ''}${el('Prefix', enc(prefix))}${el('MaxUploads', max)}${el('IsTruncated', truncated)}${uploads}`,
  );
}
