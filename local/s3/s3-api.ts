/**
 * The S3 REST API (path-style) over the on-disk object store: buckets, versioning, objects (streamed PUT/GET with
 * Range, conditional requests, checksums), copy, multipart (including UploadPartCopy), tagging, listings. Every
 * write answers only after the store has made it durable. Errors are S3 XML documents with S3's codes.
 *
 * This module routes a classified request to its operation; the operations are functions over an `S3Context`:
 * objects in `s3-objects.ts`, multipart uploads in `s3-multipart.ts`, shared HTTP and header helpers in
 * `s3-support.ts`.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReceivedBody } from './body.js';
import { listObjectsXml, listPartsXml, listUploadsXml, listVersionsXml } from './listing.js';
import { S3StoreError } from './object-store.js';
import type { S3Request } from './operations.js';
import { completeUpload, createUpload, uploadPart } from './s3-multipart.js';
import { copyObject, deleteObject, deleteObjects, getObject, putObject, tagging } from './s3-objects.js';
import {
  drain,
  err,
  malformedXml,
  noSuchKey,
  parseS3XmlBody,
  readable,
  readSmallBody,
  type S3Context,
  send,
  sendError,
  UNSUPPORTED,
} from './s3-support.js';
import { doc, el, newRequestId, OWNER, xmlChild, xmlText } from './xml.js';

export class S3Api {
  constructor(private readonly ctx: S3Context) {}

  /** Answers one S3 request; S3 errors become XML answers, anything else propagates (the gateway answers 500). */
  async handle(req: IncomingMessage, res: ServerResponse, op: S3Request): Promise<void> {
    const method = req.method ?? 'GET';
    res.setHeader('x-amz-request-id', newRequestId());
    try {
      await route(this.ctx, req, res, op, method);
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
}

export async function route(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  op: S3Request,
  method: string,
): Promise<void> {
  const q = op.query;
  if (q.has('acl') && op.bucket) return acl(ctx, req, res, op, method);
  const sub = UNSUPPORTED.find((s) => q.has(s));
  if (sub) {
    await drain(req);
    throw err('NotImplemented', `The ${sub} sub-resource is not implemented by the local S3`, 501);
  }
  if (!op.bucket) {
    await drain(req);
    if (method !== 'GET')
      throw err('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
    return listBuckets(ctx, res);
  }
  if (!op.key) return bucketRequest(ctx, req, res, op.bucket, q, method);
  if (!ctx.store.hasBucket(op.bucket)) {
    await drain(req);
    throw err('NoSuchBucket', 'The specified bucket does not exist', 404);
  }
  return objectRequest(ctx, req, res, op, method);
}

/** One owner with full control: reading it works; changing it is not supported. */
export async function acl(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  op: S3Request,
  method: string,
) {
  await drain(req);
  ctx.store.bucket(op.bucket ?? '');
  if (op.key) {
    const v = readable(ctx, op.bucket ?? '', op.key, op.query.get('versionId') ?? undefined);
    if (v.deleteMarker) throw noSuchKey();
  }
  if (method !== 'GET') throw err('NotImplemented', 'Changing ACLs is not implemented by the local S3', 501);
  const grant = `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">${OWNER}</Grantee>${el('Permission', 'FULL_CONTROL')}</Grant>`;
  send(
    res,
    200,
    doc('AccessControlPolicy', `<Owner>${OWNER}</Owner><AccessControlList>${grant}</AccessControlList>`),
  );
}

// ---- buckets -----------------------------------------------------------------------------------------------

export function listBuckets(ctx: S3Context, res: ServerResponse): void {
  const buckets = ctx.store
    .listBuckets()
    .map((b) => `<Bucket>${el('Name', b.name)}${el('CreationDate', b.created)}</Bucket>`)
    .join('');
  send(res, 200, doc('ListAllMyBucketsResult', `<Owner>${OWNER}</Owner><Buckets>${buckets}</Buckets>`));
}

export async function bucketRequest(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  q: URLSearchParams,
  method: string,
) {
  if (method === 'PUT' && q.has('versioning')) {
    const body = await readSmallBody(req);
    const status = xmlText(xmlChild(parseS3XmlBody(body), 'VersioningConfiguration'), 'Status');
    if (status !== 'Enabled' && status !== 'Suspended') throw malformedXml();
    await ctx.store.setVersioning(bucket, status);
    return send(res, 200);
  }
  if (method === 'POST' && q.has('delete')) return deleteObjects(ctx, req, res, bucket);
  await drain(req);
  switch (method) {
    case 'PUT': {
      if (q.has('tagging'))
        throw err('NotImplemented', 'Bucket tagging is not implemented by the local S3', 501);
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..'))
        throw err('InvalidBucketName', 'The specified bucket is not valid.');
      // In us-east-1 (this stack's region) creating a bucket you already own succeeds again.
      await ctx.store.createBucket(bucket);
      return send(res, 200, undefined, { location: `/${bucket}` });
    }
    case 'HEAD':
      ctx.store.bucket(bucket);
      return send(res, 200, undefined, { 'x-amz-bucket-region': 'us-east-1' });
    case 'DELETE':
      await ctx.store.deleteBucket(bucket);
      return send(res, 204);
    case 'GET': {
      const b = ctx.store.bucket(bucket);
      if (q.has('versioning'))
        return send(res, 200, doc('VersioningConfiguration', b.versioning ? el('Status', b.versioning) : ''));
      if (q.has('location')) return send(res, 200, doc('LocationConstraint', ''));
      if (q.has('versions')) return send(res, 200, listVersionsXml(ctx.store, bucket, q));
      if (q.has('uploads')) return send(res, 200, listUploadsXml(ctx.store, bucket, q));
      if (q.has('tagging')) throw err('NoSuchTagSet', 'The TagSet does not exist', 404);
      return send(res, 200, listObjectsXml(ctx.store, bucket, q, q.get('list-type') === '2'));
    }
    default:
      throw err('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
  }
}

// ---- objects -----------------------------------------------------------------------------------------------

export async function objectRequest(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  op: S3Request,
  method: string,
) {
  const bucket = op.bucket ?? '';
  const key = op.key ?? '';
  const q = op.query;
  if (key.length > 1024) throw err('KeyTooLongError', 'Your key is too long');
  switch (op.operation) {
    case 'PutObject':
      return putObject(ctx, req, res, bucket, key);
    case 'CopyObject':
      await drain(req);
      return copyObject(ctx, req, res, bucket, key);
    case 'GetObject':
    case 'HeadObject':
      await drain(req);
      return getObject(ctx, req, res, bucket, key, q, method === 'HEAD');
    case 'DeleteObject':
      await drain(req);
      return deleteObject(ctx, req, res, bucket, key, q.get('versionId') ?? undefined);
    case 'CreateMultipartUpload':
      await drain(req);
      return createUpload(ctx, req, res, bucket, key);
    case 'UploadPart':
    case 'UploadPartCopy':
      return uploadPart(ctx, req, res, bucket, key, q, op.operation === 'UploadPartCopy');
    case 'CompleteMultipartUpload':
      return completeUpload(ctx, req, res, bucket, key, q.get('uploadId') ?? '');
    case 'AbortMultipartUpload':
      await drain(req);
      ctx.store.upload(q.get('uploadId') ?? '', bucket, key);
      await ctx.store.removeUpload(q.get('uploadId') ?? '');
      return send(res, 204);
    case 'ListParts':
      await drain(req);
      return send(res, 200, listPartsXml(ctx.store, q.get('uploadId') ?? '', bucket, key, q));
    case 'GetObjectTagging':
    case 'PutObjectTagging':
    case 'DeleteObjectTagging':
      return tagging(ctx, req, res, bucket, key, q, op.operation);
    default:
      await drain(req);
      throw err('NotImplemented', `${op.operation} is not implemented by the local S3`, 501);
  }
}

export type { CreatedObject, ObjectCreatedEventName, S3ApiOptions } from './s3-support.js';
export { drain, sendError } from './s3-support.js';
export type { ReceivedBody };
