/**
 * The one check every local endpoint runs at request entry: the `Host` header must name this server on loopback
 * (so a web page reached through DNS rebinding gets nothing), and the request must carry a SigV4 signature made with
 * the stack's credentials. A refused request gets 403 in the AWS error shape of the endpoint's protocol.
 *
 * Usage (docs/ARCHITECTURE.md, "Local stack", the `local/http` entry, says which endpoints adopt it):
 *
 *   const guard = createRequestGuard({ auth, services: ['kms'], protocol: 'json' });
 *   // in the request handler, once the body is read (or with `undefined` for a streamed body):
 *   if (!(await guard.admit(req, res, body))) return;
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AwsProtocol, type ErrorEnvelopeOptions, sendApiGatewayError, sendAwsError } from './errors.js';
import {
  createSigV4Verifier,
  type SigV4Credentials,
  type SigV4Refusal,
  type SigV4Result,
  type SigV4Verifier,
  signedRequestOf,
} from './sigv4-verifier.js';

/** What a local server needs to authenticate callers: the stack's credentials and region. */
export interface LocalAuth {
  credentials: SigV4Credentials | (() => SigV4Credentials);
  region: string;
}

export type { AwsProtocol } from './errors.js';

export type GuardRefusal = SigV4Refusal | 'foreign_host';

export interface Refusal {
  reason: GuardRefusal;
  message: string;
  presigned: boolean;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/**
 * True when `host` is `127.0.0.1`, `localhost` or `[::1]` with exactly this server's port. A rebinding page sends its
 * own domain name as Host, so it is refused before anything is read or written.
 */
export function isLoopbackHost(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const value = host.trim().toLowerCase();
  return LOOPBACK_NAMES.some((name) => value === `${name}:${port}` || (port === 80 && value === name));
}

export class NonLoopbackBindError extends Error {
  override readonly name = 'NonLoopbackBindError';
}

/**
 * The address a local server listens on: 127.0.0.1 unless told otherwise, and never anything but a loopback
 * address — the endpoints speak plain HTTP and serve keys.
 */
export function loopbackBindAddress(host: string | undefined): string {
  const address = host ?? '127.0.0.1';
  if (address !== '::1' && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)) {
    throw new NonLoopbackBindError(`Local endpoints bind loopback addresses only, not ${address}`);
  }
  return address;
}

/** The local port a request arrived on (the port its Host must carry). */
export function localPortOf(req: IncomingMessage): number {
  return req.socket.localPort ?? 0;
}

const CODES: Record<GuardRefusal, Record<Exclude<AwsProtocol, 'api-gateway'>, string>> = {
  foreign_host: {
    'rest-xml': 'AccessDenied',
    json: 'AccessDeniedException',
    'rest-json': 'AccessDeniedException',
    query: 'AccessDenied',
  },
  signature_missing: {
    'rest-xml': 'AccessDenied',
    json: 'MissingAuthenticationTokenException',
    'rest-json': 'MissingAuthenticationTokenException',
    query: 'MissingAuthenticationToken',
  },
  signature_malformed: {
    'rest-xml': 'AuthorizationHeaderMalformed',
    json: 'IncompleteSignatureException',
    'rest-json': 'IncompleteSignatureException',
    query: 'IncompleteSignature',
  },
  signature_expired: {
    'rest-xml': 'RequestTimeTooSkewed',
    json: 'InvalidSignatureException',
    'rest-json': 'InvalidSignatureException',
    query: 'RequestExpired',
  },
  unknown_access_key: {
    'rest-xml': 'InvalidAccessKeyId',
    json: 'UnrecognizedClientException',
    'rest-json': 'UnrecognizedClientException',
    query: 'InvalidClientTokenId',
  },
  wrong_scope: {
    'rest-xml': 'AuthorizationHeaderMalformed',
    json: 'InvalidSignatureException',
    'rest-json': 'InvalidSignatureException',
    query: 'SignatureDoesNotMatch',
  },
  payload_hash_mismatch: {
    'rest-xml': 'XAmzContentSHA256Mismatch',
    json: 'InvalidSignatureException',
    'rest-json': 'InvalidSignatureException',
    query: 'SignatureDoesNotMatch',
  },
  signature_mismatch: {
    'rest-xml': 'SignatureDoesNotMatch',
    json: 'InvalidSignatureException',
    'rest-json': 'InvalidSignatureException',
    query: 'SignatureDoesNotMatch',
  },
};

