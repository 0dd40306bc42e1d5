/** The local S3's object operations: PUT, GET/HEAD (ranges, conditions), DELETE (one and many), copy, tagging. */

import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { MAX_PUT_BYTES, receiveBody } from './body.js';
import { S3StoreError, type VersionRecord } from './object-store.js';
import {
  created,
  drain,
  err,
  etagMatches,
  httpDate,
  malformedXml,
  newObjectAttributes,
  noSuchKey,
  objectHeaders,
  parseCopySource,
  parseRange,
  parseS3XmlBody,
  precondition,
  RESPONSE_OVERRIDES,
  readable,
  readSmallBody,
  type S3Context,
  send,
  sendError,
  versioned,
  versionHeader,
  wholeEpochSeconds,
  writeConditionFailure,
} from './s3-support.js';
import { doc, el, xmlChild, xmlChildren, xmlText } from './xml.js';

export async function putObject(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  key: string,
) {
  const refused = writeConditionFailure(ctx, req, bucket, key);
  if (refused) {
    await drain(req);
    throw refused;
  }
  const body = await receiveBody(ctx.store, req);
  const v = await ctx.store.commit(
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
  created(ctx, bucket, v, 'ObjectCreated:Put');
}

export async function getObject(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  key: string,
  q: URLSearchParams,
  head: boolean,
) {
  const versionId = q.get('versionId') ?? undefined;
  const isVersioned = versioned(ctx, bucket);
  const v = readable(ctx, bucket, key, versionId);
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
  const headers = objectHeaders(v, isVersioned);
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
      ...(isVersioned ? { 'x-amz-version-id': v.versionId } : {}),
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
  await pipeline(ctx.store.openRead(bucket, v, range?.start, range?.end), res).catch(() => res.destroy());
}

/**
 * A conditional delete: `If-Match` (an ETag or `*`), and the size and modification time S3 checks for directory
 * buckets (`x-amz-if-match-size`, `x-amz-if-match-last-modified-time`; DeleteObjects carries the same three per
 * object). They are checked against the version the delete targets — the named one, or the current one, a delete
 * marker included — and a key with no such version is deleted (204) whatever the condition, as S3 does.
 */
export interface DeleteCondition {
  etag?: string;
  size?: number;
  lastModified?: string;
}

const preconditionFailed = () =>
  err('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);

export function deleteConditionFromHeaders(req: IncomingMessage): DeleteCondition {
  const header = (name: string) => {
    const value = req.headers[name];
    return typeof value === 'string' ? value : undefined;
  };
  return conditionOf(
    header('if-match'),
    header('x-amz-if-match-size'),
    header('x-amz-if-match-last-modified-time'),
  );
}

function conditionOf(etag?: string, size?: string, lastModified?: string): DeleteCondition {
  if (size !== undefined && !/^\d+$/.test(size.trim()))
    throw err('InvalidArgument', 'x-amz-if-match-size must be a whole number of bytes');
  if (lastModified !== undefined && Number.isNaN(Date.parse(lastModified)))
    throw err('InvalidArgument', 'x-amz-if-match-last-modified-time must be a date');
  return {
    ...(etag !== undefined ? { etag } : {}),
    ...(size !== undefined ? { size: Number(size.trim()) } : {}),
    ...(lastModified !== undefined ? { lastModified } : {}),
  };
}

function checkDeleteCondition(target: VersionRecord | undefined, c: DeleteCondition): void {
  if (!target) return;
  // A delete marker is a version too: `*` matches it, an ETag, size or time it does not have does not.
  if (c.etag !== undefined && !etagMatches(c.etag, target.etag)) throw preconditionFailed();
  if (c.size !== undefined && c.size !== target.size) throw preconditionFailed();
  // HTTP dates and S3's XML timestamps are compared to the second, the precision a client was shown.
  if (
    c.lastModified !== undefined &&
    wholeEpochSeconds(c.lastModified) !== wholeEpochSeconds(target.lastModified)
  )
    throw preconditionFailed();
}

export async function deleteObject(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  key: string,
  versionId: string | undefined,
) {
  const result = await deleteOne(ctx, bucket, key, versionId, deleteConditionFromHeaders(req));
  send(res, 204, undefined, {
    ...(result.versionId ? { 'x-amz-version-id': result.versionId } : {}),
    ...(result.deleteMarker ? { 'x-amz-delete-marker': 'true' } : {}),
  });
}

export async function deleteOne(
  ctx: S3Context,
  bucket: string,
  key: string,
  versionId: string | undefined,
  condition: DeleteCondition = {},
): Promise<{ versionId?: string; deleteMarker?: boolean }> {
  const b = ctx.store.bucket(bucket);
  const target = ctx.store.find(bucket, key, versionId);
  // A conditional delete of nothing deletes nothing: no delete marker is laid over a key that has no versions.
  if (!target && Object.keys(condition).length > 0) return {};
  checkDeleteCondition(target, condition);
  if (versionId !== undefined) {
    const removed = await ctx.store.removeVersion(bucket, key, versionId);
    return { versionId, ...(removed?.deleteMarker ? { deleteMarker: true } : {}) };
  }
  if (!b.versioning) {
    await ctx.store.removeVersion(bucket, key, 'null');
    return {};
  }
  const marker = await ctx.store.commit(bucket, {
    key,
    lastModified: new Date().toISOString(),
    size: 0,
    etag: '',
    deleteMarker: true,
  });
  return { versionId: marker.versionId, deleteMarker: true };
}

export async function deleteObjects(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
) {
  ctx.store.bucket(bucket);
  const body = await readSmallBody(req);
  const request = xmlChild(parseS3XmlBody(body), 'Delete');
  const quiet = xmlText(request, 'Quiet') === 'true';
  const objects = xmlChildren(request, 'Object').map((o) => ({
    key: xmlText(o, 'Key'),
    versionId: xmlText(o, 'VersionId'),
    condition: conditionOf(xmlText(o, 'ETag'), xmlText(o, 'Size'), xmlText(o, 'LastModifiedTime')),
  }));
  if (objects.length === 0 || objects.length > 1000 || objects.some((o) => o.key === undefined))
    throw malformedXml();
  let out = '';
  for (const o of objects) {
    const key = o.key ?? '';
    try {
      const r = await deleteOne(ctx, bucket, key, o.versionId, o.condition);
      if (quiet) continue;
      out += `<Deleted>${el('Key', key)}${o.versionId ? el('VersionId', o.versionId) : ''}${r.deleteMarker ? el('DeleteMarker', true) : ''}${r.deleteMarker && !o.versionId && r.versionId ? el('DeleteMarkerVersionId', r.versionId) : ''}</Deleted>`;
    } catch (e) {
      if (!(e instanceof S3StoreError)) throw e;
      out += `<Error>${el('Key', key)}${el('Code', e.code)}${el('Message', e.message)}</Error>`;
    }
  }
  send(res, 200, doc('DeleteResult', out));
}

export function copySource(
  ctx: S3Context,
  req: IncomingMessage,
): { bucket: string; v: VersionRecord; versionId?: string } {
  const src = parseCopySource(String(req.headers['x-amz-copy-source'] ?? ''));
  if (!ctx.store.hasBucket(src.bucket)) throw err('NoSuchBucket', 'The specified bucket does not exist', 404);
  const v = readable(ctx, src.bucket, src.key, src.versionId);
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

export async function copyObject(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  key: string,
) {
  const src = copySource(ctx, req);
  const replaceMeta = req.headers['x-amz-metadata-directive'] === 'REPLACE';
  const replaceTags = req.headers['x-amz-tagging-directive'] === 'REPLACE';
  if (src.bucket === bucket && src.v.key === key && !replaceMeta && !src.versionId && !versioned(ctx, bucket))
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
  const temp = src.v.size > 0 ? await ctx.store.copyToTemp(src.bucket, src.v) : undefined;
  const v = await ctx.store.commit(
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
    ...(versioned(ctx, src.bucket) ? { 'x-amz-copy-source-version-id': src.v.versionId } : {}),
  });
  created(ctx, bucket, v, 'ObjectCreated:Copy');
}

// ---- tagging -----------------------------------------------------------------------------------------------

export async function tagging(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  key: string,
  q: URLSearchParams,
  operation: string,
) {
  const body = await readSmallBody(req);
  const versionId = q.get('versionId') ?? undefined;
  const v = readable(ctx, bucket, key, versionId);
  if (v.deleteMarker)
    throw versionId
      ? err('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405)
      : noSuchKey();
  const named = versioned(ctx, bucket) ? versionHeader(v) : {};
  if (operation === 'GetObjectTagging') {
    const tags = (v.tags ?? [])
      .map(([k, value]) => `<Tag>${el('Key', k)}${el('Value', value)}</Tag>`)
      .join('');
    return send(res, 200, doc('Tagging', `<TagSet>${tags}</TagSet>`), named);
  }
  const tags: Array<[string, string]> = [];
  if (operation === 'PutObjectTagging') {
    const tagSet = xmlChild(xmlChild(parseS3XmlBody(body), 'Tagging'), 'TagSet');
    for (const tag of xmlChildren(tagSet, 'Tag')) {
      const [key, value] = [xmlText(tag, 'Key'), xmlText(tag, 'Value')];
      if (key === undefined || value === undefined) throw malformedXml();
      tags.push([key, value]);
    }
    if (tags.length > 10) throw err('BadRequest', 'Object tags cannot be greater than 10');
  }
  await ctx.store.updateTags(bucket, v, tags);
  send(res, operation === 'PutObjectTagging' ? 200 : 204, undefined, named);
}
