/** The playback side's sections: the key service and token issuer, and the SPEKE key provider. */
import { z } from 'zod';
import { ConfigurationError } from '../errors.js';
import { baseUrl, csv, intFrom, load, optionalText, prefix } from './env.js';

const PlaybackSchema = z.object({
  TOKEN_TABLE: z.string().min(1),
  TOKEN_SECRET_PARAM: z.string().optional(),
  TOKEN_SECRET_FILE: z.string().optional(),
  PLAYER_ORIGINS: z.string().default(''),
  TOKEN_TTL_SECONDS: intFrom(600, 10).pipe(z.number().max(7 * 86400)),
  TOKEN_MAX_USES: intFrom(1, 1).pipe(z.number().max(1000)),
  SIGNED_URL_TTL_SECONDS: intFrom(3600, 10).pipe(z.number().max(7 * 86400)),
  CLOUDFRONT_DOMAIN: z.string().optional(),
  CLOUDFRONT_KEY_PAIR_ID: z.string().optional(),
  CLOUDFRONT_PRIVATE_KEY_PARAM: z.string().optional(),
  KEY_CACHE_TTL_SECONDS: intFrom(300, 1).pipe(z.number().max(3600)),
  KEY_CACHE_MAX_ENTRIES: intFrom(500, 1),
  ASSET_PREFIX: prefix.default('assets/'),
  OUTPUT_PREFIX: prefix.default('outputs/'),
  OUTPUT_BUCKET: z.string().min(1),
  PLAYBACK_KMS_KEY_ID: optionalText,
  KEY_SERVICE_URL: baseUrl.optional(),
  THROTTLE_TOKEN_BURST: intFrom(10, 1),
  THROTTLE_TOKEN_PER_SECOND: z.coerce.number().positive().default(1),
  THROTTLE_CLIENT_BURST: intFrom(60, 1),
  THROTTLE_CLIENT_PER_SECOND: z.coerce.number().positive().default(10),
});

export type TokenSecretSource = { kind: 'ssm'; name: string } | { kind: 'file'; path: string };

export interface CloudFrontSigningConfig {
  domain: string;
  keyPairId: string;
  privateKeyParam: string;
}

export interface PlaybackConfig {
  tokenTable: string;
  tokenSecret: TokenSecretSource;
  playerOrigins: string[];
  tokenTtlSeconds: number;
  tokenMaxUses: number;
  signedUrlTtlSeconds: number;
  cloudFront: CloudFrontSigningConfig | undefined;
  keyCacheTtlSeconds: number;
  keyCacheMaxEntries: number;
  assetPrefix: string;
  /** The workflow's OUTPUT_PREFIX: an asset's objects are signed only under `<outputPrefix><assetId>/`. */
  outputPrefix: string;
  outputBucket: string;
  /**
   * The playback KMS key. The key service decrypts with this KeyId, never the one an asset record names, so a record
   * carrying a blob under any other key is refused by KMS (IncorrectKeyException). Required by the key service only.
   */
  playbackKmsKeyId: string | undefined;
  /** Public base URL of the key service; when absent the handler derives it from the request. */
  keyServiceUrl: string | undefined;
  throttle: {
    token: { burst: number; perSecond: number };
    client: { burst: number; perSecond: number };
  };
}

export function playbackConfig(env: NodeJS.ProcessEnv = process.env): PlaybackConfig {
  const c = load(PlaybackSchema, env);
  const secretParam = c.TOKEN_SECRET_PARAM || undefined;
  const secretFile = c.TOKEN_SECRET_FILE || undefined;
  if (!secretParam && !secretFile) {
    throw new ConfigurationError('Environment variable TOKEN_SECRET_PARAM or TOKEN_SECRET_FILE is required', {
      code: 'CONFIGURATION',
    });
  }
  const cf = [c.CLOUDFRONT_DOMAIN, c.CLOUDFRONT_KEY_PAIR_ID, c.CLOUDFRONT_PRIVATE_KEY_PARAM].filter(
    Boolean,
  ).length;
  if (cf !== 0 && cf !== 3) {
    throw new ConfigurationError(
      'Environment variables CLOUDFRONT_DOMAIN, CLOUDFRONT_KEY_PAIR_ID and CLOUDFRONT_PRIVATE_KEY_PARAM go together',
      { code: 'CONFIGURATION' },
    );
  }
  return {
    tokenTable: c.TOKEN_TABLE,
    tokenSecret: secretParam
      ? { kind: 'ssm', name: secretParam }
      : { kind: 'file', path: secretFile as string },
    playerOrigins: csv(c.PLAYER_ORIGINS).map((o) => o.replace(/\/+$/, '')),
    tokenTtlSeconds: c.TOKEN_TTL_SECONDS,
    tokenMaxUses: c.TOKEN_MAX_USES,
    signedUrlTtlSeconds: c.SIGNED_URL_TTL_SECONDS,
    cloudFront:
      cf === 3
        ? {
            domain: (c.CLOUDFRONT_DOMAIN as string).replace(/^https?:\/\//, '').replace(/\/+$/, ''),
            keyPairId: c.CLOUDFRONT_KEY_PAIR_ID as string,
            privateKeyParam: c.CLOUDFRONT_PRIVATE_KEY_PARAM as string,
          }
        : undefined,
    keyCacheTtlSeconds: c.KEY_CACHE_TTL_SECONDS,
    keyCacheMaxEntries: c.KEY_CACHE_MAX_ENTRIES,
    assetPrefix: c.ASSET_PREFIX,
    outputPrefix: c.OUTPUT_PREFIX,
    outputBucket: c.OUTPUT_BUCKET,
    playbackKmsKeyId: c.PLAYBACK_KMS_KEY_ID,
    keyServiceUrl: c.KEY_SERVICE_URL,
    throttle: {
      token: { burst: c.THROTTLE_TOKEN_BURST, perSecond: c.THROTTLE_TOKEN_PER_SECOND },
      client: { burst: c.THROTTLE_CLIENT_BURST, perSecond: c.THROTTLE_CLIENT_PER_SECOND },
    },
  };
}

// ---- SPEKE key provider ------------------------------------------------------------------------------------------

const SpekeSchema = z.object({
  OUTPUT_BUCKET: z.string().min(1),
  PLAYBACK_KMS_KEY_ID: z.string().min(1),
  ASSET_PREFIX: prefix.default('assets/'),
  KEY_SERVICE_URL: baseUrl,
});

export interface SpekeConfig {
  /** The bucket of the asset records. */
  outputBucket: string;
  assetPrefix: string;
  /** The key service's public base URL, written as each asset's EXT-X-KEY URI. */
  keyServiceUrl: string;
  /** The playback KMS key: the only KeyId the provider decrypts with, whatever the record names. */
  playbackKmsKeyId: string;
}

export function spekeConfig(env: NodeJS.ProcessEnv = process.env): SpekeConfig {
  const c = load(SpekeSchema, env);
  return {
    outputBucket: c.OUTPUT_BUCKET,
    assetPrefix: c.ASSET_PREFIX,
    keyServiceUrl: c.KEY_SERVICE_URL,
    playbackKmsKeyId: c.PLAYBACK_KMS_KEY_ID,
  };
}
