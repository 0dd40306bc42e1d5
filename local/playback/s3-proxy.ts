/**
 * The key service's `/s3/<assetId>/<bucket>/<key>` route: makes an asset's segments same-origin with the player
 * page (the local S3 sends no CORS headers) without becoming a way into the bucket. A request is forwarded only if
 *  - it is a GET carrying an unexpired presignature made with the stack's credentials for the local S3 endpoint,
 *    with `host` as its only signed header and no query parameter the presignature does not cover (every parameter
 *    of the canonical query is signed, so an added `&tagging` or `&uploadId=` breaks the signature);
 *  - the object is a segment or playlist under the output prefix of the asset named in the path, per that asset's
 *    record (so a presigned URL for a source under `incoming/`, the encrypted copy or an asset record is refused
 *    even when its signature is good).
 * The request goes on to S3 with exactly the signed path and query; only `Range` is passed through.
 * `LoopbackProxySigner` makes the key service's presigned URLs point here.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { S3Client } from '@aws-sdk/client-s3';
import { type AssetRecord, assetObjectKey, readAssetRecord } from '../../lib/playback/asset-record.js';
import type { UrlSigner } from '../../lib/playback/signed-urls.js';
import { parseRawQuery, type SigV4Verifier, sendJson } from '../http/index.js';

export interface S3ProxyOptions {
  s3: S3Client;
  /** The local S3 endpoint's origin, e.g. `http://127.0.0.1:4566`: the only place the proxy forwards to. */
  s3Origin: string;
  /** A verifier for the stack's credentials, accepting service `s3`. */
  verifier: SigV4Verifier;
  /** Where asset records and outputs live (the playback config's output bucket, asset and output prefixes). */
  assets: () => { bucket: string; assetPrefix: string; outputPrefix: string } | undefined;
}

/**
 * The query parameters of an S3 GetObject presignature (the SDK's and the AWS CLI's), with the only values allowed
 * where the value matters: anything else would ask S3 for something other than the object's bytes.
 */
const PRESIGN_PARAMETERS: Record<string, RegExp> = {
  'X-Amz-Algorithm': /^/,
  'X-Amz-Credential': /^/,
  'X-Amz-Date': /^/,
  'X-Amz-Expires': /^/,
  'X-Amz-SignedHeaders': /^host$/,
  'X-Amz-Signature': /^/,
  'X-Amz-Content-Sha256': /^UNSIGNED-PAYLOAD$/,
  'x-amz-checksum-mode': /^ENABLED$/,
  'x-id': /^GetObject$/,
};
/** HLS playlists and segments (MPEG-TS, packed audio, fMP4 parts); nothing else an asset's outputs hold. */
const MEDIA_OBJECT = /\.(m3u8|ts|aac|m4s)$/;
const PROXIED_HEADERS = [
  'content-type',
  'content-length',
  'content-range',
  'accept-ranges',
  'etag',
  'last-modified',
];
const RECORD_TTL_MS = 30_000;

