/**
 * The local console: executions, their graph and history, notifications and assets with a player, mounted under
 * `/console` on the key service's loopback server (same origin as `/play`, `/keys` and `/s3`, so the player needs no
 * CORS). Access needs the per-stack token in the URL (`<data-dir>/console-token`, 0600, random, reused across
 * restarts so a bookmark keeps working), and the Host header must name the loopback address: a web page elsewhere
 * cannot read it, not even through DNS rebinding. The JSON API is in `api.ts`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLoopbackHost, localPortOf, matchRoute, parseJsonBody, readBody, sendJson } from '../http/index.js';
import type { LocalKeyService } from '../playback/index.js';
import type { LocalStepFunctions } from '../sfn/index.js';
import { API_ROUTES, type ConsoleContext, MAX_API_BODY } from './api.js';
import { createNotificationReader } from './data.js';
import { type AslDefinition, layoutStateMachine } from './graph.js';

export const CONSOLE_PREFIX = '/console';
export const CONSOLE_TOKEN_FILE = 'console-token';

const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));
const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
/**
 * The page's scripts (ES modules, which browsers refuse without a JavaScript content type) and its stylesheet, by
 * name: listed once at start-up, so a request path is only ever looked up, never joined onto the directory.
 */
const STATIC = new Map(
  readdirSync(PAGE_DIR).flatMap((name) => {
    const type = CONTENT_TYPES[extname(name)];
    return type ? [[name, type] as const] : [];
  }),
);
const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self' blob:; img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'",
  'X-Frame-Options': 'DENY',
};

export interface ConsoleOptions {
  dataDir: string;
  definitionPath: string;
  schemaPath: string;
  notificationsFile: string;
  eventsFile: string;
  sfn: LocalStepFunctions;
  keyService: LocalKeyService;
}

/** The API's context, and what the pages need besides: the token, the data directory, hls.js. */
interface ConsoleServerContext extends ConsoleContext {
  expected: Buffer;
  dataDir: string;
  hlsScript: string;
}

/** A request the API refuses before any handler runs (a body too large or not JSON). */
class ConsoleRequestError extends Error {
  override readonly name = 'ConsoleRequestError';
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(code);
  }
}

/** Reads the stack's console token, creating it (0600) on first start. */
export function consoleToken(dataDir: string): string {
  const path = join(dataDir, CONSOLE_TOKEN_FILE);
  if (existsSync(path)) {
    const existing = readFileSync(path, 'utf8').trim();
    if (/^[A-Za-z0-9_-]{32,}$/.test(existing)) return existing;
  }
  const token = randomBytes(24).toString('base64url');
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return token;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, body, {
    contentType: 'application/json; charset=utf-8',
    headers: { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers },
  });
}

function authorized(ctx: ConsoleServerContext, req: IncomingMessage, url: URL): boolean {
  const given = Buffer.from(String(req.headers['x-console-token'] ?? url.searchParams.get('token') ?? ''));
  return given.length === ctx.expected.length && timingSafeEqual(given, ctx.expected);
}

async function readApiBody(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req, MAX_API_BODY, () => new ConsoleRequestError(413, 'body_too_large'));
  return parseJsonBody(raw, () => new ConsoleRequestError(400, 'invalid_json'));
}

async function api(ctx: ConsoleServerContext, req: IncomingMessage, res: ServerResponse, path: string) {
  const match = matchRoute(API_ROUTES, req.method, path);
  if (!match.route) {
    req.resume();
    if (match.status === 405)
      return send(res, 405, { error: 'method_not_allowed' }, { allow: match.allow.join(', ') });
    return send(res, 404, { error: 'not_found' });
  }
  const body = match.route.method === 'POST' ? await readApiBody(req) : undefined;
  const reply = await match.route.handle(ctx, { params: match.params, query: new URLSearchParams(), body });
  send(res, reply.status, reply.body);
}

function serveFile(res: ServerResponse, path: string, contentType: string, cacheControl: string): void {
  res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': cacheControl });
  res.end(readFileSync(path));
}

function refuseWithoutToken(ctx: ConsoleServerContext, res: ServerResponse, rest: string): void {
  if (rest.startsWith('api/')) {
    send(res, 403, { error: 'console_token_required' });
    return;
  }
  res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(
    `The console needs its token: open the URL printed by \`secure-transcode up\` (also "console" in ${join(ctx.dataDir, 'endpoints.json')}).\n`,
  );
}

async function handle(ctx: ConsoleServerContext, req: IncomingMessage, res: ServerResponse, url: URL) {
  // The key service's guard already refuses a foreign Host; the console checks again so that mounting it elsewhere
  // cannot open it to DNS rebinding.
  if (!isLoopbackHost(req.headers.host, localPortOf(req))) return send(res, 421, { error: 'wrong_host' });
  const rest = url.pathname.slice(CONSOLE_PREFIX.length).replace(/^\/+/, '');
  const file = STATIC.get(rest);
  if (file && req.method === 'GET') return serveFile(res, join(PAGE_DIR, rest), file, 'no-cache');
  if (rest === 'hls.min.js' && req.method === 'GET')
    return serveFile(res, ctx.hlsScript, 'text/javascript; charset=utf-8', 'max-age=3600');
  if (!authorized(ctx, req, url)) return refuseWithoutToken(ctx, res, rest);
  if (rest.startsWith('api/')) return api(ctx, req, res, rest.slice('api'.length));
  if (rest === '' && req.method === 'GET') {
    res.writeHead(200, PAGE_HEADERS);
    res.end(readFileSync(join(PAGE_DIR, 'index.html')));
    return;
  }
  return send(res, 404, { error: 'not_found' });
}

function fail(e: unknown, res: ServerResponse): void {
  if (res.headersSent) res.destroy();
  else if (e instanceof ConsoleRequestError) send(res, e.status, { error: e.code });
  else send(res, 500, { error: 'internal' });
}

export function createConsole(options: ConsoleOptions) {
  const token = consoleToken(options.dataDir);
  const definition = JSON.parse(readFileSync(options.definitionPath, 'utf8')) as AslDefinition;
  const ctx: ConsoleServerContext = {
    sfn: options.sfn,
    keyService: options.keyService,
    graph: layoutStateMachine(definition),
    notifications: createNotificationReader(JSON.parse(readFileSync(options.schemaPath, 'utf8')), {
      sns: options.notificationsFile,
      eventBridge: options.eventsFile,
    }),
    expected: Buffer.from(token),
    dataDir: options.dataDir,
    hlsScript: createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'),
  };
  return {
    token,
    url: `${options.keyService.endpoint}${CONSOLE_PREFIX}/?token=${token}`,
    handle: (req: IncomingMessage, res: ServerResponse, url: URL) =>
      handle(ctx, req, res, url).catch((e: unknown) => fail(e, res)),
  };
}

/** Mounts the console under `/console` on the key service's server; returns its URL (token included). */
export function mountConsole(options: ConsoleOptions): string {
  const consoleApp = createConsole(options);
  options.keyService.mount(CONSOLE_PREFIX, consoleApp.handle);
  return consoleApp.url;
}
