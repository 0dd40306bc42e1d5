/** Helpers shared by the local S3's operations: S3 answers and errors, body reading, conditional and header rules. */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { fromHeaderBytes, readBody, sendRestXmlError, toHeaderBytes } from '../http/index.js';
import { type ObjectStore, S3StoreError, type VersionRecord } from './object-store.js';
import { MalformedXmlError, newRequestId, parseXmlBody, type XmlNode } from './xml.js';

export type ObjectCreatedEventName =
  | 'ObjectCreated:Put'
  | 'ObjectCreated:CompleteMultipartUpload'
  | 'ObjectCreated:Copy';

export interface CreatedObject {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  /** Only when the bucket is versioned (S3 leaves it out of events otherwise). */
  versionId?: string;
  eventName: ObjectCreatedEventName;
}

export interface S3ApiOptions {
  store: ObjectStore;
  onCreated: (o: CreatedObject) => void;
}

/** What every S3 operation works over: the store and the sink for ObjectCreated events. */
export type S3Context = S3ApiOptions;

export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const STORED_HEADERS = [
  'content-encoding',
  'content-disposition',
  'content-language',
  'cache-control',
  'expires',
  // Recorded and answered as S3 does; the local store itself is plaintext on disk under a private directory.
  'x-amz-server-side-encryption',
];
export const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};
/** Sub-resources this local S3 does not implement: answered with NotImplemented rather than misread as data. */
export const UNSUPPORTED = [
  'policy',
  'cors',
  'lifecycle',
  'notification',
  'encryption',
  'website',
  'logging',
  'replication',
  'object-lock',
  'retention',
  'legal-hold',
  'ownershipControls',
  'publicAccessBlock',
  'accelerate',
  'requestPayment',
  'analytics',
  'metrics',
  'inventory',
  'intelligent-tiering',
  'restore',
  'select',
  'torrent',
  'attributes',
  'policyStatus',
];

export const err = (code: string, message: string, status = 400) => new S3StoreError(code, message, status);

export const malformedXml = () =>
  err(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema.',
  );

/** A request body as XML, or S3's MalformedXML when it is not well-formed. */
export function parseS3XmlBody(body: string): XmlNode {
  try {
    return parseXmlBody(body);
  } catch (e) {
    if (e instanceof MalformedXmlError) throw malformedXml();
    throw e;
  }
}
export const noSuchKey = () => err('NoSuchKey', 'The specified key does not exist.', 404);

export function send(
  res: ServerResponse,
  status: number,
  body?: string,
  headers: Record<string, string> = {},
): void {
  const h: Record<string, string | number> = { ...headers };
  if (body !== undefined) {
    h['content-type'] = 'application/xml';
    h['content-length'] = Buffer.byteLength(body);
  } else if (status !== 204 && status !== 304) h['content-length'] = 0;
  res.writeHead(status, h);
  res.end(body);
}

export function sendError(
  res: ServerResponse,
  e: S3StoreError,
  resource: string,
  method: string,
  extra: Record<string, string> = {},
): void {
  const requestId = String(res.getHeader('x-amz-request-id') ?? newRequestId());
  sendRestXmlError(res, e.status, e.code, e.message, { resource, requestId, method, headers: extra });
}

/** Reads and discards a body the operation does not use, so the connection stays usable. */
export function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    req.on('end', resolve);
    req.on('error', () => resolve());
    req.resume();
  });
}

/** An XML request document (tagging, multipart completion, …), refused as S3 does past `limit`. */
export async function readSmallBody(req: IncomingMessage, limit = 2 * 1024 * 1024): Promise<string> {
  const body = await readBody(req, limit, () => err('MaxMessageLengthExceeded', 'Your request was too big.'));
  return body.toString('utf8');
}

export const unquote = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
export const etagMatches = (header: string, etag: string) =>
  header.split(',').some((t) => t.trim() === '*' || unquote(t) === unquote(etag));
/**
 * A conditional write (PutObject, CompleteMultipartUpload): `If-None-Match` refuses to replace a live object whose
 * ETag matches (`*`: any), `If-Match` requires one that matches; no live object answers NoSuchKey to `If-Match`.
 */
