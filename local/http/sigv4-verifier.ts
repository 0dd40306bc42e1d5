/**
 * SigV4 verification for every local endpoint, header-signed and presigned alike. The canonical request is built by
 * `@smithy/signature-v4` — the code the SDK clients sign with — over exactly the headers the caller listed, with
 * the caller's date and scope; the signature is then recomputed with the stack's secret and compared in constant
 * time. Checked: the algorithm, the access key, the scope (date, region, one of the endpoint's services), the clock
 * skew (15 minutes, as AWS) or the presigned expiry, that `host` is signed, and the payload hash when the body is
 * at hand. There is no IAM policy evaluation: holding the stack's keys is the permission.
 *
 * Known limit: for streamed S3 bodies the server does not hold the body when it checks, so a hex
 * `x-amz-content-sha256` is trusted as signed but not compared with the bytes, and `aws-chunked` chunk signatures
 * are not checked. Capturing a signed request to replay it with another body needs root on the machine.
 */
import { createHash, createHmac, type Hash, type Hmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HeaderBag, HttpRequest } from '@smithy/types';

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SigV4VerifierOptions {
  /** A function is read on every request, so a verifier follows credentials replaced while it runs. */
  credentials: SigV4Credentials | (() => SigV4Credentials);
  region: string;
  /** Signing names accepted here, e.g. `['s3', 'sqs', 'sns']` on the shared S3/SQS/SNS endpoint. */
  services: readonly string[];
  /** AWS refuses signatures more than 15 minutes away from its clock. */
  maxSkewMs?: number;
  now?: () => number;
}

export interface SignedRequest {
  method: string;
  /** The path as sent on the wire (still percent-encoded). */
  path: string;
  /** The query string as sent on the wire, without `?`. */
  rawQuery: string;
  headers: IncomingHttpHeaders;
  /** The whole body, or undefined when it is streamed on (then only a signed payload hash is used). */
  body: Buffer | undefined;
}

export type SigV4Refusal =
  | 'signature_missing'
  | 'signature_malformed'
  | 'signature_expired'
  | 'unknown_access_key'
  | 'wrong_scope'
  | 'payload_hash_mismatch'
  | 'signature_mismatch';

export type SigV4Result =
  | { ok: true; accessKeyId: string; service: string; presigned: boolean }
  | { ok: false; reason: SigV4Refusal; message: string; presigned: boolean };

export interface SigV4Verifier {
  verify(req: SignedRequest): Promise<SigV4Result>;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})$/;
const CREDENTIAL = /^([^/\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SIGNED_HEADERS = /^[a-z0-9._-]+(;[a-z0-9._-]+)*$/;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MAX_PRESIGNED_SECONDS = 7 * 24 * 3600;

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

/** Exposes the smithy signer's canonicalisation (path escaping, query and header canonical forms). */
class CanonicalForm extends SignatureV4 {
  stringToSign(
    request: HttpRequest,
    headers: HeaderBag,
    payloadHash: string,
    longDate: string,
    scope: string,
  ) {
    return this.createStringToSign(
      longDate,
      scope,
      this.createCanonicalRequest(request, headers, payloadHash),
      ALGORITHM,
    );
  }
}

function canonicalForm(uriEscapePath: boolean): CanonicalForm {
  return new CanonicalForm({
    credentials: { accessKeyId: 'unused', secretAccessKey: 'unused' },
    region: 'unused',
    service: 'unused',
    sha256: NodeSha256,
    uriEscapePath,
  });
}

// S3 signs the path as sent; every other service normalises and escapes it again (the SigV4 rules).
const S3_FORM = canonicalForm(false);
const OTHER_FORM = canonicalForm(true);

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function signatureOf(secret: string, shortDate: string, region: string, service: string, toSign: string) {
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, shortDate), region), service), 'aws4_request');
  return hmac(key, toSign).toString('hex');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Decodes a wire query without URLSearchParams' `+` → space rule, which SigV4 does not apply. */
export function parseRawQuery(rawQuery: string): Array<[string, string]> {
  if (!rawQuery) return [];
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return rawQuery
    .split('&')
    .filter((p) => p.length > 0)
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [decode(p), ''] : [decode(p.slice(0, i)), decode(p.slice(i + 1))];
    });
}

function queryRecord(pairs: Array<[string, string]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of pairs) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function dateOf(amzDate: string): Date | undefined {
  const m = AMZ_DATE.exec(amzDate);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
}

/** The request fields a verifier reads, from a Node request and (when buffered) its body. */
export function signedRequestOf(req: IncomingMessage, body: Buffer | undefined): SignedRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return {
    method: req.method ?? 'GET',
    path: q < 0 ? url : url.slice(0, q),
    rawQuery: q < 0 ? '' : url.slice(q + 1),
    headers: req.headers,
    body,
  };
}

