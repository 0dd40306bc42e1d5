/**
 * What the local key service is built from: the stack's credentials and endpoints, the SDK clients, the playback
 * configuration as the stack runs it (token secret in a file, no CloudFront), and the token status the console shows.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { type PlaybackConfig, playbackConfig } from '../../lib/config/playback.js';
import { lazy } from '../../lib/playback/deps.js';
import { PlaybackDeniedError } from '../../lib/playback/errors.js';
import { loadTokenSecret } from '../../lib/playback/secret.js';
import { verifyToken } from '../../lib/playback/tokens.js';

/**
 * What a player may show about its token: from the signed claims and the use counter, never the token itself.
 * `valid` means genuine, unexpired and for this asset; a valid token with no uses left is refused as `token_used`.
 */
export type TokenStatus =
  | { valid: true; expiresAt: string; maxUses: number; uses: number; usesLeft: number }
  | { valid: false; reason: string };

export const LOCAL_TOKEN_TABLE = 'secure-transcode-playback-tokens';

export interface PlaybackClients {
  s3: S3Client;
  kms: KMSClient;
  dynamodb: DynamoDBClient;
  ssm: SSMClient;
}

/** The stack's credentials and endpoints from the environment the stack hands the key service. */
export function stackSettings(env: Record<string, string | undefined>) {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) {
    throw new Error(
      "startKeyService needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the stack's credentials, which POST /tokens checks",
    );
  }
  const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
  const s3Endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const kmsEndpoint = env.AWS_ENDPOINT_URL_KMS ?? env.AWS_ENDPOINT_URL;
  if (!s3Endpoint || !kmsEndpoint) {
    throw new Error(
      'startKeyService needs AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_KMS (the local stack sets them)',
    );
  }
  return { region, credentials, s3Endpoint, kmsEndpoint, ssmEndpoint: env.AWS_ENDPOINT_URL_SSM };
}

export type StackSettings = ReturnType<typeof stackSettings>;

export function createClients(settings: StackSettings, dynamodbEndpoint: string): PlaybackClients {
  const { region, credentials } = settings;
  return {
    s3: new S3Client({ region, credentials, endpoint: settings.s3Endpoint, forcePathStyle: true }),
    kms: new KMSClient({ region, credentials, endpoint: settings.kmsEndpoint }),
    dynamodb: new DynamoDBClient({ region, credentials, endpoint: dynamodbEndpoint }),
    // Never called locally (the secret is a file); present so the clients record is complete.
    ssm: new SSMClient({ region, credentials, endpoint: settings.ssmEndpoint ?? 'http://127.0.0.1:9' }),
  };
}

/** A token's expiry and uses left, or why the key service would refuse it (what the console's player shows). */
export function tokenStatusOf(cfg: PlaybackConfig, clients: PlaybackClients, secretFile: string) {
  const secret = lazy(() => loadTokenSecret({ kind: 'file', path: secretFile }, clients.ssm));
  return async (assetId: string, token: string): Promise<TokenStatus> => {
    let claims: ReturnType<typeof verifyToken>;
    try {
      claims = verifyToken(token, await secret(), { assetId });
    } catch (e) {
      if (e instanceof PlaybackDeniedError) return { valid: false, reason: e.reason };
      throw e;
    }
    const item = await clients.dynamodb.send(
      new GetItemCommand({
        TableName: cfg.tokenTable,
        Key: { jti: { S: claims.jti } },
        ConsistentRead: true,
      }),
    );
    const uses = Number(item.Item?.uses?.N ?? '0');
    return {
      valid: true,
      expiresAt: new Date(claims.exp * 1000).toISOString(),
      maxUses: claims.maxUses,
      uses,
      usesLeft: Math.max(0, claims.maxUses - uses),
    };
  };
}

export function localPlaybackConfig(
  env: Record<string, string | undefined>,
  endpoint: string,
  secretFile: string,
) {
  return playbackConfig({
    TOKEN_TABLE: LOCAL_TOKEN_TABLE,
    PLAYER_ORIGINS: endpoint,
    ...env,
    TOKEN_SECRET_FILE: secretFile,
    TOKEN_SECRET_PARAM: '',
    CLOUDFRONT_DOMAIN: '',
    CLOUDFRONT_KEY_PAIR_ID: '',
    CLOUDFRONT_PRIVATE_KEY_PARAM: '',
    KEY_SERVICE_URL: endpoint,
  });
}
