/**
 * The local key service: a loopback HTTP server running the key-service handler factory the Lambda runs, with
 * dynalite (same DynamoDB code, data in `<dataDir>/dynalite`) as the token-use store and a 0600 secret file.
 *
 * Every route first checks the Host header (loopback names with this server's port only), so a page reached through
 * DNS rebinding gets nothing. Segments are presigned for the local S3 endpoint exactly as in the cloud, then routed
 * through `/s3/<assetId>/…` on this server (see s3-proxy.ts), which makes them same-origin with the player page and
 * serves nothing but that asset's segments and playlists.
 *
 * `POST /tokens` runs the issue-token handler factory behind a SigV4 check against the stack's credentials (the
 * cloud route's `AWS_IAM` authorizer; see local/http/sigv4-verifier.ts). With a FaultInjector, key and playlist
 * requests can be answered 503 (or reset) before the handler runs, as API Gateway answers when the Lambda is
 * throttled or unavailable.
 */

import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import dynalite from 'dynalite';
import { type PlaybackConfig, playbackConfig } from '../../lib/config/playback.js';
import { readAssetRecord } from '../../lib/playback/asset-record.js';
import { buildKeyService, buildTokenIssuer, lazy } from '../../lib/playback/deps.js';
import { PlaybackDeniedError } from '../../lib/playback/errors.js';
import {
  createIssueTokenHttpHandler,
  createKeyServiceHttpHandler,
  ISSUE_ROUTE,
  KEY_ROUTE,
  PLAY_ROUTE,
} from '../../lib/playback/http.js';
import type { IssuedPlayback } from '../../lib/playback/issuer.js';
import { ensureSecretFile, loadTokenSecret } from '../../lib/playback/secret.js';
import { S3PresignedUrlSigner, type UrlSigner } from '../../lib/playback/signed-urls.js';
import { ensureTokenTable } from '../../lib/playback/token-store.js';
import { verifyToken } from '../../lib/playback/tokens.js';
import { keyUrl as keyUrlOf, playUrl } from '../../lib/playback/urls.js';
import type { FaultInjector } from '../faults.js';
import { createRequestGuard, loopbackBindAddress, sendRefusal } from '../http/request-guard.js';
import { createSigV4Verifier } from '../http/sigv4-verifier.js';
import {
  type LocalRoute,
  MALFORMED_PATH,
  matchRoute,
  type RouteMatch,
  sendResult,
  toApiGatewayEvent,
} from './api-gateway.js';
import { guardDynalite } from './dynalite-guard.js';
import { playerPage } from './player-page.js';
import { createS3Proxy } from './s3-proxy.js';

export interface StartKeyServiceOptions {
  dataDir: string;
  host?: string;
  port?: number;
  /** Playback settings (OUTPUT_BUCKET, TOKEN_TTL_SECONDS, …) and AWS_* values; AWS_ENDPOINT_URL_* are usually set. */
  env: Record<string, string>;
  dynamodbPort?: number;
  /** Asked `decide('keyservice', 'GetKey' | 'GetPlaylist')` once per key or playlist request. */
  faults?: FaultInjector;
}

export interface IssueLocalTokenOptions {
  ttlSeconds?: number;
  maxUses?: number;
  viewerId?: string;
}

/**
 * What a player may show about its token: from the signed claims and the use counter, never the token itself.
 * `valid` means genuine, unexpired and for this asset; a valid token with no uses left is refused as `token_used`.
 */
export type TokenStatus =
  | { valid: true; expiresAt: string; maxUses: number; uses: number; usesLeft: number }
  | { valid: false; reason: string };

/** A handler for the paths under a mounted prefix (the local console); it answers every request it is given. */
export type MountedHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

export interface LocalKeyService {
  endpoint: string;
  dynamodbEndpoint: string;
  /** The 0600 file holding the token-signing secret (what `secure-transcode token` signs with). */
  secretFile: string;
  /** The key URL without a token: the transcoder's LicenseAcquisitionUrl. */
  keyUrl(assetId: string): string;
  playerUrl(assetId: string, token: string): string;
  issueToken(assetId: string, options?: IssueLocalTokenOptions): Promise<string>;
  /** A token with its expiry and URLs (relative to this server's origin), for a player that shows them. */
  issuePlayback(
    assetId: string,
    options?: IssueLocalTokenOptions,
  ): Promise<IssuedPlayback & { maxUses: number }>;
  tokenStatus(assetId: string, token: string): Promise<TokenStatus>;
  /**
   * Serves `prefix` (e.g. `/console`) with another handler on this origin, so a page there can play through
   * `/play`, `/keys` and `/s3` without CORS.
   */
  mount(prefix: string, handler: MountedHandler): void;
  stop(): Promise<void>;
}

export const LOCAL_TOKEN_TABLE = 'secure-transcode-playback-tokens';
export const TOKEN_SECRET_FILE_NAME = 'token-secret';

