import { describe, expect, it } from '@jest/globals';
import { playbackConfig } from '../../../lib/config/playback.js';
import { ConfigurationError } from '../../../lib/errors.js';

const base = {
  TOKEN_TABLE: 'playback-tokens',
  TOKEN_SECRET_PARAM: '/st/token-secret',
  OUTPUT_BUCKET: 'media-out',
};

describe('playbackConfig', () => {
  it('applies one-time tokens, short key caching and S3 presigning by default', () => {
    const config = playbackConfig(base);

    expect(config).toMatchObject({
      tokenSecret: { kind: 'ssm', name: '/st/token-secret' },
      tokenMaxUses: 1,
      tokenTtlSeconds: 600,
      keyCacheTtlSeconds: 300,
      assetPrefix: 'assets/',
      playerOrigins: [],
      cloudFront: undefined,
    });
  });

  it('names the missing variable', () => {
    expect(() => playbackConfig({ ...base, TOKEN_TABLE: undefined })).toThrow(
      'Environment variable TOKEN_TABLE is required',
    );
  });

  it('requires a token secret source', () => {
    expect(() => playbackConfig({ ...base, TOKEN_SECRET_PARAM: undefined })).toThrow(
      'Environment variable TOKEN_SECRET_PARAM or TOKEN_SECRET_FILE is required',
    );
  });

  it('refuses a partial CloudFront configuration', () => {
    expect(() => playbackConfig({ ...base, CLOUDFRONT_DOMAIN: 'd1.cloudfront.net' })).toThrow(
      ConfigurationError,
    );
  });

  it('parses player origins and the CloudFront signer settings', () => {
    const config = playbackConfig({
      ...base,
      PLAYER_ORIGINS: 'https://a.example.com/, https://b.example.com',
      CLOUDFRONT_DOMAIN: 'https://d1.cloudfront.net/',
      CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F',
      CLOUDFRONT_PRIVATE_KEY_PARAM: '/st/cf-private-key',
    });

    expect(config.playerOrigins).toEqual(['https://a.example.com', 'https://b.example.com']);
    expect(config.cloudFront).toEqual({
      domain: 'd1.cloudfront.net',
      keyPairId: 'K2JCJMDEHXQW5F',
      privateKeyParam: '/st/cf-private-key',
    });
  });
});
