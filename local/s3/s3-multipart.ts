/** The local S3's multipart uploads: create, upload a part (or copy one), complete with S3's composite checksum. */

import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Hasher, MAX_PUT_BYTES, receiveBody } from './body.js';
import {
  type ChecksumAlgorithm,
  checksumAlgorithm,
  createDigest,
  UnsupportedChecksumError,
} from './checksums.js';
import type { UploadRecord, VersionRecord } from './object-store.js';
import { copySource } from './s3-objects.js';
import {
  created,
  drain,
  err,
  MIN_PART_BYTES,
  malformedXml,
  newObjectAttributes,
  parseS3XmlBody,
  readSmallBody,
  type S3Context,
  send,
  unquote,
  versioned,
  versionHeader,
  writeConditionFailure,
} from './s3-support.js';
import { doc, el, xmlChild, xmlChildren, xmlText } from './xml.js';

// ---- multipart ---------------------------------------------------------------------------------------------

export async function createUpload(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  key: string,
) {
  const { algorithm, type } = uploadChecksum(req);
  const upload = await ctx.store.createUpload({
    bucket,
    key,
    ...newObjectAttributes(req),
    ...(algorithm ? { checksumAlgorithm: algorithm, checksumType: type } : {}),
  });
  send(
    res,
    200,
    doc(
      'InitiateMultipartUploadResult',
      `${el('Bucket', bucket)}${el('Key', key)}${el('UploadId', upload.uploadId)}`,
    ),
    algorithm ? { 'x-amz-checksum-algorithm': algorithm.toUpperCase(), 'x-amz-checksum-type': type } : {},
  );
}

/**
 * The checksum a multipart upload will carry, as S3 allows it: CRC-64/NVME only over the full object, SHA-1 and
 * SHA-256 only as a composite of the parts' checksums, CRC-32 and CRC-32C either way (composite unless asked).
 */
function uploadChecksum(req: IncomingMessage): {
  algorithm?: ChecksumAlgorithm;
  type: 'FULL_OBJECT' | 'COMPOSITE';
} {
  const declared = req.headers['x-amz-checksum-algorithm'];
  const requestedType = req.headers['x-amz-checksum-type'];
  let algorithm: ChecksumAlgorithm | undefined;
  try {
    algorithm = typeof declared === 'string' ? checksumAlgorithm(declared) : undefined;
  } catch (e) {
    if (e instanceof UnsupportedChecksumError) throw err('InvalidRequest', e.message);
    throw e;
  }
  if (requestedType === undefined)
    return {
      ...(algorithm ? { algorithm } : {}),
      type: algorithm === 'crc64nvme' ? 'FULL_OBJECT' : 'COMPOSITE',
    };
  const type = String(requestedType).toUpperCase();
  if (!algorithm) throw err('InvalidRequest', 'x-amz-checksum-type requires x-amz-checksum-algorithm');
  if (type !== 'FULL_OBJECT' && type !== 'COMPOSITE')
    throw err('InvalidRequest', 'x-amz-checksum-type must be FULL_OBJECT or COMPOSITE');
  if (
    (type === 'COMPOSITE' && algorithm === 'crc64nvme') ||
    (type === 'FULL_OBJECT' && (algorithm === 'sha1' || algorithm === 'sha256'))
  )
    throw err('InvalidRequest', `The ${type} checksum type is not supported for ${algorithm.toUpperCase()}`);
  return { algorithm, type };
}

export async function uploadPart(
  ctx: S3Context,
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
    ctx.store.upload(uploadId, bucket, key);
  } catch (e) {
    await drain(req);
    throw e;
  }
  if (!copy) {
    const body = await receiveBody(ctx.store, req);
    const part = await ctx.store.putPart(uploadId, partNumber, body, body.checksum);
    return send(res, 200, undefined, {
      etag: part.etag,
      ...(body.checksum ? { [`x-amz-checksum-${body.checksum.algorithm}`]: body.checksum.value } : {}),
    });
  }
  await drain(req);
  const src = copySource(ctx, req);
  let start = 0;
  let end = src.v.size - 1;
  const rangeHeader = req.headers['x-amz-copy-source-range'];
  if (typeof rangeHeader === 'string') {
    const m = /^bytes=(\d+)-(\d+)$/.exec(rangeHeader.trim());
    if (!m)
      throw err('InvalidArgument', 'The x-amz-copy-source-range value must be of the form bytes=first-last');
    if (Number(m[2]) >= src.v.size || Number(m[1]) > Number(m[2]))
      throw err('InvalidRange', 'The requested range is not satisfiable', 416);
    start = Number(m[1]);
    end = Number(m[2]);
  }
  if (end - start + 1 > MAX_PUT_BYTES)
    throw err('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size');
  const hasher = new Hasher(undefined, MAX_PUT_BYTES);
  const temp = await ctx.store.receive(ctx.store.openRead(src.bucket, src.v, start, Math.max(start, end)), [
    hasher,
  ]);
  const part = await ctx.store.putPart(uploadId, partNumber, {
    temp,
    size: hasher.size,
    etag: `"${hasher.md5Hex()}"`,
  });
  send(
    res,
    200,
    doc('CopyPartResult', `${el('LastModified', part.lastModified)}${el('ETag', part.etag)}`),
    versioned(ctx, src.bucket) ? { 'x-amz-copy-source-version-id': src.v.versionId } : {},
  );
}

