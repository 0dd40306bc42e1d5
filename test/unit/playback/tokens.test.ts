import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { PlaybackDeniedError } from '../../../lib/playback/errors.js';
import { issueToken, verifyToken } from '../../../lib/playback/tokens.js';

const secret = randomBytes(32);
const assetId = 'a0123456789abcdef0123456';
const now = Date.UTC(2030, 0, 1);

/** PlaybackDeniedError's message is its reason, so toThrow(error) compares reasons exactly. */
const denied = (reason: ConstructorParameters<typeof PlaybackDeniedError>[0]) =>
  new PlaybackDeniedError(reason);

describe('playback tokens', () => {
  it('verifies a token it issued and returns its claims', () => {
    // Prepare
    const { token, expiresAt } = issueToken(
      { assetId, ttlSeconds: 60, maxUses: 2, viewerId: 'v-1', now },
      secret,
    );

    // Act
    const claims = verifyToken(token, secret, { assetId, now: now + 59_000 });

    // Assess
    expect(claims).toEqual({
      assetId,
      exp: now / 1000 + 60,
      jti: expect.any(String),
      viewerId: 'v-1',
      maxUses: 2,
    });
    expect(expiresAt.getTime()).toBe(now + 60_000);
  });

  it('gives every token a distinct id', () => {
    const a = issueToken({ assetId, ttlSeconds: 60, now }, secret);
    const b = issueToken({ assetId, ttlSeconds: 60, now }, secret);

    expect(a.claims.jti).not.toBe(b.claims.jti);
    expect(a.claims.maxUses).toBe(1);
  });

  it('refuses a token whose claims were altered after signing', () => {
    // Prepare
    const { token } = issueToken({ assetId, ttlSeconds: 60, now }, secret);
    const [, signature] = token.split('.');
    const claims = {
      ...JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()),
      maxUses: 1000,
    };
    const forged = `${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;

    // Act / Assess
    expect(() => verifyToken(forged, secret, { assetId, now })).toThrow(denied('token_invalid'));
  });

  it('refuses a token signed with another secret', () => {
    const { token } = issueToken({ assetId, ttlSeconds: 60, now }, randomBytes(32));

    expect(() => verifyToken(token, secret, { assetId, now })).toThrow(denied('token_invalid'));
  });

  it.each([
    ['an empty string', ''],
    ['no signature', 'abc'],
    ['three parts', 'a.b.c'],
    ['a truncated signature', 'eyJhIjoxfQ.AAAA'],
    ['an oversized token', `${'a'.repeat(3000)}.b`],
  ])('refuses %s', (_name, token) => {
    expect(() => verifyToken(token, secret, { assetId, now })).toThrow(/^token_(invalid|missing)$/);
  });

  describe('accepts exactly the canonical spelling of a signature', () => {
    const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    /** A token whose signature contains '-' or '_', so the standard-alphabet spelling differs. */
    function tokenWithUrlCharacters(): { payload: string; signature: string } {
      for (;;) {
        const [payload = '', signature = ''] = issueToken(
          { assetId, ttlSeconds: 60, now },
          secret,
        ).token.split('.');
        if (/[-_]/.test(signature)) return { payload, signature };
      }
    }
    const { payload, signature } = tokenWithUrlCharacters();
    const last = B64URL.indexOf(signature.slice(-1));
    const variants: Array<[string, string]> = [
      ['padded', `${signature}=`],
      ['in the standard alphabet', signature.replace(/-/g, '+').replace(/_/g, '/')],
      ['with unused trailing bits set', `${signature.slice(0, -1)}${B64URL[last + 1]}`],
      ['with a stray character', `${signature.slice(0, 10)}!${signature.slice(10)}`],
      ['with whitespace', `${signature.slice(0, 10)} ${signature.slice(10)}`],
    ];

    it('verifies the canonical spelling', () => {
      expect(verifyToken(`${payload}.${signature}`, secret, { assetId, now }).assetId).toBe(assetId);
    });

    it.each(variants)('refuses a signature %s', (_name, spelling) => {
      // Prepare: the variant decodes to the very same MAC bytes, so only the spelling check can refuse it.
      expect(spelling).not.toBe(signature);
      if (!spelling.includes('!') && !spelling.includes(' ')) {
        expect(Buffer.from(spelling, 'base64url')).toEqual(Buffer.from(signature, 'base64url'));
      }
      // Act / Assess
      expect(() => verifyToken(`${payload}.${spelling}`, secret, { assetId, now })).toThrow(
        denied('token_invalid'),
      );
    });
  });

  it('refuses a missing token as token_missing', () => {
    expect(() => verifyToken(undefined, secret, { assetId, now })).toThrow(denied('token_missing'));
  });

  it('refuses a token at and after its expiry', () => {
    const { token } = issueToken({ assetId, ttlSeconds: 60, now }, secret);

    expect(() => verifyToken(token, secret, { assetId, now: now + 60_000 })).toThrow(denied('token_expired'));
    expect(() => verifyToken(token, secret, { assetId, now: now + 3_600_000 })).toThrow(
      denied('token_expired'),
    );
  });

  it('refuses a token issued for another asset', () => {
    const { token } = issueToken({ assetId: 'aother', ttlSeconds: 60, now }, secret);

    expect(() => verifyToken(token, secret, { assetId, now })).toThrow(denied('token_wrong_asset'));
  });

  it('refuses to sign or verify with a secret shorter than 32 bytes', () => {
    expect(() => issueToken({ assetId, ttlSeconds: 60 }, randomBytes(16))).toThrow(/at least 32 bytes/);
  });

  it('refuses an asset id that could escape the asset prefix', () => {
    expect(() => issueToken({ assetId: '../secret', ttlSeconds: 60 }, secret)).toThrow();
  });
});