/** The AWS error code a refusal carries in `protocol`. */
export function refusalCode(refusal: Refusal, protocol: AwsProtocol): string {
  if (protocol === 'api-gateway') return 'Forbidden';
  // S3 names an expired presigned URL AccessDenied ("Request has expired"), a skewed header signature otherwise.
  if (protocol === 'rest-xml' && refusal.reason === 'signature_expired' && refusal.presigned)
    return 'AccessDenied';
  if (protocol === 'rest-xml' && refusal.reason === 'signature_malformed' && refusal.presigned)
    return 'AuthorizationQueryParametersError';
  return CODES[refusal.reason][protocol];
}

/** What the envelope needs beyond the protocol: the JSON version, the query protocol's XML namespace. */
export type RefusalOptions = Pick<ErrorEnvelopeOptions, 'jsonVersion' | 'queryNamespace'>;

/** Writes the 403 answer for a refusal in the envelope of `protocol`; a HEAD gets the status and headers only. */
export function sendRefusal(
  res: ServerResponse,
  method: string,
  protocol: AwsProtocol,
  refusal: Refusal,
  options: RefusalOptions = {},
): void {
  if (protocol === 'api-gateway') {
    sendApiGatewayError(res, 403, 'Forbidden', { method, fields: { reason: refusal.reason } });
    return;
  }
  const envelope: ErrorEnvelopeOptions = { method };
  if (options.jsonVersion) envelope.jsonVersion = options.jsonVersion;
  if (options.queryNamespace) envelope.queryNamespace = options.queryNamespace;
  sendAwsError(res, protocol, 403, refusalCode(refusal, protocol), refusal.message, envelope);
}

export interface RequestGuardOptions extends RefusalOptions {
  auth: LocalAuth;
  /** Signing names accepted (e.g. `['kms']`). */
  services: readonly string[];
  protocol: AwsProtocol;
}

export interface RequestGuard {
  /** The Host check alone (for routes that authenticate otherwise, e.g. token-checked playback). */
  hostRefusal(req: IncomingMessage): Refusal | undefined;
  /** Host check, then SigV4; undefined when the request may proceed. */
  check(req: IncomingMessage, body: Buffer | undefined): Promise<Refusal | undefined>;
  /** `check`, answering a refusal with 403 in the endpoint's protocol; true when the request may proceed. */
  admit(req: IncomingMessage, res: ServerResponse, body: Buffer | undefined): Promise<boolean>;
  verifier: SigV4Verifier;
}

export function createRequestGuard(options: RequestGuardOptions): RequestGuard {
  const verifier = createSigV4Verifier({
    credentials: options.auth.credentials,
    region: options.auth.region,
    services: options.services,
  });
  const hostRefusal = (req: IncomingMessage): Refusal | undefined =>
    isLoopbackHost(req.headers.host, localPortOf(req))
      ? undefined
      : {
          reason: 'foreign_host',
          message: `Host ${JSON.stringify(req.headers.host ?? '')} is not this local endpoint; use 127.0.0.1, localhost or [::1] with port ${localPortOf(req)}.`,
          presigned: false,
        };
  const check = async (req: IncomingMessage, body: Buffer | undefined): Promise<Refusal | undefined> => {
    const host = hostRefusal(req);
    if (host) return host;
    const verdict: SigV4Result = await verifier.verify(signedRequestOf(req, body));
    return verdict.ok
      ? undefined
      : { reason: verdict.reason, message: verdict.message, presigned: verdict.presigned };
  };
  return {
    verifier,
    hostRefusal,
    check,
    async admit(req, res, body) {
      const refusal = await check(req, body);
      if (!refusal) return true;
      // The body, if still unread, is drained so the client reads the answer instead of a reset connection.
      if (!req.readableEnded) req.resume();
      sendRefusal(res, req.method ?? 'GET', options.protocol, refusal, options);
      return false;
    },
  };
}