export async function completeUpload(
  ctx: S3Context,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  key: string,
  uploadId: string,
) {
  const body = await readSmallBody(req);
  // A retried Complete whose first answer was lost finds the object it created, as on S3.
  const done = ctx.store.versions(bucket, key).find((v) => v.uploadId === uploadId && !v.deleteMarker);
  if (done) return completed(ctx, res, bucket, done);
  const upload = ctx.store.upload(uploadId, bucket, key);
  const refused = writeConditionFailure(ctx, req, bucket, key);
  if (refused) throw refused;
  const request = xmlChild(parseS3XmlBody(body), 'CompleteMultipartUpload');
  const requested = xmlChildren(request, 'Part').map((part) => ({
    partNumber: Number(xmlText(part, 'PartNumber')),
    etag: xmlText(part, 'ETag') ?? '',
  }));
  if (requested.length === 0) throw malformedXml();
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
  // A full-object checksum is computed over the bytes as they are joined; a composite one from the parts'.
  const fullObject =
    upload.checksumType === 'FULL_OBJECT' && upload.checksumAlgorithm
      ? new Hasher(checksumAlgorithm(upload.checksumAlgorithm), Number.MAX_SAFE_INTEGER)
      : undefined;
  const temp =
    size > 0
      ? await ctx.store.receive(
          parts.map((p) => ctx.store.partStream(uploadId, p)),
          fullObject ? [fullObject] : [],
        )
      : undefined;
  const checksum: VersionRecord['checksum'] =
    fullObject?.algorithm !== undefined
      ? {
          algorithm: fullObject.algorithm,
          value: (await fullObject.checksumValue()) ?? '',
          type: 'FULL_OBJECT',
        }
      : await compositeChecksum(upload, parts);
  const claimed = checksum && req.headers[`x-amz-checksum-${checksum.algorithm}`];
  if (typeof claimed === 'string' && claimed.replace(/-\d+$/, '') !== checksum?.value.replace(/-\d+$/, '')) {
    if (temp) await ctx.store.discard(temp);
    throw err(
      'BadDigest',
      `The ${checksum?.algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
    );
  }
  const v = await ctx.store.commit(
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
  await ctx.store.removeUpload(uploadId);
  completed(ctx, res, bucket, v);
  created(ctx, bucket, v, 'ObjectCreated:CompleteMultipartUpload');
}

export function completed(_ctx: S3Context, res: ServerResponse, bucket: string, v: VersionRecord): void {
  const checksum = v.checksum
    ? `${el(`Checksum${v.checksum.algorithm.toUpperCase()}`, v.checksum.value)}${el('ChecksumType', v.checksum.type ?? 'COMPOSITE')}`
    : '';
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

/** S3's COMPOSITE checksum of a multipart object: the digest of the parts' digests, suffixed with the part count. */
async function compositeChecksum(
  upload: UploadRecord,
  parts: Array<{ checksum?: { algorithm: string; value: string } }>,
): Promise<VersionRecord['checksum']> {
  const algorithm = upload.checksumAlgorithm;
  if (
    !algorithm ||
    upload.checksumType === 'FULL_OBJECT' ||
    parts.some((p) => p.checksum?.algorithm !== algorithm)
  )
    return undefined;
  const digest = createDigest(checksumAlgorithm(algorithm));
  for (const p of parts) digest.update(Buffer.from(p.checksum?.value ?? '', 'base64'));
  return { algorithm, value: `${await digest.digest()}-${parts.length}`, type: 'COMPOSITE' };
}
