/**
 * Builds the key service and the token issuer from configuration and SDK clients. Called once per process (Lambda
 * cold start, or the local stack's start-up); the clients are passed in so the local stack and the tests can point
 * them elsewhere without any local-only branch in the domain code.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { PlaybackConfig } from '../config/playback.js';
import { ConfigurationError } from '../errors.js';
import { TokenIssuer } from './issuer.js';
import { KeyCache } from './key-cache.js';
import { PlaybackKeyProvider } from './key-delivery.js';
import { KeyService } from './key-service.js';
import { loadSecretParameter, loadTokenSecret } from './secret.js';
import { CloudFrontUrlSigner, S3PresignedUrlSigner, type UrlSigner } from './signed-urls.js';
import { TokenBucketLimiter } from './throttle.js';
import { DynamoTokenUseStore } from './token-store.js';

export interface PlaybackClients {
  s3: S3Client;
  kms: KMSClient;
  dynamodb: DynamoDBClient;
  ssm: SSMClient;
}

export interface BuildOptions {
  /** Replaces the configured segment signer (the local stack proxies presigned URLs through itself). */
  signer?: UrlSigner;
  now?: () => number;
}

export async function buildUrlSigner(
  config: PlaybackConfig,
  clients: Pick<PlaybackClients, 's3' | 'ssm'>,
): Promise<UrlSigner> {
  if (!config.cloudFront) return new S3PresignedUrlSigner(clients.s3);
  const privateKey = await loadSecretParameter(clients.ssm, config.cloudFront.privateKeyParam);
  return new CloudFrontUrlSigner({
    domain: config.cloudFront.domain,
    keyPairId: config.cloudFront.keyPairId,
    privateKey,
  });
}

export async function buildKeyService(
  config: PlaybackConfig,
  clients: PlaybackClients,
  options: BuildOptions = {},
): Promise<KeyService> {
  const playbackKmsKeyId = config.playbackKmsKeyId;
  if (!playbackKmsKeyId) {
    throw new ConfigurationError('Environment variable PLAYBACK_KMS_KEY_ID is required by the key service', {
      code: 'CONFIGURATION',
    });
  }
  const [secret, signer] = await Promise.all([
    loadTokenSecret(config.tokenSecret, clients.ssm),
    options.signer ?? buildUrlSigner(config, clients),
  ]);
  const cache = new KeyCache({
    maxEntries: config.keyCacheMaxEntries,
    ttlMs: config.keyCacheTtlSeconds * 1000,
  });
  return new KeyService({
    config,
    secret,
    s3: clients.s3,
    keys: new PlaybackKeyProvider(clients.kms, cache, playbackKmsKeyId),
    store: new DynamoTokenUseStore(clients.dynamodb, config.tokenTable),
    signer,
    tokenLimiter: new TokenBucketLimiter(config.throttle.token),
    clientLimiter: new TokenBucketLimiter(config.throttle.client),
    ...(options.now ? { now: options.now } : {}),
  });
}

export async function buildTokenIssuer(
  config: PlaybackConfig,
  clients: Pick<PlaybackClients, 's3' | 'ssm'>,
  options: Pick<BuildOptions, 'now'> = {},
): Promise<TokenIssuer> {
  return new TokenIssuer({
    secret: await loadTokenSecret(config.tokenSecret, clients.ssm),
    s3: clients.s3,
    bucket: config.outputBucket,
    assetPrefix: config.assetPrefix,
    defaults: { ttlSeconds: config.tokenTtlSeconds, maxUses: config.tokenMaxUses },
    ...(options.now ? { now: options.now } : {}),
  });
}

/** The distribution's origin secret (client-address.ts), when the deployment configures one. */
export async function loadOriginSecret(
  config: Pick<PlaybackConfig, 'originVerifyParam'>,
  ssm: SSMClient,
): Promise<Buffer | undefined> {
  if (!config.originVerifyParam) return undefined;
  return Buffer.from(await loadSecretParameter(ssm, config.originVerifyParam), 'utf8');
}

/** A once-per-process async initialiser that retries after a failed attempt instead of caching the failure. */
export function lazy<T>(init: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= init().catch((e: unknown) => {
      pending = undefined;
      throw e;
    });
    return pending;
  };
}
