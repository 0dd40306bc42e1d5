/**
 * Playback tokens (the MtsHlsUriToken analogue, seeds 002/004): `base64url(JSON claims) "." base64url(HMAC-SHA-256)`.
 * Stateless to verify; one-time use is enforced separately by the token-use store (DynamoDB conditional write), so
 * the signature proves "issued by us for this asset until exp" and the store proves "not used up".
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { PlaybackDeniedError } from './errors.js';

export const ASSET_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

export const TokenClaimsSchema = z
  .object({
    assetId: z.string().regex(ASSET_ID_PATTERN),
    /** Expiry, epoch seconds. */
    exp: z.number().int().positive(),
    jti: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
    viewerId: z.string().min(1).max(256).optional(),
    maxUses: z.number().int().min(1).max(1000),
  })
  .strict();
export type TokenClaims = z.infer<typeof TokenClaimsSchema>;

export interface IssueTokenOptions {
  assetId: string;
  ttlSeconds: number;
  maxUses?: number;
  viewerId?: string;
  /** Epoch milliseconds; injectable for tests. */
  now?: number;
}

export interface IssuedToken {
  token: string;
  claims: TokenClaims;
  expiresAt: Date;
}

// A real token is ~200 characters; refusing long input early bounds the work an attacker can cause.
const MAX_TOKEN_LENGTH = 2048;
const MIN_SECRET_BYTES = 32;

function mac(secret: Buffer, payload: string): Buffer {
  return createHmac('sha256', secret).update(payload, 'ascii').digest();
}

function assertSecret(secret: Buffer): void {
  if (secret.length < MIN_SECRET_BYTES)
    throw new Error(`Token secret must be at least ${MIN_SECRET_BYTES} bytes`);
}

export function issueToken(options: IssueTokenOptions, secret: Buffer): IssuedToken {
  assertSecret(secret);
  const now = options.now ?? Date.now();
  const claims = TokenClaimsSchema.parse({
    assetId: options.assetId,
    exp: Math.floor(now / 1000) + options.ttlSeconds,
    jti: randomBytes(16).toString('base64url'),
    maxUses: options.maxUses ?? 1,
    ...(options.viewerId === undefined ? {} : { viewerId: options.viewerId }),
  });
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const token = `${payload}.${mac(secret, payload).toString('base64url')}`;
  return { token, claims, expiresAt: new Date(claims.exp * 1000) };
}

export interface VerifyTokenOptions {
  /** The asset the request is for; a token for another asset is refused. */
  assetId: string;
  now?: number;
}

/** HMAC-SHA-256 (32 bytes) in unpadded base64url: 43 characters, the last one carrying 2 unused (zero) bits. */
const CANONICAL_SIGNATURE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** Returns the claims of a genuine, unexpired token for `assetId`; throws PlaybackDeniedError otherwise. */
export function verifyToken(
  token: string | undefined,
  secret: Buffer,
  options: VerifyTokenOptions,
): TokenClaims {
  assertSecret(secret);
  if (!token) throw new PlaybackDeniedError('token_missing');
  if (token.length > MAX_TOKEN_LENGTH) throw new PlaybackDeniedError('token_invalid');
  const parts = token.split('.');
  const [payload, signature] = parts;
  if (parts.length !== 2 || !payload || !signature) throw new PlaybackDeniedError('token_invalid');
  // Exactly one spelling of a signature is accepted: unpadded base64url of 32 bytes with zero unused bits. Node's
  // decoder would also take padding, '+', '/', stray characters and other trailing bits — several tokens, one MAC.
  if (!CANONICAL_SIGNATURE.test(signature)) throw new PlaybackDeniedError('token_invalid');
  const given = Buffer.from(signature, 'base64url');
  if (given.toString('base64url') !== signature) throw new PlaybackDeniedError('token_invalid');
  const expected = mac(secret, payload);
  // Length is public (always 32); the comparison itself must not leak where the bytes differ.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new PlaybackDeniedError('token_invalid');
  }
  const parsed = TokenClaimsSchema.safeParse(parseJson(Buffer.from(payload, 'base64url').toString('utf8')));
  if (!parsed.success) throw new PlaybackDeniedError('token_invalid');
  const claims = parsed.data;
  if (claims.exp * 1000 <= (options.now ?? Date.now())) throw new PlaybackDeniedError('token_expired');
  if (claims.assetId !== options.assetId) throw new PlaybackDeniedError('token_wrong_asset');
  return claims;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
