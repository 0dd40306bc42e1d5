/**
 * What a SigV4-signed request claims, read from either of its two forms: the `Authorization` header or a presigned
 * URL's `X-Amz-*` parameters. Each reader checks the form's own rules (shape, clock skew or expiry, no session
 * token) and refuses with the reason a client can act on; the verifier then checks the claim against the stack.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;._-]+),\s*Signature=([0-9a-f]{64})$/;
const CREDENTIAL = /^([^/\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SIGNED_HEADERS = /^[a-z0-9._-]+(;[a-z0-9._-]+)*$/;
const MAX_PRESIGNED_SECONDS = 7 * 24 * 3600;

export type SigV4Refusal =
  | 'signature_missing'
  | 'signature_malformed'
  | 'signature_expired'
  | 'unknown_access_key'
  | 'wrong_scope'
  | 'payload_hash_mismatch'
  | 'signature_mismatch';

/** A failed check; a class so that no parsed value (say, a signed header named `reason`) can pass for one. */
export class Refusal {
  constructor(
    readonly reason: SigV4Refusal,
    readonly message: string,
  ) {}
}

/** The signer's claims: who, for which scope, over which headers, when, and the signature to recompute. */
export interface SignatureClaim {
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  signedList: string;
  signature: string;
  amzDate: string;
}

export interface ClockRules {
  now: () => number;
  maxSkewMs: number;
}

const refusal = (reason: SigV4Refusal, message: string): Refusal => new Refusal(reason, message);
const SESSION_REFUSAL = refusal(
  'unknown_access_key',
  'Session credentials are not accepted by the local stack.',
);

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function dateOf(amzDate: string): Date | undefined {
  const m = AMZ_DATE.exec(amzDate);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  return new Date(Date.UTC(y as number, (mo as number) - 1, d, h, mi, s));
}

/** Reads a presigned URL's parameters; a URL may not also carry an Authorization header. */
export function presignedClaim(
  pairs: Array<[string, string]>,
  authorization: string | undefined,
  clock: ClockRules,
): SignatureClaim | Refusal {
  if (authorization) return refusal('signature_malformed', 'Only one authentication mechanism is allowed.');
  const get = (name: string) => pairs.find(([k]) => k === name)?.[1];
  if (get('X-Amz-Algorithm') !== ALGORITHM)
    return refusal('signature_malformed', `X-Amz-Algorithm must be ${ALGORITHM}.`);
  // The stack issues no session credentials, so a security token can only come from somewhere else.
  if (get('X-Amz-Security-Token') !== undefined) return SESSION_REFUSAL;
  const credential = CREDENTIAL.exec(get('X-Amz-Credential') ?? '');
  const expires = Number(get('X-Amz-Expires'));
  const signedList = get('X-Amz-SignedHeaders') ?? '';
  const signature = get('X-Amz-Signature') ?? '';
  const amzDate = get('X-Amz-Date') ?? '';
  if (
    !credential ||
    !Number.isInteger(expires) ||
    expires < 1 ||
    expires > MAX_PRESIGNED_SECONDS ||
    !SIGNED_HEADERS.test(signedList) ||
    !/^[0-9a-f]{64}$/.test(signature)
  )
    return refusal(
      'signature_malformed',
      'The presigned URL is missing or has malformed X-Amz-* parameters.',
    );
  const [, accessKeyId = '', scopeDate = '', region = '', service = ''] = credential;
  const signingDate = dateOf(amzDate);
  if (!signingDate) return refusal('signature_malformed', 'X-Amz-Date is not a valid date.');
  if (signingDate.getTime() - clock.now() > clock.maxSkewMs)
    return refusal('signature_expired', 'The presigned URL is dated in the future.');
  if (signingDate.getTime() + expires * 1000 < clock.now())
    return refusal('signature_expired', 'Request has expired.');
  return { accessKeyId, scopeDate, region, service, signedList, signature, amzDate };
}

/** Reads the Authorization header and the signed X-Amz-Date it must come with. */
export function headerClaim(
  headers: IncomingHttpHeaders,
  authorization: string | undefined,
  clock: ClockRules,
): SignatureClaim | Refusal {
  if (headerValue(headers, 'x-amz-security-token') !== undefined) return SESSION_REFUSAL;
  const m = AUTHORIZATION.exec((authorization ?? '').trim());
  const amzDate = headerValue(headers, 'x-amz-date') ?? '';
  if (!m) return refusal('signature_malformed', 'Authorization header is not a well-formed SigV4 header.');
  const [, accessKeyId = '', scopeDate = '', region = '', service = '', signedList = '', signature = ''] = m;
  const signingDate = dateOf(amzDate);
  if (!signingDate || !signedList.split(';').includes('x-amz-date'))
    return refusal('signature_malformed', 'A signed X-Amz-Date header is required.');
  if (Math.abs(clock.now() - signingDate.getTime()) > clock.maxSkewMs)
    return refusal(
      'signature_expired',
      `Signature expired: ${amzDate} is more than 15 minutes away from the server time.`,
    );
  return { accessKeyId, scopeDate, region, service, signedList, signature, amzDate };
}

export function isRefusal<T>(x: T | Refusal): x is Refusal {
  return x instanceof Refusal;
}
