/**
 * The S3 REST API (path-style) over the on-disk object store: buckets, versioning, objects (streamed PUT/GET with
 * Range, conditional requests, checksums), copy, multipart (including UploadPartCopy), tagging, listings. Every
 * write answers only after the store has made it durable. Errors are S3 XML documents with S3's codes.
 */

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Hasher, MAX_PUT_BYTES, type ReceivedBody, receiveBody } from './body.js';
import { checksumAlgorithm, createDigest, UnsupportedChecksumError } from './checksums.js';
import { listObjectsXml, listPartsXml, listUploadsXml, listVersionsXml } from './listing.js';
import { type ObjectStore, S3StoreError, type UploadRecord, type VersionRecord } from './object-store.js';
import type { S3Request } from './operations.js';
import { doc, el, errorXml, newRequestId, OWNER, unescapeXml, xmlValue } from './xml.js';

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

const MIN_PART_BYTES = 5 * 1024 * 1024;
const STORED_HEADERS = [
  'content-encoding',
  'content-disposition',
  'content-language',
  'cache-control',
  'expires',
];
const RESPONSE_OVERRIDES: Record<string, string> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};
/** Sub-resources this local S3 does not implement: answered with NotImplemented rather than misread as data. */
const UNSUPPORTED = [
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

const err = (code: string, message: string, status = 400) => new S3StoreError(code, message, status);
const noSuchKey = () => err('NoSuchKey', 'The specified key does not exist.', 404);

function send(
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
  const body = errorXml(e.code, e.message, resource, requestId);
  res.writeHead(e.status, {
    ...extra,
    'content-type': 'application/xml',
    'content-length': method === 'HEAD' ? 0 : Buffer.byteLength(body),
  });
  res.end(method === 'HEAD' ? undefined : body);
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

async function readSmallBody(req: IncomingMessage, limit = 2 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw err('MaxMessageLengthExceeded', 'Your request was too big.');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const unquote = (etag: string) => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
const etagMatches = (header: string, etag: string) =>
  header.split(',').some((t) => t.trim() === '*' || unquote(t) === unquote(etag));
const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
const httpDate = (iso: string) => new Date(iso).toUTCString();

/** Writes name the version they created; the `null` version of an unversioned or suspended bucket goes unnamed. */
const versionHeader = (v: VersionRecord): Record<string, string> =>
  v.versionId === 'null' ? {} : { 'x-amz-version-id': v.versionId };

/** Evaluates conditional headers (RFC 7232 order, as S3 does). Returns the status to answer instead, if any. */
function precondition(
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
  const modified = seconds(v.lastModified);
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
function fromHeaderBytes(raw: string): string {
  const bytes = Buffer.from(raw, 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : raw;
}

function toHeaderBytes(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the latin1 repertoire Node can write
  return /^[\u0000-\u00ff]*$/.test(value) ? value : Buffer.from(value, 'utf8').toString('latin1');
}

function newObjectAttributes(req: IncomingMessage) {
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

function objectHeaders(v: VersionRecord, versioned: boolean): Record<string, string> {
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

function parseRange(header: string, size: number): { start: number; end: number } | 'invalid' | undefined {
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

function parseCopySource(header: string): { bucket: string; key: string; versionId?: string } {
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

export interface S3ApiOptions {
  store: ObjectStore;
  onCreated: (o: CreatedObject) => void;
}

export class S3Api {
  constructor(private readonly opts: S3ApiOptions) {}

  private get store(): ObjectStore {
    return this.opts.store;
  }

  private versioned(bucket: string): boolean {
    return this.store.bucket(bucket).versioning !== undefined;
  }

  /** Answers one S3 request; S3 errors become XML answers, anything else propagates (the gateway answers 500). */
  async handle(req: IncomingMessage, res: ServerResponse, op: S3Request): Promise<void> {
    const method = req.method ?? 'GET';
    res.setHeader('x-amz-request-id', newRequestId());
    try {
      await this.route(req, res, op, method);
    } catch (e) {
      if (!(e instanceof S3StoreError)) throw e;
      await drain(req);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, e, op.key ? `/${op.bucket}/${op.key}` : `/${op.bucket ?? ''}`, method);
    }
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    op: S3Request,
    method: string,
  ): Promise<void> {
    const q = op.query;
    if (q.has('acl') && op.bucket) return this.acl(req, res, op, method);
    const sub = UNSUPPORTED.find((s) => q.has(s));
    if (sub) {
      await drain(req);
      throw err('NotImplemented', `The ${sub} sub-resource is not implemented by the local S3`, 501);
    }
    if (!op.bucket) {
      await drain(req);
      if (method !== 'GET')
        throw err('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
      return this.listBuckets(res);
    }
    if (!op.key) return this.bucketRequest(req, res, op.bucket, q, method);
    if (!this.store.hasBucket(op.bucket)) {
      await drain(req);
      throw err('NoSuchBucket', 'The specified bucket does not exist', 404);
    }
    return this.objectRequest(req, res, op, method);
  }

  /** One owner with full control: reading it works; changing it is not supported. */
  private async acl(req: IncomingMessage, res: ServerResponse, op: S3Request, method: string) {
    await drain(req);
    this.store.bucket(op.bucket ?? '');
    if (op.key) {
      const v = this.readable(op.bucket ?? '', op.key, op.query.get('versionId') ?? undefined);
      if (v.deleteMarker) throw noSuchKey();
    }
    if (method !== 'GET')
      throw err('NotImplemented', 'Changing ACLs is not implemented by the local S3', 501);
    const grant = `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">${OWNER}</Grantee>${el('Permission', 'FULL_CONTROL')}</Grant>`;
    send(
      res,
      200,
      doc('AccessControlPolicy', `<Owner>${OWNER}</Owner><AccessControlList>${grant}</AccessControlList>`),
    );
  }

  // ---- buckets -----------------------------------------------------------------------------------------------

  private listBuckets(res: ServerResponse): void {
    const buckets = this.store
      .listBuckets()
      .map((b) => `<Bucket>${el('Name', b.name)}${el('CreationDate', b.created)}</Bucket>`)
      .join('');
    send(res, 200, doc('ListAllMyBucketsResult', `<Owner>${OWNER}</Owner><Buckets>${buckets}</Buckets>`));
  }

  private async bucketRequest(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    q: URLSearchParams,
    method: string,
  ) {
    if (method === 'PUT' && q.has('versioning')) {
      const body = await readSmallBody(req);
      const status = xmlValue(body, 'Status');
      if (status !== 'Enabled' && status !== 'Suspended')
        throw err(
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema.',
        );
      await this.store.setVersioning(bucket, status);
      return send(res, 200);
    }
    if (method === 'POST' && q.has('delete')) return this.deleteObjects(req, res, bucket);
    await drain(req);
    switch (method) {
      case 'PUT': {
        if (q.has('tagging'))
          throw err('NotImplemented', 'Bucket tagging is not implemented by the local S3', 501);
        if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..'))
          throw err('InvalidBucketName', 'The specified bucket is not valid.');
        // In us-east-1 (this stack's region) creating a bucket you already own succeeds again.
        await this.store.createBucket(bucket);
        return send(res, 200, undefined, { location: `/${bucket}` });
      }
      case 'HEAD':
        this.store.bucket(bucket);
        return send(res, 200, undefined, { 'x-amz-bucket-region': 'us-east-1' });
      case 'DELETE':
        await this.store.deleteBucket(bucket);
        return send(res, 204);
      case 'GET': {
        const b = this.store.bucket(bucket);
        if (q.has('versioning'))
          return send(
            res,
            200,
            doc('VersioningConfiguration', b.versioning ? el('Status', b.versioning) : ''),
          );
        if (q.has('location')) return send(res, 200, doc('LocationConstraint', ''));
        if (q.has('versions')) return send(res, 200, listVersionsXml(this.store, bucket, q));
        if (q.has('uploads')) return send(res, 200, listUploadsXml(this.store, bucket, q));
        if (q.has('tagging')) throw err('NoSuchTagSet', 'The TagSet does not exist', 404);
        return send(res, 200, listObjectsXml(this.store, bucket, q, q.get('list-type') === '2'));
      }
      default:
        throw err('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
    }
  }

  // ---- objects -----------------------------------------------------------------------------------------------

  private async objectRequest(req: IncomingMessage, res: ServerResponse, op: S3Request, method: string) {
    const bucket = op.bucket ?? '';
    const key = op.key ?? '';
    const q = op.query;
    if (key.length > 1024) throw err('KeyTooLongError', 'Your key is too long');
    switch (op.operation) {
      case 'PutObject':
        return this.putObject(req, res, bucket, key);
      case 'CopyObject':
        await drain(req);
        return this.copyObject(req, res, bucket, key);
      case 'GetObject':
      case 'HeadObject':
        await drain(req);
        return this.getObject(req, res, bucket, key, q, method === 'HEAD');
      case 'DeleteObject':
        await drain(req);
        return this.deleteObject(res, bucket, key, q.get('versionId') ?? undefined);
      case 'CreateMultipartUpload':
        await drain(req);
        return this.createUpload(req, res, bucket, key);
      case 'UploadPart':
      case 'UploadPartCopy':
        return this.uploadPart(req, res, bucket, key, q, op.operation === 'UploadPartCopy');
      case 'CompleteMultipartUpload':
        return this.completeUpload(req, res, bucket, key, q.get('uploadId') ?? '');
      case 'AbortMultipartUpload':
        await drain(req);
        this.store.upload(q.get('uploadId') ?? '', bucket, key);
        await this.store.removeUpload(q.get('uploadId') ?? '');
        return send(res, 204);
      case 'ListParts':
        await drain(req);
        return send(res, 200, listPartsXml(this.store, q.get('uploadId') ?? '', bucket, key, q));
      case 'GetObjectTagging':
      case 'PutObjectTagging':
      case 'DeleteObjectTagging':
        return this.tagging(req, res, bucket, key, q, op.operation);
      default:
        await drain(req);
        throw err('NotImplemented', `${op.operation} is not implemented by the local S3`, 501);
    }
  }

  private async putObject(req: IncomingMessage, res: ServerResponse, bucket: string, key: string) {
    const current = this.store.find(bucket, key);
    const live = current && !current.deleteMarker ? current : undefined;
    const ifNoneMatch = req.headers['if-none-match'];
    const ifMatch = req.headers['if-match'];
    if (
      (typeof ifNoneMatch === 'string' && live && etagMatches(ifNoneMatch, live.etag)) ||
      (typeof ifMatch === 'string' && (!live || !etagMatches(ifMatch, live.etag)))
    ) {
      await drain(req);
      if (typeof ifMatch === 'string' && !live) throw noSuchKey();
      throw err('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
    }
    const body = await receiveBody(this.store, req);
    const v = await this.store.commit(
      bucket,
      {
        key,
        lastModified: new Date().toISOString(),
        size: body.size,
        etag: body.etag,
        ...newObjectAttributes(req),
        ...(body.checksum ? { checksum: { ...body.checksum, type: 'FULL_OBJECT' as const } } : {}),
      },
      body,
    );
    send(res, 200, undefined, {
      etag: v.etag,
      ...versionHeader(v),
      ...(body.checksum ? { [`x-amz-checksum-${body.checksum.algorithm}`]: body.checksum.value } : {}),
    });
    this.created(bucket, v, 'ObjectCreated:Put');
  }

  private created(bucket: string, v: VersionRecord, eventName: CreatedObject['eventName']): void {
    this.opts.onCreated({
      bucket,
      key: v.key,
      size: v.size,
      etag: v.etag,
      eventName,
      ...(this.versioned(bucket) ? { versionId: v.versionId } : {}),
    });
  }

  /** The version a read names, or the S3 error for its absence. */
  private readable(bucket: string, key: string, versionId: string | undefined): VersionRecord {
    const v = this.store.find(bucket, key, versionId);
    if (!v) {
      if (versionId === undefined) throw noSuchKey();
      throw err('NoSuchVersion', 'The specified version does not exist.', 404);
    }
    return v;
  }

  private async getObject(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    key: string,
    q: URLSearchParams,
    head: boolean,
  ) {
    const versionId = q.get('versionId') ?? undefined;
    const versioned = this.versioned(bucket);
    const v = this.readable(bucket, key, versionId);
    const method = head ? 'HEAD' : 'GET';
    if (v.deleteMarker) {
      const headers = { 'x-amz-delete-marker': 'true', 'x-amz-version-id': v.versionId };
      if (versionId !== undefined)
        return sendError(
          res,
          err('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405),
          `/${bucket}/${key}`,
          method,
          { ...headers, 'last-modified': httpDate(v.lastModified) },
        );
      return sendError(res, noSuchKey(), `/${bucket}/${key}`, method, headers);
    }
    const headers = objectHeaders(v, versioned);
    const status = precondition(req.headers, v);
    if (status === 412)
      return sendError(
        res,
        err('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412),
        `/${bucket}/${key}`,
        method,
      );
    if (status === 304) {
      // A 304 carries the validators, so a cache can tell what it still holds.
      res.writeHead(304, {
        etag: v.etag,
        'last-modified': headers['last-modified'] ?? '',
        ...(versioned ? { 'x-amz-version-id': v.versionId } : {}),
      });
      res.end();
      return;
    }
    for (const [param, header] of Object.entries(RESPONSE_OVERRIDES)) {
      const value = q.get(param);
      if (value !== null) headers[header] = value;
    }
    let range: { start: number; end: number } | undefined;
    const partNumber = q.get('partNumber');
    if (partNumber !== null) {
      const n = Number(partNumber);
      const sizes = v.partSizes ?? [v.size];
      if (!Number.isInteger(n) || n < 1 || n > sizes.length)
        throw err('InvalidPart', 'The requested partnumber is not satisfiable');
      const start = sizes.slice(0, n - 1).reduce((a, b) => a + b, 0);
      range = { start, end: start + (sizes[n - 1] ?? 0) - 1 };
    } else if (typeof req.headers.range === 'string') {
      const parsed = parseRange(req.headers.range, v.size);
      if (parsed === 'invalid') {
        return sendError(
          res,
          err('InvalidRange', 'The requested range is not satisfiable', 416),
          `/${bucket}/${key}`,
          method,
          { 'content-range': `bytes */${v.size}` },
        );
      }
      range = parsed;
    }
    if (!range && v.checksum && req.headers['x-amz-checksum-mode'] === 'ENABLED') {
      headers[`x-amz-checksum-${v.checksum.algorithm}`] = v.checksum.value;
      headers['x-amz-checksum-type'] = v.checksum.type ?? 'FULL_OBJECT';
    }
    const length = range ? range.end - range.start + 1 : v.size;
    if (range && v.size > 0) headers['content-range'] = `bytes ${range.start}-${range.end}/${v.size}`;
    res.writeHead(range && v.size > 0 ? 206 : 200, {
      ...headers,
      'content-length': String(Math.max(0, length)),
    });
    if (head || length <= 0) {
      res.end();
      return;
    }
    await pipeline(this.store.openRead(bucket, v, range?.start, range?.end), res).catch(() => res.destroy());
  }

  private async deleteObject(
    res: ServerResponse,
    bucket: string,
    key: string,
    versionId: string | undefined,
  ) {
    const result = await this.deleteOne(bucket, key, versionId);
    send(res, 204, undefined, {
      ...(result.versionId ? { 'x-amz-version-id': result.versionId } : {}),
      ...(result.deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}),
    });
  }

  private async deleteOne(
    bucket: string,
    key: string,
    versionId: string | undefined,
  ): Promise<{ versionId?: string; deleteMarker?: boolean }> {
    const b = this.store.bucket(bucket);
    if (versionId !== undefined) {
      const removed = await this.store.removeVersion(bucket, key, versionId);
      return { versionId, ...(removed?.deleteMarker ? { deleteMarker: true } : {}) };
    }
    if (!b.versioning) {
      await this.store.removeVersion(bucket, key, 'null');
      return {};
    }
    const marker = await this.store.commit(bucket, {
      key,
      lastModified: new Date().toISOString(),
      size: 0,
      etag: '',
      deleteMarker: true,
    });
    return { versionId: marker.versionId, deleteMarker: true };
  }

  private async deleteObjects(req: IncomingMessage, res: ServerResponse, bucket: string) {
    this.store.bucket(bucket);
    const body = await readSmallBody(req);
    const quiet = xmlValue(body, 'Quiet') === 'true';
    const objects = [...body.matchAll(/<Object>([\s\S]*?)<\/Object>/g)].map((m) => ({
      key: xmlValue(m[1] ?? '', 'Key'),
      versionId: xmlValue(m[1] ?? '', 'VersionId'),
    }));
    if (objects.length === 0 || objects.length > 1000 || objects.some((o) => o.key === undefined))
      throw err(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema.',
      );
    let out = '';
    for (const o of objects) {
      const key = o.key ?? '';
      try {
        const r = await this.deleteOne(bucket, key, o.versionId);
        if (quiet) continue;
        out += `<Deleted>${el('Key', key)}${o.versionId ? el('VersionId', o.versionId) : ''}${r.deleteMarker ? el('DeleteMarker', true) : ''}${r.deleteMarker && !o.versionId && r.versionId ? el('DeleteMarkerVersionId', r.versionId) : ''}</Deleted>`;
      } catch (e) {
        if (!(e instanceof S3StoreError)) throw e;
        out += `<Error>${el('Key', key)}${el('Code', e.code)}${el('Message', e.message)}</Error>`;
      }
    }
    send(res, 200, doc('DeleteResult', out));
  }

  private copySource(req: IncomingMessage): { bucket: string; v: VersionRecord; versionId?: string } {
    const src = parseCopySource(String(req.headers['x-amz-copy-source'] ?? ''));
    if (!this.store.hasBucket(src.bucket))
      throw err('NoSuchBucket', 'The specified bucket does not exist', 404);
    const v = this.readable(src.bucket, src.key, src.versionId);
    if (v.deleteMarker) {
      if (src.versionId)
        throw err(
          'InvalidRequest',
          'The source of a copy request may not specifically refer to a delete marker by version id.',
        );
      throw noSuchKey();
    }
    const status = precondition(
      req.headers,
      v,
      {
        match: 'x-amz-copy-source-if-match',
        noneMatch: 'x-amz-copy-source-if-none-match',
        modified: 'x-amz-copy-source-if-modified-since',
        unmodified: 'x-amz-copy-source-if-unmodified-since',
      },
      412,
    );
    if (status)
      throw err('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
    return { bucket: src.bucket, v, ...(src.versionId ? { versionId: src.versionId } : {}) };
  }

  private async copyObject(req: IncomingMessage, res: ServerResponse, bucket: string, key: string) {
    const src = this.copySource(req);
    const replaceMeta = req.headers['x-amz-metadata-directive'] === 'REPLACE';
    const replaceTags = req.headers['x-amz-tagging-directive'] === 'REPLACE';
    if (
      src.bucket === bucket &&
      src.v.key === key &&
      !replaceMeta &&
      !src.versionId &&
      !this.versioned(bucket)
    )
      throw err(
        'InvalidRequest',
        "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      );
    if (src.v.size > MAX_PUT_BYTES)
      throw err(
        'InvalidRequest',
        'The specified copy source is larger than the maximum allowable size for a copy source: 5368709120',
      );
    const attrs = newObjectAttributes(req);
    const { contentType, headers, metadata } = replaceMeta ? attrs : src.v;
    const tags = replaceTags ? attrs.tags : src.v.tags;
    const temp = src.v.size > 0 ? await this.store.copyToTemp(src.bucket, src.v) : undefined;
    const v = await this.store.commit(
      bucket,
      {
        key,
        lastModified: new Date().toISOString(),
        size: src.v.size,
        etag: src.v.etag,
        ...(contentType ? { contentType } : {}),
        ...(headers ? { headers } : {}),
        ...(metadata ? { metadata } : {}),
        ...(tags?.length ? { tags } : {}),
        ...(src.v.checksum ? { checksum: src.v.checksum } : {}),
        ...(src.v.partSizes ? { partSizes: src.v.partSizes } : {}),
      },
      temp ? { temp, size: src.v.size, etag: src.v.etag } : undefined,
    );
    send(res, 200, doc('CopyObjectResult', `${el('LastModified', v.lastModified)}${el('ETag', v.etag)}`), {
      ...versionHeader(v),
      ...(this.versioned(src.bucket) ? { 'x-amz-copy-source-version-id': src.v.versionId } : {}),
    });
    this.created(bucket, v, 'ObjectCreated:Copy');
  }

  // ---- multipart ---------------------------------------------------------------------------------------------

  private async createUpload(req: IncomingMessage, res: ServerResponse, bucket: string, key: string) {
    const declared = req.headers['x-amz-checksum-algorithm'];
    let checksum: string | undefined;
    try {
      checksum = typeof declared === 'string' ? checksumAlgorithm(declared) : undefined;
    } catch (e) {
      if (e instanceof UnsupportedChecksumError) throw err('InvalidRequest', e.message);
      throw e;
    }
    const upload = await this.store.createUpload({
      bucket,
      key,
      ...newObjectAttributes(req),
      ...(checksum ? { checksumAlgorithm: checksum } : {}),
    });
    send(
      res,
      200,
      doc(
        'InitiateMultipartUploadResult',
        `${el('Bucket', bucket)}${el('Key', key)}${el('UploadId', upload.uploadId)}`,
      ),
      checksum ? { 'x-amz-checksum-algorithm': checksum.toUpperCase() } : {},
    );
  }

  private async uploadPart(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    key: string,
    q: URLSearchParams,
    copy: boolean,
  ) {
    const uploadId = q.get('uploadId') ?? '';
    const partNumber = Number(q.get('partNumber'));
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
      await drain(req);
      throw err('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
    }
    try {
      this.store.upload(uploadId, bucket, key);
    } catch (e) {
      await drain(req);
      throw e;
    }
    if (!copy) {
      const body = await receiveBody(this.store, req);
      const part = await this.store.putPart(uploadId, partNumber, body, body.checksum);
      return send(res, 200, undefined, {
        etag: part.etag,
        ...(body.checksum ? { [`x-amz-checksum-${body.checksum.algorithm}`]: body.checksum.value } : {}),
      });
    }
    await drain(req);
    const src = this.copySource(req);
    let start = 0;
    let end = src.v.size - 1;
    const rangeHeader = req.headers['x-amz-copy-source-range'];
    if (typeof rangeHeader === 'string') {
      const m = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader.trim());
      if (!m)
        throw err(
          'InvalidArgument',
          'The x-amz-copy-source-range value must be of the form bytes=first-last',
        );
      if (Number(m[2]) >= src.v.size || Number(m[1]) > Number(m[2]))
        throw err('InvalidRange', 'The requested range is not satisfiable', 416);
      start = Number(m[1]);
      end = Number(m[2]);
    }
    if (end - start + 1 > MAX_PUT_BYTES)
      throw err('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
    const hasher = new Hasher(undefined, MAX_PUT_BYTES);
    const temp = await this.store.receive(
      this.store.openRead(src.bucket, src.v, start, Math.max(start, end)),
      [hasher],
    );
    const part = await this.store.putPart(uploadId, partNumber, {
      temp,
      size: hasher.size,
      etag: `"${hasher.md5Hex()}"`,
    });
    send(
      res,
      200,
      doc('CopyPartResult', `${el('LastModified', part.lastModified)}${el('ETag', part.etag)}`),
      this.versioned(src.bucket) ? { 'x-amz-copy-source-version-id': src.v.versionId } : {},
    );
  }

  private async completeUpload(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    key: string,
    uploadId: string,
  ) {
    const body = await readSmallBody(req);
    // A retried Complete whose first answer was lost finds the object it created, as on S3.
    const done = this.store.versions(bucket, key).find((v) => v.uploadId === uploadId && !v.deleteMarker);
    if (done) return this.completed(res, bucket, done);
    const upload = this.store.upload(uploadId, bucket, key);
    const requested = [...body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
      partNumber: Number(xmlValue(m[1] ?? '', 'PartNumber')),
      etag: unescapeXml(xmlValue(m[1] ?? '', 'ETag') ?? ''),
    }));
    if (requested.length === 0)
      throw err(
        'MalformedXML',
        'The XML you provided was not well-formed or did not validate against our published schema.',
      );
    const parts = requested.map((r, i) => {
      if (i > 0 && r.partNumber <= (requested[i - 1]?.partNumber ?? 0))
        throw err(
          'InvalidPartOrder',
          'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
        );
      const part = upload.parts.get(r.partNumber);
      if (!part || unquote(part.etag) !== unquote(r.etag))
        throw err(
          'InvalidPart',
          "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag might not have matched the part's entity tag.",
        );
      return part;
    });
    parts.forEach((p, i) => {
      if (i < parts.length - 1 && p.size < MIN_PART_BYTES)
        throw err('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed object size.');
    });
    const size = parts.reduce((a, p) => a + p.size, 0);
    const md5s = createHash('md5');
    for (const p of parts) md5s.update(Buffer.from(unquote(p.etag), 'hex'));
    const etag = `"${md5s.digest('hex')}-${parts.length}"`;
    const temp =
      size > 0
        ? await this.store.receive(
            parts.map((p) => this.store.partStream(uploadId, p)),
            [],
          )
        : undefined;
    const checksum = compositeChecksum(upload, parts);
    const claimed = checksum && req.headers[`x-amz-checksum-${checksum.algorithm}`];
    if (typeof claimed === 'string' && claimed.replace(/-\d+$/, '') !== checksum?.value.replace(/-\d+$/, ''))
      throw err(
        'BadDigest',
        `The ${checksum?.algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
    const v = await this.store.commit(
      bucket,
      {
        key,
        lastModified: new Date().toISOString(),
        size,
        etag,
        uploadId,
        partSizes: parts.map((p) => p.size),
        ...(upload.contentType ? { contentType: upload.contentType } : {}),
        ...(upload.headers ? { headers: upload.headers } : {}),
        ...(upload.metadata ? { metadata: upload.metadata } : {}),
        ...(upload.tags ? { tags: upload.tags } : {}),
        ...(checksum ? { checksum } : {}),
      },
      temp ? { temp, size, etag } : undefined,
    );
    await this.store.removeUpload(uploadId);
    this.completed(res, bucket, v);
    this.created(bucket, v, 'ObjectCreated:CompleteMultipartUpload');
  }

  private completed(res: ServerResponse, bucket: string, v: VersionRecord): void {
    const checksum = v.checksum ? el(`Checksum${v.checksum.algorithm.toUpperCase()}`, v.checksum.value) : '';
    send(
      res,
      200,
      doc(
        'CompleteMultipartUploadResult',
        `${el('Location', `/${bucket}/${v.key}`)}${el('Bucket', bucket)}${el('Key', v.key)}${el('ETag', v.etag)}${checksum}`,
      ),
      versionHeader(v),
    );
  }

  // ---- tagging -----------------------------------------------------------------------------------------------

  private async tagging(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    key: string,
    q: URLSearchParams,
    operation: string,
  ) {
    const body = await readSmallBody(req);
    const versionId = q.get('versionId') ?? undefined;
    const v = this.readable(bucket, key, versionId);
    if (v.deleteMarker)
      throw versionId
        ? err('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405)
        : noSuchKey();
    const named = this.versioned(bucket) ? versionHeader(v) : {};
    if (operation === 'GetObjectTagging') {
      const tags = (v.tags ?? [])
        .map(([k, value]) => `<Tag>${el('Key', k)}${el('Value', value)}</Tag>`)
        .join('');
      return send(res, 200, doc('Tagging', `<TagSet>${tags}</TagSet>`), named);
    }
    const tags: Array<[string, string]> = [];
    if (operation === 'PutObjectTagging') {
      for (const m of body.matchAll(/<Tag>\s*<Key>([\s\S]*?)<\/Key>\s*<Value>([\s\S]*?)<\/Value>\s*<\/Tag>/g))
        tags.push([unescapeXml(m[1] ?? ''), unescapeXml(m[2] ?? '')]);
      if (tags.length > 10) throw err('BadRequest', 'Object tags cannot be greater than 10');
    }
    await this.store.updateTags(bucket, v, tags);
    send(res, operation === 'PutObjectTagging' ? 200 : 204, undefined, named);
  }
}

/** S3's COMPOSITE checksum of a multipart object: the digest of the parts' digests, suffixed with the part count. */
function compositeChecksum(
  upload: UploadRecord,
  parts: Array<{ checksum?: { algorithm: string; value: string } }>,
): VersionRecord['checksum'] {
  const algorithm = upload.checksumAlgorithm;
  if (!algorithm || parts.some((p) => p.checksum?.algorithm !== algorithm)) return undefined;
  const digest = createDigest(checksumAlgorithm(algorithm));
  for (const p of parts) digest.update(Buffer.from(p.checksum?.value ?? '', 'base64'));
  return { algorithm, value: `${digest.digest()}-${parts.length}`, type: 'COMPOSITE' };
}

export type { ReceivedBody };