function deny(res: ServerResponse, error: string): void {
  sendJson(res, 403, { error }, { headers: { 'cache-control': 'no-store' } });
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Why `key` in `bucket` is not one of the asset's media objects, or undefined when it is: the same test the key
 * service signs by (assetObjectKey), so the proxy forwards nothing the key service would not have signed.
 */
export function outsideAsset(
  record: AssetRecord,
  outputPrefix: string,
  bucket: string,
  key: string,
): string | undefined {
  if (bucket !== record.outputBucket) return 'not_asset_bucket';
  if (!key.startsWith(record.outputKeyPrefix)) return 'not_asset_output';
  if (assetObjectKey(record, outputPrefix, key.slice(record.outputKeyPrefix.length)) !== key)
    return 'not_asset_output';
  if (!MEDIA_OBJECT.test(key)) return 'not_media_object';
  return undefined;
}

export function createS3Proxy(options: S3ProxyOptions) {
  const records = new Map<string, { record: AssetRecord | undefined; at: number }>();
  const recordOf = async (assetId: string): Promise<AssetRecord | undefined> => {
    const cached = records.get(assetId);
    if (cached && Date.now() - cached.at < RECORD_TTL_MS) return cached.record;
    const where = options.assets();
    const record = where
      ? await readAssetRecord(
          { s3: options.s3, bucket: where.bucket, assetPrefix: where.assetPrefix },
          assetId,
        ).catch(() => undefined)
      : undefined;
    records.set(assetId, { record, at: Date.now() });
    return record;
  };
  const s3Host = new URL(options.s3Origin).host;

  return async function proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    if (req.method !== 'GET') return deny(res, 'method_not_allowed');
    const wire = (req.url ?? '').slice('/s3'.length);
    const q = wire.indexOf('?');
    const path = q < 0 ? wire : wire.slice(0, q);
    const rawQuery = q < 0 ? '' : wire.slice(q + 1);
    // `/<assetId>/<bucket>/<key…>`, still percent-encoded: the S3 part is forwarded exactly as it was signed.
    const [, rawAsset = '', rawBucket = '', ...rawKey] = path.split('/');
    const assetId = decode(rawAsset);
    const bucket = decode(rawBucket);
    const keyParts = rawKey.map(decode);
    if (!assetId || !bucket || keyParts.length === 0 || keyParts.some((k) => k === undefined))
      return deny(res, 'malformed_path');
    const key = keyParts.join('/');
    const s3Path = `/${[rawBucket, ...rawKey].join('/')}`;

    const pairs = parseRawQuery(rawQuery);
    if (pairs.some(([k]) => !Object.hasOwn(PRESIGN_PARAMETERS, k))) return deny(res, 'unsigned_parameter');
    if (pairs.some(([k, v]) => !PRESIGN_PARAMETERS[k]?.test(v))) return deny(res, 'parameter_not_allowed');
    const verdict = await options.verifier.verify({
      method: 'GET',
      path: s3Path,
      rawQuery,
      headers: { host: s3Host },
      body: undefined,
    });
    if (!verdict.ok || !verdict.presigned || verdict.service !== 's3')
      return deny(res, 'signature_invalid_or_expired');

    const record = await recordOf(assetId);
    const where = options.assets();
    if (!record || !where) return deny(res, 'unknown_asset');
    const outside = outsideAsset(record, where.outputPrefix, bucket, key);
    if (outside) return deny(res, outside);

    const headers: Record<string, string> = {};
    if (typeof req.headers.range === 'string') headers.range = req.headers.range;
    const upstream = httpRequest(
      `${options.s3Origin}${s3Path}${rawQuery ? `?${rawQuery}` : ''}`,
      { method: 'GET', headers },
      (up) => {
        const out: Record<string, string> = { 'Cache-Control': 'private, max-age=60' };
        for (const h of PROXIED_HEADERS) {
          const v = up.headers[h];
          if (typeof v === 'string') out[h] = v;
        }
        res.writeHead(up.statusCode ?? 502, out);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent)
        res.writeHead(502, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end('{"error":"s3_unreachable"}');
    });
    upstream.end();
  };
}

/** Rewrites presigned URLs for the local S3 (`s3Origin`) to go through the key service's `/s3/<assetId>` route. */
export class LoopbackProxySigner implements UrlSigner {
  constructor(
    private readonly inner: UrlSigner,
    private readonly s3Origin: string,
    private readonly proxyBase: () => string,
  ) {}

  async sign(bucket: string, key: string, expiresAt: Date, assetId?: string): Promise<string> {
    const url = new URL(await this.inner.sign(bucket, key, expiresAt));
    if (url.origin !== this.s3Origin || !assetId) return url.toString();
    return `${this.proxyBase()}/s3/${encodeURIComponent(assetId)}${url.pathname}${url.search}`;
  }
}