export function writeConditionFailure(
  ctx: S3Context,
  req: IncomingMessage,
  bucket: string,
  key: string,
): S3StoreError | undefined {
  const current = ctx.store.find(bucket, key);
  const live = current && !current.deleteMarker ? current : undefined;
  const ifNoneMatch = req.headers['if-none-match'];
  const ifMatch = req.headers['if-match'];
  if (typeof ifMatch === 'string' && !live) return noSuchKey();
  if (
    (typeof ifNoneMatch === 'string' && live && etagMatches(ifNoneMatch, live.etag)) ||
    (typeof ifMatch === 'string' && live && !etagMatches(ifMatch, live.etag))
  )
    return err('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
  return undefined;
}

/** HTTP dates (Last-Modified, If-Modified-Since) carry whole seconds: times are compared at that precision. */
export const wholeEpochSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
export const httpDate = (iso: string) => new Date(iso).toUTCString();

/** Writes name the version they created; the `null` version of an unversioned or suspended bucket goes unnamed. */
export const versionHeader = (v: VersionRecord): Record<string, string> =>
  v.versionId === 'null' ? {} : { 'x-amz-version-id': v.versionId };

/** Evaluates conditional headers (RFC 7232 order, as S3 does). Returns the status to answer instead, if any. */
export function precondition(
  h: Record<string, string | string[] | undefined>,
  v: VersionRecord,
  names = {
    match: 'if-match',
    noneMatch: 'if-none-match',
    modified: 'if-modified-since',
    unmodified: 'if-unmodified-since',
  },
  notModified = 304,
): number | undefined {
  const ifMatch = h[names.match];
  const ifNoneMatch = h[names.noneMatch];
  const ifModified = h[names.modified];
  const ifUnmodified = h[names.unmodified];
  const modified = wholeEpochSeconds(v.lastModified);
  if (typeof ifMatch === 'string') {
    if (!etagMatches(ifMatch, v.etag)) return 412;
  } else if (typeof ifUnmodified === 'string') {
    const t = Date.parse(ifUnmodified);
    if (Number.isFinite(t) && modified > Math.floor(t / 1000)) return 412;
  }
  if (typeof ifNoneMatch === 'string') {
    if (etagMatches(ifNoneMatch, v.etag)) return notModified;
  } else if (typeof ifModified === 'string') {
    const t = Date.parse(ifModified);
    if (Number.isFinite(t) && modified <= Math.floor(t / 1000)) return notModified;
  }
  return undefined;
}

/**
 * Node reads header bytes as latin1. Metadata arrives as UTF-8 from most clients, so it is stored decoded when the
 * bytes are valid UTF-8 (and as received otherwise). On the way out, text that fits latin1 goes out as latin1 bytes
 * (what Node writes), anything wider as its UTF-8 bytes.
 */
export function newObjectAttributes(req: IncomingMessage) {
  const headers: Record<string, string> = {};
  for (const h of STORED_HEADERS) {
    const value = req.headers[h];
    if (typeof value !== 'string') continue;
    // aws-chunked is transfer framing, not a property of the object.
    const kept =
      h === 'content-encoding'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s && s !== 'aws-chunked')
            .join(', ')
        : value;
    if (kept) headers[h] = kept;
  }
  const metadata: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    if (name.startsWith('x-amz-meta-'))
      metadata[name.slice('x-amz-meta-'.length)] = fromHeaderBytes(req.rawHeaders[i + 1] ?? '');
  }
  const tagging = req.headers['x-amz-tagging'];
  const tags = typeof tagging === 'string' ? [...new URLSearchParams(tagging).entries()] : [];
  const contentType = req.headers['content-type'];
  return {
    ...(typeof contentType === 'string' ? { contentType } : {}),
    ...(Object.keys(headers).length ? { headers } : {}),
    ...(Object.keys(metadata).length ? { metadata } : {}),
    ...(tags.length ? { tags } : {}),
  };
}

export function objectHeaders(v: VersionRecord, versioned: boolean): Record<string, string> {
  const h: Record<string, string> = {
    etag: v.etag,
    'last-modified': httpDate(v.lastModified),
    'accept-ranges': 'bytes',
    'content-type': v.contentType ?? 'binary/octet-stream',
    ...(v.headers ?? {}),
  };
  for (const [k, value] of Object.entries(v.metadata ?? {})) h[`x-amz-meta-${k}`] = toHeaderBytes(value);
  if (v.tags?.length) h['x-amz-tagging-count'] = String(v.tags.length);
  if (versioned) h['x-amz-version-id'] = v.versionId;
  if (v.partSizes) h['x-amz-mp-parts-count'] = String(v.partSizes.length);
  return h;
}

export function parseRange(
  header: string,
  size: number,
): { start: number; end: number } | 'invalid' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Multiple ranges and other units: S3 answers the whole object.
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    const n = Number(b);
    if (n === 0) return 'invalid';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return undefined;
  if (start >= size) return 'invalid';
  return { start, end };
}

export function parseCopySource(header: string): { bucket: string; key: string; versionId?: string } {
  const [path = '', query = ''] = header.split('?');
  const decoded = decodeURIComponent(path.replace(/^\//, ''));
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1)
    throw err(
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
    );
  const versionId = new URLSearchParams(query).get('versionId') ?? undefined;
  return {
    bucket: decoded.slice(0, slash),
    key: decoded.slice(slash + 1),
    ...(versionId ? { versionId } : {}),
  };
}

export function versioned(ctx: S3Context, bucket: string): boolean {
  return ctx.store.bucket(bucket).versioning !== undefined;
}

export function created(
  ctx: S3Context,
  bucket: string,
  v: VersionRecord,
  eventName: CreatedObject['eventName'],
): void {
  ctx.onCreated({
    bucket,
    key: v.key,
    size: v.size,
    etag: v.etag,
    eventName,
    ...(versioned(ctx, bucket) ? { versionId: v.versionId } : {}),
  });
}

/** The version a read names, or the S3 error for its absence. */
export function readable(
  ctx: S3Context,
  bucket: string,
  key: string,
  versionId: string | undefined,
): VersionRecord {
  const v = ctx.store.find(bucket, key, versionId);
  if (!v) {
    if (versionId === undefined) throw noSuchKey();
    throw err('NoSuchVersion', 'The specified version does not exist.', 404);
  }
  return v;
}