const ROUTES: LocalRoute[] = [
  { routeKey: KEY_ROUTE, method: 'GET', pattern: /^\/keys\/(?<assetId>[^/]+)$/ },
  { routeKey: PLAY_ROUTE, method: 'GET', pattern: /^\/play\/(?<assetId>[^/]+)\/(?<playlist>.+)$/ },
  { routeKey: ISSUE_ROUTE, method: 'POST', pattern: /^\/tokens$/ },
];

/** Route keys (OPTIONS included) served by the issue-token handler rather than the key service. */
const ISSUE_ROUTE_KEYS = new Set([ISSUE_ROUTE, 'OPTIONS /tokens']);

const FAULT_OPERATIONS: Record<string, string> = { [KEY_ROUTE]: 'GetKey', [PLAY_ROUTE]: 'GetPlaylist' };

/** API Gateway's answer when the integration is throttled or unavailable; hls.js retries it. */
function sendUnavailable(res: ServerResponse): void {
  res.writeHead(503, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    'Retry-After': '1',
  });
  res.end('{"message":"Service Unavailable"}');
}

/** The router's own answers carry the same no-store headers as the handler's (lib/playback/http.ts). */
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(JSON.stringify(body));
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Rewrites presigned URLs for `s3Endpoint` to go through this server's `/s3/<assetId>` route. */
class LoopbackProxySigner implements UrlSigner {
  constructor(
    private readonly inner: UrlSigner,
    private readonly s3Origin: string,
    private readonly proxyBase: () => string,
  ) {}

  async sign(bucket: string, key: string, expiresAt: Date, assetId?: string): Promise<string> {
    const url = new URL(await this.inner.sign(bucket, key, expiresAt));
    if (url.origin !== this.s3Origin || !assetId) return url.toString();
    return `${this.proxyBase()}/s3/${encodeURIComponent(assetId)}${url.pathname}${url.search}`;
  }
}

