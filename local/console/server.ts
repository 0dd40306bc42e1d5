/**
 * The local console: executions, their graph and history, notifications and assets with a player, mounted under
 * `/console` on the key service's loopback server (same origin as `/play`, `/keys` and `/s3`, so the player needs no
 * CORS). Access needs the per-stack token in the URL (`<data-dir>/console-token`, 0600, random, reused across
 * restarts so a bookmark keeps working), and the Host header must name the loopback address: a web page elsewhere
 * cannot read it, not even through DNS rebinding.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlaybackDeniedError } from '../../lib/playback/errors.js';
import { isLoopbackHost, localPortOf } from '../http/request-guard.js';
import type { LocalKeyService } from '../playback/server.js';
import type { LocalStepFunctions } from '../sfn/index.js';
import { createNotificationReader, executionDetail, listExecutions } from './data.js';
import { type AslDefinition, layoutStateMachine } from './graph.js';

export const CONSOLE_PREFIX = '/console';
export const CONSOLE_TOKEN_FILE = 'console-token';

const PAGE_DIR = fileURLToPath(new URL('./page/', import.meta.url));
const STATIC: Record<string, string> = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
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

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(JSON.stringify(body));
}

function readJson(req: IncomingMessage, limit = 4096): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => {
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        const value = text ? (JSON.parse(text) as unknown) : {};
        resolve(value && typeof value === 'object' ? (value as Record<string, unknown>) : {});
      } catch (e) {
        reject(e);
      }
    });
    req.on('error', reject);
  });
}

const positiveInt = (v: unknown, fallback: number, max: number) =>
  Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max ? (v as number) : fallback;

export function createConsole(options: ConsoleOptions) {
  const token = consoleToken(options.dataDir);
  const expected = Buffer.from(token);
  const definition = JSON.parse(readFileSync(options.definitionPath, 'utf8')) as AslDefinition;
  const graph = layoutStateMachine(definition);
  const notifications = createNotificationReader(JSON.parse(readFileSync(options.schemaPath, 'utf8')), {
    sns: options.notificationsFile,
    eventBridge: options.eventsFile,
  });
  const hlsScript = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');

  const authorized = (req: IncomingMessage, url: URL): boolean => {
    const given = Buffer.from(String(req.headers['x-console-token'] ?? url.searchParams.get('token') ?? ''));
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  async function api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === 'executions') return send(res, 200, listExecutions(options.sfn));
    if (method === 'GET' && path === 'graph') return send(res, 200, graph);
    const execution = /^executions\/([A-Za-z0-9_-]{1,80})$/.exec(path);
    if (method === 'GET' && execution?.[1]) {
      const detail = executionDetail(options.sfn, execution[1]);
      return detail ? send(res, 200, detail) : send(res, 404, { error: 'execution_not_found' });
    }
    if (method === 'GET' && path === 'notifications') return send(res, 200, notifications.all());
    if (method === 'GET' && path === 'assets') return send(res, 200, notifications.assets());
    const tokenRoute = /^assets\/([A-Za-z0-9][A-Za-z0-9_-]{0,127})\/(token|token-status)$/.exec(path);
    if (method === 'POST' && tokenRoute?.[1]) {
      const body = await readJson(req);
      if (tokenRoute[2] === 'token-status') {
        if (typeof body.token !== 'string') return send(res, 400, { error: 'token_missing' });
        return send(res, 200, await options.keyService.tokenStatus(tokenRoute[1], body.token));
      }
      const issued = await options.keyService
        .issuePlayback(tokenRoute[1], {
          ttlSeconds: positiveInt(body.ttlSeconds, 600, 86_400),
          maxUses: positiveInt(body.maxUses, 1, 100),
        })
        .catch((e: unknown) => {
          if (e instanceof PlaybackDeniedError) return undefined;
          throw e;
        });
      return issued ? send(res, 200, issued) : send(res, 404, { error: 'asset_not_found' });
    }
    return send(res, 404, { error: 'not_found' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    // The key service's guard already refuses a foreign Host; the console checks again so that mounting it elsewhere
    // cannot open it to DNS rebinding.
    if (!isLoopbackHost(req.headers.host, localPortOf(req))) return send(res, 421, { error: 'wrong_host' });
    const rest = url.pathname.slice(CONSOLE_PREFIX.length).replace(/^\/+/, '');
    const file = STATIC[rest];
    if (file && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': file, 'Cache-Control': 'no-cache' });
      res.end(readFileSync(join(PAGE_DIR, rest)));
      return;
    }
    if (rest === 'hls.min.js' && req.method === 'GET') {
      res.writeHead(200, {
        'Content-Type': 'text/javascript; charset=utf-8',
        'Cache-Control': 'max-age=3600',
      });
      res.end(readFileSync(hlsScript));
      return;
    }
    if (!authorized(req, url)) {
      if (rest.startsWith('api/')) return send(res, 403, { error: 'console_token_required' });
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(
        `The console needs its token: open the URL printed by \`secure-transcode up\` (also "console" in ${join(options.dataDir, 'endpoints.json')}).\n`,
      );
      return;
    }
    if (rest.startsWith('api/')) return api(req, res, rest.slice('api/'.length));
    if (rest === '' && req.method === 'GET') {
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'Referrer-Policy': 'no-referrer',
        'Content-Security-Policy':
          "default-src 'self'; script-src 'self'; style-src 'self'; media-src 'self' blob:; img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'",
        'X-Frame-Options': 'DENY',
      });
      res.end(readFileSync(join(PAGE_DIR, 'index.html')));
      return;
    }
    return send(res, 404, { error: 'not_found' });
  }

  return {
    token,
    url: `${options.keyService.endpoint}${CONSOLE_PREFIX}/?token=${token}`,
    handle: (req: IncomingMessage, res: ServerResponse, url: URL) =>
      handle(req, res, url).catch(() => {
        if (!res.headersSent) send(res, 500, { error: 'internal' });
        else res.end();
      }),
  };
}
