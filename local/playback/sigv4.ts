/**
 * The local counterpart of the HTTP API's `AWS_IAM` route authorizer: a SigV4 (Authorization header) check against
 * the stack's one set of local credentials. The request is re-signed with `@smithy/signature-v4` — the signer the
 * SDK clients use — over exactly the headers the caller listed in `SignedHeaders`, with the caller's `X-Amz-Date`,
 * and the two signatures are compared in constant time. There is no IAM policy evaluation: holding the local keys
 * is the permission, as holding the token secret file is for the CLI.
 */
import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SigV4VerifierOptions {
  credentials: SigV4Credentials;
  region: string;
  /** `execute-api` for API Gateway. */
  service: string;
  /** AWS refuses signatures more than 15 minutes away from its clock. */
  maxSkewMs?: number;
  now?: () => number;
}

export interface SignedHttpRequest {
  method: string;
  /** The path as sent on the wire (still percent-encoded). */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type SigV4Refusal =
  | 'signature_missing'
  | 'signature_malformed'
  | 'signature_expired'
  | 'unknown_access_key'
  | 'wrong_scope'
  | 'payload_hash_mismatch'
  | 'signature_mismatch';

export type SigV4Result = { ok: true; accessKeyId: string } | { ok: false; reason: SigV4Refusal };

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytesOf(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** SHA-256, or HMAC-SHA-256 when given a secret: the Checksum shape the smithy signer asks for. */
class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.create();
  }
  private create(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(this.secret));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.create();
  }
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function queryRecord(query: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of query) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function sameText(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export function createSigV4Verifier(
  options: SigV4VerifierOptions,
): (req: SignedHttpRequest) => Promise<SigV4Result> {
  const maxSkewMs = options.maxSkewMs ?? 15 * 60_000;
  const now = options.now ?? Date.now;
  const signer = new SignatureV4({
    credentials: { ...options.credentials },
    region: options.region,
    service: options.service,
    sha256: NodeSha256,
    // The caller decides whether x-amz-content-sha256 is signed; the verifier must not add it.
    applyChecksum: false,
  });
  const refuse = (reason: SigV4Refusal): SigV4Result => ({ ok: false, reason });

  return async (req) => {
    const authorization = headerValue(req.headers, 'authorization');
    if (!authorization) return refuse('signature_missing');
    const m = AUTHORIZATION.exec(authorization.trim());
    const amzDate = AMZ_DATE.exec(headerValue(req.headers, 'x-amz-date') ?? '');
    if (!m || !amzDate) return refuse('signature_malformed');
    const [, accessKeyId = '', scopeDate, region, service, signedList = '', signature = ''] = m;
    const signedHeaders = signedList.split(';');
    // SigV4 requires host and the request date to be covered by the signature.
    if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date'))
      return refuse('signature_malformed');
    const [, y, mo, d, h, mi, s] = amzDate.map(Number);
    const signingDate = new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
    if (`${amzDate[1]}${amzDate[2]}${amzDate[3]}` !== scopeDate) return refuse('signature_malformed');
    if (Math.abs(now() - signingDate.getTime()) > maxSkewMs) return refuse('signature_expired');
    if (!sameText(accessKeyId, options.credentials.accessKeyId)) return refuse('unknown_access_key');
    if (region !== options.region || service !== options.service) return refuse('wrong_scope');

    const headers: Record<string, string> = {};
    for (const name of signedHeaders) {
      const value = headerValue(req.headers, name);
      if (value === undefined) return refuse('signature_malformed');
      headers[name] = value;
    }
    // A signed payload hash is only worth something if it is the hash of the body that arrived.
    const claimedHash = headers['x-amz-content-sha256'];
    if (claimedHash !== undefined && claimedHash !== createHash('sha256').update(req.body).digest('hex'))
      return refuse('payload_hash_mismatch');

    const expected = await signer.sign(
      {
        method: req.method,
        protocol: 'http:',
        hostname: headers.host ?? '',
        path: req.path,
        query: queryRecord(req.query),
        headers,
        body: req.body,
      },
      { signingDate, signableHeaders: new Set(signedHeaders) },
    );
    const recomputed = AUTHORIZATION.exec(String(expected.headers.authorization ?? ''));
    if (!recomputed || recomputed[5] !== signedList || !sameText(recomputed[6] ?? '', signature))
      return refuse('signature_mismatch');
    return { ok: true, accessKeyId };
  };
}