export async function startKeyService(options: StartKeyServiceOptions): Promise<LocalKeyService> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  const host = loopbackBindAddress(options.host);
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

  await mkdir(join(options.dataDir, 'dynalite'), { recursive: true, mode: 0o700 });
  const secretFile = join(options.dataDir, TOKEN_SECRET_FILE_NAME);
  await ensureSecretFile(secretFile);

  const dynamoServer = dynalite({ path: join(options.dataDir, 'dynalite'), createTableMs: 0 });
  // Token-use records decide whether a one-time token is spent: only the stack may read or change them.
  guardDynalite(
    dynamoServer,
    createRequestGuard({ auth: { credentials, region }, services: ['dynamodb'], protocol: 'json' }),
  );
  const dynamoPort = await listen(dynamoServer, options.dynamodbPort ?? 0, '127.0.0.1');
  const dynamodbEndpoint = `http://127.0.0.1:${dynamoPort}`;

  const s3 = new S3Client({ region, credentials, endpoint: s3Endpoint, forcePathStyle: true });
  const kms = new KMSClient({ region, credentials, endpoint: kmsEndpoint });
  const dynamodb = new DynamoDBClient({ region, credentials, endpoint: dynamodbEndpoint });
  // Never called locally (the secret is a file); present so the clients record is complete.
  const ssm = new SSMClient({
    region,
    credentials,
    endpoint: env.AWS_ENDPOINT_URL_SSM ?? 'http://127.0.0.1:9',
  });
  const destroyClients = () => {
    for (const c of [s3, kms, dynamodb, ssm]) c.destroy();
  };

  let endpoint = '';
  let config: PlaybackConfig | undefined;
  let handler: ReturnType<typeof createKeyServiceHttpHandler> | undefined;
  let issueHandler: ReturnType<typeof createIssueTokenHttpHandler> | undefined;
  const auth = { credentials, region };
  const tokensGuard = createRequestGuard({ auth, services: ['execute-api'], protocol: 'api-gateway' });
  const s3Origin = new URL(s3Endpoint).origin;
  const proxyToS3 = createS3Proxy({
    s3,
    s3Origin,
    verifier: createSigV4Verifier({ credentials, region, services: ['s3'] }),
    assets: () => (config ? { bucket: config.outputBucket, assetPrefix: config.assetPrefix } : undefined),
  });
  const hlsScript = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');

  const mounts = new Map<string, MountedHandler>();
  const server = createServer((req, res) => {
    void route(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
      else res.end();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const foreignHost = tokensGuard.hostRefusal(req);
    if (foreignHost) {
      req.resume();
      return sendRefusal(res, method, 'api-gateway', foreignHost);
    }
    const url = new URL(req.url ?? '/', endpoint);
    for (const [prefix, mounted] of mounts) {
      if (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`)) return mounted(req, res, url);
    }
    if (url.pathname.startsWith('/s3/')) return proxyToS3(req, res);
    if (url.pathname === '/player/hls.min.js' && method === 'GET') {
      res.writeHead(200, {
        'Content-Type': 'text/javascript; charset=utf-8',
        'Cache-Control': 'max-age=3600',
      });
      createReadStream(hlsScript).pipe(res);
      return;
    }
    if ((url.pathname === '/player/' || url.pathname === '/player') && method === 'GET') {
      return servePlayer(url, res);
    }
    const match = matchRoute(ROUTES, method, url.pathname);
    if (match === MALFORMED_PATH) return sendJson(res, 400, { error: 'bad_request' });
    if (!match || !handler || !issueHandler) return sendJson(res, 404, { error: 'not_found' });
    if (ISSUE_ROUTE_KEYS.has(match.routeKey)) return issue(req, res, match, issueHandler);
    const operation = FAULT_OPERATIONS[match.routeKey];
    const fault = operation ? options.faults?.decide('keyservice', operation) : undefined;
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault) {
      req.resume();
      return sendUnavailable(res);
    }
    sendResult(res, await handler(toApiGatewayEvent(req, match, await readBody(req))));
  }

  /** The AWS_IAM authorizer's part: only a request signed with the local credentials reaches the handler. */
  async function issue(
    req: IncomingMessage,
    res: ServerResponse,
    match: RouteMatch,
    issuing: NonNullable<typeof issueHandler>,
  ): Promise<void> {
    const body = await readBody(req);
    if (!(await tokensGuard.admit(req, res, body))) return;
    const accessKeyId = credentials.accessKeyId;
    const base = toApiGatewayEvent(req, match, body);
    const event: APIGatewayProxyEventV2WithIAMAuthorizer = {
      ...base,
      requestContext: {
        ...base.requestContext,
        authorizer: {
          iam: {
            accessKey: accessKeyId,
            accountId: base.requestContext.accountId,
            callerId: accessKeyId,
            cognitoIdentity: null,
            principalOrgId: '',
            userArn: `arn:aws:iam::${base.requestContext.accountId}:user/local`,
            userId: accessKeyId,
          },
        },
      },
    };
    sendResult(res, await issuing(event));
  }

  async function servePlayer(url: URL, res: ServerResponse): Promise<void> {
    const assetId = url.searchParams.get('asset') ?? '';
    const token = url.searchParams.get('token') ?? '';
    const record = config
      ? await readAssetRecord(
          { s3, bucket: config.outputBucket, assetPrefix: config.assetPrefix },
          assetId,
        ).catch(() => undefined)
      : undefined;
    const src = record ? playUrl(endpoint, record.assetId, record.masterPlaylist, token) : undefined;
    res.writeHead(record ? 200 : 404, {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
    });
    res.end(playerPage({ src, hlsScriptPath: '/player/hls.min.js' }));
  }

  const port = await listen(server, options.port ?? 0, host).catch(async (e: unknown) => {
    await close(dynamoServer);
    destroyClients();
    throw e;
  });
  endpoint = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  try {
    config = playbackConfig({
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
    const cfg = config;
    await ensureTokenTable(dynamodb, cfg.tokenTable);
    const signer = new LoopbackProxySigner(new S3PresignedUrlSigner(s3), s3Origin, () => endpoint);
    const service = await buildKeyService(cfg, { s3, kms, dynamodb, ssm }, { signer });
    handler = createKeyServiceHttpHandler(cfg, async () => service);
    const issuer = lazy(() => buildTokenIssuer(cfg, { s3, ssm }));
    issueHandler = createIssueTokenHttpHandler(cfg, issuer);

    const secret = lazy(() => loadTokenSecret({ kind: 'file', path: secretFile }, ssm));
    const tokenStatus = async (assetId: string, token: string): Promise<TokenStatus> => {
      let claims: ReturnType<typeof verifyToken>;
      try {
        claims = verifyToken(token, await secret(), { assetId });
      } catch (e) {
        if (e instanceof PlaybackDeniedError) return { valid: false, reason: e.reason };
        throw e;
      }
      const item = await dynamodb.send(
        new GetItemCommand({
          TableName: cfg.tokenTable,
          Key: { jti: { S: claims.jti } },
          ConsistentRead: true,
        }),
      );
      const uses = Number(item.Item?.uses?.N ?? '0');
      const status = {
        expiresAt: new Date(claims.exp * 1000).toISOString(),
        maxUses: claims.maxUses,
        uses,
        usesLeft: Math.max(0, claims.maxUses - uses),
      };
      return { valid: true, ...status };
    };

    return {
      endpoint,
      dynamodbEndpoint,
      secretFile,
      tokenStatus,
      mount: (prefix, mounted) => {
        mounts.set(prefix.replace(/\/+$/, ''), mounted);
      },
      issuePlayback: async (assetId, opts = {}) => {
        const issued = await (await issuer()).issue({ assetId, baseUrl: endpoint, ...opts });
        return { ...issued, maxUses: opts.maxUses ?? cfg.tokenMaxUses };
      },
      keyUrl: (assetId) => keyUrlOf(endpoint, assetId),
      playerUrl: (assetId, token) =>
        `${endpoint}/player/?asset=${encodeURIComponent(assetId)}&token=${encodeURIComponent(token)}`,
      issueToken: async (assetId, opts = {}) =>
        (await (await issuer()).issue({ assetId, baseUrl: endpoint, ...opts })).token,
      stop: async () => {
        await close(server);
        destroyClients();
        await close(dynamoServer);
      },
    };
  } catch (e) {
    await close(server);
    destroyClients();
    await close(dynamoServer);
    throw e;
  }
}
