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
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { HeaderBag, HttpRequest } from '@smithy/types';
import { fromHeaderBytes } from './header-bytes.js';
import {
  ALGORITHM,
  type ClockRules,
  headerClaim,
  headerValue,
  isRefusal,
  presignedClaim,
  Refusal,
  type SignatureClaim,
  type SigV4Refusal,
} from './sigv4-claim.js';

export type { SigV4Refusal } from './sigv4-claim.js';

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

export type SigV4Result =
  | { ok: true; accessKeyId: string; service: string; presigned: boolean }
  | { ok: false; reason: SigV4Refusal; message: string; presigned: boolean };

export interface SigV4Verifier {
  verify(req: SignedRequest): Promise<SigV4Result>;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

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
    // The SHA-256 the SDK clients sign with on Node.
    sha256: Hash.bind(null, 'sha256'),
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

interface VerifierContext {
  credentials: () => SigV4Credentials;
  region: string;
  services: readonly string[];
  clock: ClockRules;
}

export function createSigV4Verifier(options: SigV4VerifierOptions): SigV4Verifier {
  const context: VerifierContext = {
    credentials:
      typeof options.credentials === 'function'
        ? options.credentials
        : () => options.credentials as SigV4Credentials,
    region: options.region,
    services: options.services,
    clock: { now: options.now ?? Date.now, maxSkewMs: options.maxSkewMs ?? 15 * 60_000 },
  };
  return {
    async verify(req) {
      const pairs = parseRawQuery(req.rawQuery);
      const presigned = pairs.some(([k]) => k === 'X-Amz-Algorithm' || k === 'X-Amz-Signature');
      const outcome = await checkSignature(context, req, pairs, presigned);
      return isRefusal(outcome) ? { ok: false, ...outcome, presigned } : { ok: true, ...outcome, presigned };
    },
  };
}

/** Every check in order, the cheap ones first; a refusal names the first one that failed. */
async function checkSignature(
  context: VerifierContext,
  req: SignedRequest,
  pairs: Array<[string, string]>,
  presigned: boolean,
): Promise<{ accessKeyId: string; service: string } | Refusal> {
  const authorization = headerValue(req.headers, 'authorization');
  if (!presigned && !authorization)
    return new Refusal('signature_missing', 'Request is missing a SigV4 signature (Authorization header).');
  const claim = presigned
    ? presignedClaim(pairs, authorization, context.clock)
    : headerClaim(req.headers, authorization, context.clock);
  if (isRefusal(claim)) return claim;
  const secret = context.credentials();
  const refused = scopeRefusal(context, claim, secret);
  if (refused) return refused;
  const headers = signedHeaderValues(req.headers, claim.signedList.split(';'));
  if (isRefusal(headers)) return headers;
  const payloadHash = payloadHashOf(req, pairs, presigned, claim.service);
  if (typeof payloadHash !== 'string') return payloadHash;

  const form = claim.service === 's3' ? S3_FORM : OTHER_FORM;
  const toSign = await form.stringToSign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: headers.host ?? '',
      path: req.path,
      query: queryRecord(pairs.filter(([k]) => k !== 'X-Amz-Signature')),
      headers,
    },
    headers,
    payloadHash,
    claim.amzDate,
    `${claim.scopeDate}/${claim.region}/${claim.service}/aws4_request`,
  );
  const expected = signatureOf(secret.secretAccessKey, claim.scopeDate, claim.region, claim.service, toSign);
  if (!sameText(expected, claim.signature))
    return new Refusal(
      'signature_mismatch',
      'The request signature we calculated does not match the signature you provided.',
    );
  return { accessKeyId: claim.accessKeyId, service: claim.service };
}

/** Host signed, scope date matching the signing date, the stack's access key, and this endpoint's region and services. */
function scopeRefusal(
  context: VerifierContext,
  claim: SignatureClaim,
  secret: SigV4Credentials,
): Refusal | undefined {
  if (!claim.signedList.split(';').includes('host'))
    return new Refusal('signature_malformed', 'The host header must be signed.');
  if (claim.amzDate.slice(0, 8) !== claim.scopeDate)
    return new Refusal('signature_malformed', 'The credential scope date does not match X-Amz-Date.');
  if (!sameText(claim.accessKeyId, secret.accessKeyId))
    return new Refusal('unknown_access_key', 'The AWS access key id does not exist in the local stack.');
  if (claim.region !== context.region || !context.services.includes(claim.service))
    return new Refusal(
      'wrong_scope',
      `Credential scope must name region ${context.region} and service ${context.services.join(' or ')}.`,
    );
  return undefined;
}

function signedHeaderValues(
  requestHeaders: IncomingHttpHeaders,
  signedHeaders: string[],
): Record<string, string> | Refusal {
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = headerValue(requestHeaders, name);
    if (value === undefined) return new Refusal('signature_malformed', `Signed header ${name} is missing.`);
    // Signed over the bytes sent: UTF-8 text arrives here as latin1 characters, and the signer hashes UTF-8.
    headers[name] = fromHeaderBytes(value);
  }
  return headers;
}

function payloadHashOf(
  req: SignedRequest,
  pairs: Array<[string, string]>,
  presigned: boolean,
  service: string,
): string | Refusal {
  // S3 presignatures cover no payload; the SDK states that as a signed X-Amz-Content-Sha256 parameter.
  if (presigned)
    return service === 's3'
      ? (pairs.find(([k]) => k === 'X-Amz-Content-Sha256')?.[1] ?? 'UNSIGNED-PAYLOAD')
      : hashOf(req.body);
  const claimed = headerValue(req.headers, 'x-amz-content-sha256');
  if (claimed === undefined) return hashOf(req.body);
  // A signed payload hash is only worth something if it is the hash of the body that arrived.
  if (/^[0-9a-f]{64}$/.test(claimed) && req.body !== undefined && claimed !== hashOf(req.body))
    return new Refusal('payload_hash_mismatch', 'The x-amz-content-sha256 header does not match the body.');
  return claimed;
}

function hashOf(body: Buffer | undefined): string {
  return body === undefined || body.length === 0
    ? EMPTY_SHA256
    : createHash('sha256').update(body).digest('hex');
}
