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
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyEventV2WithIAMAuthorizer,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import type { PlaybackConfig } from '../../lib/config/playback.js';
import { httpFunction } from '../../lib/handler.js';
import { readAssetRecord } from '../../lib/playback/asset-record.js';
import { buildKeyService, buildTokenIssuer, lazy } from '../../lib/playback/deps.js';
import {
  createIssueTokenHttpHandler,
  createKeyServiceHttpHandler,
  ISSUE_ROUTE,
  KEY_ROUTE,
  PLAY_ROUTE,
} from '../../lib/playback/http.js';
import type { IssuedPlayback } from '../../lib/playback/issuer.js';
import { ensureSecretFile, loadTokenSecret } from '../../lib/playback/secret.js';
import { S3PresignedUrlSigner } from '../../lib/playback/signed-urls.js';
import { ensureTokenTable } from '../../lib/playback/token-store.js';
import { verifyToken } from '../../lib/playback/tokens.js';
import { keyUrl as keyUrlOf, playUrl } from '../../lib/playback/urls.js';
import type { FaultInjector } from '../faults.js';
import {
  createRequestGuard,
  createSigV4Verifier,
  type LocalServer,
  type RequestGuard,
  readBody,
  sendApiGatewayError,
  sendJson,
  sendRefusal,
  serveOnLoopback,
} from '../http/index.js';
import { lambdaContext } from '../lambda/index.js';
import { checkPrivateFile } from '../private-dir.js';
import {
  type LocalRoute,
  MALFORMED_PATH,
  matchRoute,
  type RouteMatch,
  sendResult,
  toApiGatewayEvent,
} from './api-gateway.js';
import { startTokenStore } from './dynalite-guard.js';
import { playerPage } from './player-page.js';
import { createS3Proxy, LoopbackProxySigner } from './s3-proxy.js';
import {
  createClients,
  localPlaybackConfig,
  type PlaybackClients,
  stackSettings,
  type TokenStatus,
  tokenStatusOf,
} from './setup.js';

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

export { LOCAL_TOKEN_TABLE } from './setup.js';
export const TOKEN_SECRET_FILE_NAME = 'token-secret';

const ROUTES: LocalRoute[] = [
  { routeKey: KEY_ROUTE, method: 'GET', pattern: /^\/keys\/(?<assetId>[^/]+)$/ },
  { routeKey: PLAY_ROUTE, method: 'GET', pattern: /^\/play\/(?<assetId>[^/]+)\/(?<playlist>.+)$/ },
  { routeKey: ISSUE_ROUTE, method: 'POST', pattern: /^\/tokens$/ },
];

/** Route keys (OPTIONS included) served by the issue-token handler rather than the key service. */
const ISSUE_ROUTE_KEYS = new Set([ISSUE_ROUTE, 'OPTIONS /tokens']);

const FAULT_OPERATIONS: Record<string, string> = { [KEY_ROUTE]: 'GetKey', [PLAY_ROUTE]: 'GetPlaylist' };

/** The routes take a small JSON body at most (POST /tokens); API Gateway refuses larger ones with 413. */
const MAX_BODY = 64 * 1024;

class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
}

const readRouteBody = (req: IncomingMessage) =>
  readBody(req, MAX_BODY, () => new PayloadTooLargeError('Request Entity Too Large'));

/**
 * Every answer of this server carries these, whoever writes it (the router, the handler, the player page, the `/s3`
 * proxy, a mounted console): set before routing, so an answer that forgets them still has them. Only a proxied
 * segment replaces Cache-Control, with `private, max-age=60`.
 */
const SECURITY_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

/** The router's own answers carry the same headers as the handler's (lib/playback/http.ts). */
function sendRouterJson(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, { headers: { ...SECURITY_HEADERS } });
}

/** The master playlist's name under the default profile: the player page's guess when it may not read the record. */
const DEFAULT_MASTER_PLAYLIST = 'index.m3u8';