export function createSigV4Verifier(options: SigV4VerifierOptions): SigV4Verifier {
  const maxSkewMs = options.maxSkewMs ?? 15 * 60_000;
  const now = options.now ?? Date.now;
  const credentials =
    typeof options.credentials === 'function'
      ? options.credentials
      : () => options.credentials as SigV4Credentials;

  return {
    async verify(req) {
      const pairs = parseRawQuery(req.rawQuery);
      const presigned = pairs.some(([k]) => k === 'X-Amz-Algorithm' || k === 'X-Amz-Signature');
      const refuse = (reason: SigV4Refusal, message: string): SigV4Result => ({
        ok: false,
        reason,
        message,
        presigned,
      });
      const authorization = headerValue(req.headers, 'authorization');
      if (!presigned && !authorization)
        return refuse('signature_missing', 'Request is missing a SigV4 signature (Authorization header).');

      let accessKeyId: string;
      let scopeDate: string;
      let region: string;
      let service: string;
      let signedList: string;
      let signature: string;
      let amzDate: string;
      const query = pairs.filter(([k]) => k !== 'X-Amz-Signature');
      if (presigned) {
        if (authorization)
          return refuse('signature_malformed', 'Only one authentication mechanism is allowed.');
        const get = (name: string) => pairs.find(([k]) => k === name)?.[1];
        if (get('X-Amz-Algorithm') !== ALGORITHM)
          return refuse('signature_malformed', `X-Amz-Algorithm must be ${ALGORITHM}.`);
        // The stack issues no session credentials, so a security token can only come from somewhere else.
        if (get('X-Amz-Security-Token') !== undefined)
          return refuse('unknown_access_key', 'Session credentials are not accepted by the local stack.');
        const credential = CREDENTIAL.exec(get('X-Amz-Credential') ?? '');
        const expires = Number(get('X-Amz-Expires'));
        signedList = get('X-Amz-SignedHeaders') ?? '';
        signature = get('X-Amz-Signature') ?? '';
        amzDate = get('X-Amz-Date') ?? '';
        if (
          !credential ||
          !Number.isInteger(expires) ||
          expires < 1 ||
          expires > MAX_PRESIGNED_SECONDS ||
          !SIGNED_HEADERS.test(signedList) ||
          !/^[0-9a-f]{64}$/.test(signature)
        )
          return refuse(
            'signature_malformed',
            'The presigned URL is missing or has malformed X-Amz-* parameters.',
          );
        [, accessKeyId = '', scopeDate = '', region = '', service = ''] = credential;
        const signingDate = dateOf(amzDate);
        if (!signingDate) return refuse('signature_malformed', 'X-Amz-Date is not a valid date.');
        if (signingDate.getTime() - now() > maxSkewMs)
          return refuse('signature_expired', 'The presigned URL is dated in the future.');
        if (signingDate.getTime() + expires * 1000 < now())
          return refuse('signature_expired', 'Request has expired.');
      } else {
        if (headerValue(req.headers, 'x-amz-security-token') !== undefined)
          return refuse('unknown_access_key', 'Session credentials are not accepted by the local stack.');
        const m = AUTHORIZATION.exec((authorization ?? '').trim());
        amzDate = headerValue(req.headers, 'x-amz-date') ?? '';
        if (!m)
          return refuse('signature_malformed', 'Authorization header is not a well-formed SigV4 header.');
        [, accessKeyId = '', scopeDate = '', region = '', service = '', signedList = '', signature = ''] = m;
        const signingDate = dateOf(amzDate);
        if (!signingDate || !signedList.split(';').includes('x-amz-date'))
          return refuse('signature_malformed', 'A signed X-Amz-Date header is required.');
        if (Math.abs(now() - signingDate.getTime()) > maxSkewMs)
          return refuse(
            'signature_expired',
            `Signature expired: ${amzDate} is more than 15 minutes away from the server time.`,
          );
      }
      const signedHeaders = signedList.split(';');
      if (!signedHeaders.includes('host'))
        return refuse('signature_malformed', 'The host header must be signed.');
      if (amzDate.slice(0, 8) !== scopeDate)
        return refuse('signature_malformed', 'The credential scope date does not match X-Amz-Date.');
      const secret = credentials();
      if (!sameText(accessKeyId, secret.accessKeyId))
        return refuse('unknown_access_key', 'The AWS access key id does not exist in the local stack.');
      if (region !== options.region || !options.services.includes(service))
        return refuse(
          'wrong_scope',
          `Credential scope must name region ${options.region} and service ${options.services.join(' or ')}.`,
        );

      const headers: Record<string, string> = {};
      for (const name of signedHeaders) {
        const value = headerValue(req.headers, name);
        if (value === undefined) return refuse('signature_malformed', `Signed header ${name} is missing.`);
        headers[name] = value;
      }
      let payloadHash: string;
      const claimed = presigned ? undefined : headerValue(req.headers, 'x-amz-content-sha256');
      // S3 presignatures cover no payload; the SDK states that as a signed X-Amz-Content-Sha256 parameter.
      if (presigned)
        payloadHash =
          service === 's3'
            ? (pairs.find(([k]) => k === 'X-Amz-Content-Sha256')?.[1] ?? 'UNSIGNED-PAYLOAD')
            : hashOf(req.body);
      else if (claimed !== undefined) {
        // A signed payload hash is only worth something if it is the hash of the body that arrived.
        if (/^[0-9a-f]{64}$/.test(claimed) && req.body !== undefined && claimed !== hashOf(req.body))
          return refuse('payload_hash_mismatch', 'The x-amz-content-sha256 header does not match the body.');
        payloadHash = claimed;
      } else payloadHash = hashOf(req.body);

      const form = service === 's3' ? S3_FORM : OTHER_FORM;
      const toSign = await form.stringToSign(
        {
          method: req.method,
          protocol: 'http:',
          hostname: headers.host ?? '',
          path: req.path,
          query: queryRecord(query),
          headers,
        },
        headers,
        payloadHash,
        amzDate,
        `${scopeDate}/${region}/${service}/aws4_request`,
      );
      const expected = signatureOf(secret.secretAccessKey, scopeDate, region, service, toSign);
      if (!sameText(expected, signature))
        return refuse(
          'signature_mismatch',
          'The request signature we calculated does not match the signature you provided.',
        );
      return { ok: true, accessKeyId, service, presigned };
    },
  };
}

function hashOf(body: Buffer | undefined): string {
  return body === undefined || body.length === 0
    ? EMPTY_SHA256
    : createHash('sha256').update(body).digest('hex');
}