type LocalHttpFunction<E> = (event: E, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/** The deployed functions' names (serverless.yml keys), so local log lines say which function wrote them. */
const LOCAL_FUNCTIONS = {
  keys: 'secure-transcode-local-keyService',
  tokens: 'secure-transcode-local-issueToken',
} as const;

/** What the request handlers below share; `config` and the handlers are set once the server knows its URL. */
interface KeyServiceContext {
  endpoint: string;
  config?: PlaybackConfig;
  /** The Lambdas' handlers as deployed (Powertools' request-id logging included), each called with its own context. */
  handler?: LocalHttpFunction<APIGatewayProxyEventV2>;
  issueHandler?: LocalHttpFunction<APIGatewayProxyEventV2WithIAMAuthorizer>;
  region: string;
  accessKeyId: string;
  clients: PlaybackClients;
  tokensGuard: RequestGuard;
  proxyToS3: ReturnType<typeof createS3Proxy>;
  hlsScript: string;
  mounts: Map<string, MountedHandler>;
  faults?: FaultInjector;
  /** The token-signing secret, for the player page's check; set once the server knows its URL. */
  tokenSecret?: () => Promise<Buffer>;
}

async function route(ctx: KeyServiceContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  const method = req.method ?? 'GET';
  const foreignHost = ctx.tokensGuard.hostRefusal(req);
  if (foreignHost) {
    req.resume();
    return sendRefusal(res, method, 'api-gateway', foreignHost);
  }
  const url = new URL(req.url ?? '/', ctx.endpoint);
  for (const [prefix, mounted] of ctx.mounts) {
    if (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`)) return mounted(req, res, url);
  }
  if (url.pathname.startsWith('/s3/')) return ctx.proxyToS3(req, res);
  if (url.pathname === '/player/hls.min.js' && method === 'GET') {
    res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
    createReadStream(ctx.hlsScript).pipe(res);
    return;
  }
  if ((url.pathname === '/player/' || url.pathname === '/player') && method === 'GET') {
    return servePlayer(ctx, url, res);
  }
  const match = matchRoute(ROUTES, method, url.pathname);
  if (match === MALFORMED_PATH) return sendRouterJson(res, 400, { error: 'bad_request' });
  if (!match || !ctx.handler || !ctx.issueHandler) return sendRouterJson(res, 404, { error: 'not_found' });
  if (ISSUE_ROUTE_KEYS.has(match.routeKey)) return issue(ctx, req, res, match, ctx.issueHandler);
  const operation = FAULT_OPERATIONS[match.routeKey];
  const fault = operation ? ctx.faults?.decide('keyservice', operation) : undefined;
  if (fault === 'reset') {
    req.socket.destroy();
    return;
  }
  if (fault) {
    // API Gateway's answer when the integration is throttled or unavailable; hls.js retries it.
    req.resume();
    return sendApiGatewayError(res, 503, 'Service Unavailable', { headers: { 'retry-after': '1' } });
  }
  const event = toApiGatewayEvent(req, match, await readRouteBody(req));
  sendResult(
    res,
    await ctx.handler(event, lambdaContext({ functionName: LOCAL_FUNCTIONS.keys, region: ctx.region })),
  );
}

/** The AWS_IAM authorizer's part: only a request signed with the local credentials reaches the handler. */
async function issue(
  ctx: KeyServiceContext,
  req: IncomingMessage,
  res: ServerResponse,
  match: RouteMatch,
  issuing: NonNullable<KeyServiceContext['issueHandler']>,
): Promise<void> {
  const body = await readRouteBody(req);
  if (!(await ctx.tokensGuard.admit(req, res, body))) return;
  const accessKeyId = ctx.accessKeyId;
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
  sendResult(
    res,
    await issuing(event, lambdaContext({ functionName: LOCAL_FUNCTIONS.tokens, region: ctx.region })),
  );
}

/**
 * The page answers 200 with the same page for every asset id. The record (for the master playlist's name) is read
 * only for a genuine, unexpired token for this asset, so without one an asset that exists and one that does not get
 * the same bytes; the play route then refuses the token before it looks at the asset.
 */
async function servePlayer(ctx: KeyServiceContext, url: URL, res: ServerResponse): Promise<void> {
  const assetId = url.searchParams.get('asset') ?? '';
  const token = url.searchParams.get('token') ?? '';
  const { config, tokenSecret } = ctx;
  let master = DEFAULT_MASTER_PLAYLIST;
  if (config && tokenSecret && genuineToken(token, await tokenSecret(), assetId)) {
    const record = await readAssetRecord(
      { s3: ctx.clients.s3, bucket: config.outputBucket, assetPrefix: config.assetPrefix },
      assetId,
    ).catch(() => undefined);
    if (record) master = record.masterPlaylist;
  }
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Referrer-Policy': 'no-referrer' });
  res.end(
    playerPage({ src: playUrl(ctx.endpoint, assetId, master, token), hlsScriptPath: '/player/hls.min.js' }),
  );
}

function genuineToken(token: string, secret: Buffer, assetId: string): boolean {
  try {
    verifyToken(token, secret, { assetId });
    return true;
  } catch {
    return false;
  }
}

function fail(e: unknown, _req: IncomingMessage, res: ServerResponse): void {
  if (e instanceof PayloadTooLargeError) sendApiGatewayError(res, 413, e.message);
  else sendRouterJson(res, 500, { error: 'internal' });
}

/** The request handlers' context before the server knows its URL: clients, guards, the `/s3` proxy. */
function createContext(
  settings: ReturnType<typeof stackSettings>,
  clients: PlaybackClients,
  faults: FaultInjector | undefined,
): KeyServiceContext {
  const { credentials, region } = settings;
  const ctx: KeyServiceContext = {
    endpoint: '',
    region,
    accessKeyId: credentials.accessKeyId,
    clients,
    tokensGuard: createRequestGuard({
      auth: { credentials, region },
      services: ['execute-api'],
      protocol: 'api-gateway',
    }),
    proxyToS3: createS3Proxy({
      s3: clients.s3,
      s3Origin: new URL(settings.s3Endpoint).origin,
      verifier: createSigV4Verifier({ credentials, region, services: ['s3'] }),
      assets: () =>
        ctx.config
          ? {
              bucket: ctx.config.outputBucket,
              assetPrefix: ctx.config.assetPrefix,
              outputPrefix: ctx.config.outputPrefix,
            }
          : undefined,
    }),
    hlsScript: createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'),
    mounts: new Map(),
    ...(faults ? { faults } : {}),
  };
  return ctx;
}

/** Builds the handlers for the server's own URL and returns the service's handle. */
async function configure(
  ctx: KeyServiceContext,
  env: Record<string, string | undefined>,
  secretFile: string,
  parts: { s3Endpoint: string; tokenStore: LocalServer; stop: () => Promise<void> },
): Promise<LocalKeyService> {
  const { endpoint, clients } = ctx;
  const cfg = localPlaybackConfig(env, endpoint, secretFile);
  ctx.config = cfg;
  ctx.tokenSecret = lazy(() => loadTokenSecret(cfg.tokenSecret, clients.ssm));
  await ensureTokenTable(clients.dynamodb, cfg.tokenTable);
  const s3Origin = new URL(parts.s3Endpoint).origin;
  const signer = new LoopbackProxySigner(new S3PresignedUrlSigner(clients.s3), s3Origin, () => endpoint);
  const service = await buildKeyService(cfg, clients, { signer });
  ctx.handler = httpFunction(createKeyServiceHttpHandler(cfg, async () => service));
  const issuer = lazy(() => buildTokenIssuer(cfg, { s3: clients.s3, ssm: clients.ssm }));
  ctx.issueHandler = httpFunction(createIssueTokenHttpHandler(cfg, issuer));
  const issued = async (assetId: string, opts: IssueLocalTokenOptions = {}) =>
    (await issuer()).issue({ assetId, baseUrl: endpoint, ...opts });
  return {
    endpoint,
    dynamodbEndpoint: parts.tokenStore.endpoint,
    secretFile,
    tokenStatus: tokenStatusOf(cfg, clients, secretFile),
    mount: (prefix, mounted) => {
      ctx.mounts.set(prefix.replace(/\/+$/, ''), mounted);
    },
    issuePlayback: async (assetId, opts = {}) => ({
      ...(await issued(assetId, opts)),
      maxUses: opts.maxUses ?? cfg.tokenMaxUses,
    }),
    keyUrl: (assetId) => keyUrlOf(endpoint, assetId),
    playerUrl: (assetId, token) =>
      `${endpoint}/player/?asset=${encodeURIComponent(assetId)}&token=${encodeURIComponent(token)}`,
    issueToken: async (assetId, opts = {}) => (await issued(assetId, opts)).token,
    stop: parts.stop,
  };
}

export async function startKeyService(options: StartKeyServiceOptions): Promise<LocalKeyService> {
  const env: Record<string, string | undefined> = { ...process.env, ...options.env };
  const settings = stackSettings(env);
  const secretFile = join(options.dataDir, TOKEN_SECRET_FILE_NAME);
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  await ensureSecretFile(secretFile);
  // A secret someone else created or can rewrite is one they can mint tokens with (the stack checks its whole data
  // directory first; a key service started on its own directory gets the same refusal).
  checkPrivateFile(secretFile);
  const auth = { credentials: settings.credentials, region: settings.region };
  const tokenStore = await startTokenStore(options.dataDir, auth, options.dynamodbPort);
  const clients = createClients(settings, tokenStore.endpoint);
  const release = async () => {
    for (const c of Object.values(clients)) c.destroy();
    await tokenStore.stop();
  };
  const ctx = createContext(settings, clients, options.faults);
  const served = await serveOnLoopback((req, res) => route(ctx, req, res), fail, options).catch(
    async (e: unknown) => {
      await release();
      throw e;
    },
  );
  ctx.endpoint = served.endpoint;
  const stop = async () => {
    await served.stop();
    await release();
  };
  try {
    return await configure(ctx, env, secretFile, { s3Endpoint: settings.s3Endpoint, tokenStore, stop });
  } catch (e) {
    await stop();
    throw e;
  }
}
