/**
 * What every local server shares on the HTTP side: reading a request body under a size limit, listening on a
 * loopback address, stopping (open keep-alive connections included), a route table matched by method and path
 * (404 and 405 told apart), the operation of an AWS JSON request, and JSON answers. The AWS error envelope of each
 * protocol is in `errors.ts`; the request guard (`request-guard.ts`) is what every server runs at request entry.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loopbackBindAddress, type RequestGuard } from './request-guard.js';

/**
 * Reads a whole request body, throwing `tooLarge()` (the server's own error, in its protocol) as soon as more than
 * `limit` bytes arrive: a body is never buffered past its limit.
 */
export async function readBody(req: IncomingMessage, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export interface Listening {
  host: string;
  port: number;
  /** `http://<host>:<port>` */
  endpoint: string;
}

/** Listens on `host` (a loopback address; 127.0.0.1 by default) and `port` (0: the OS chooses). */
export async function listenOnLoopback(server: Server, host?: string, port?: number): Promise<Listening> {
  const bind = loopbackBindAddress(host);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port ?? 0, bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    host: bind,
    port: actual,
    endpoint: `http://${bind.includes(':') ? `[${bind}]` : bind}:${actual}`,
  };
}

/** Stops accepting, closes idle and open connections, and resolves once the server has closed. */
export function stopServer(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  server.closeAllConnections();
  return closed;
}

/** A JSON answer with a request id, as the JSON and REST-JSON AWS protocols send them. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  options: { contentType?: string; headers?: Record<string, string> } = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': options.contentType ?? 'application/json',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
    ...options.headers,
  });
  res.end(payload);
}

export interface RouteRequest<P = string[]> {
  params: P;
  query: URLSearchParams;
  body: unknown;
}

export interface Reply {
  status: number;
  body: unknown;
}

/** One entry of a route table: a method, a path pattern whose groups become `params`, and a named handler. */
export interface Route<C> {
  method: string;
  path: RegExp;
  operation: string;
  handle(ctx: C, req: RouteRequest): Promise<Reply> | Reply;
}

/** A matched route with its path groups URL-decoded, or why none matched: no such path (404), or not this method (405). */
export type RouteMatch<C> =
  | { route: Route<C>; params: string[] }
  | { route: undefined; status: 404 | 405; allow: string[] };

function decodedGroups(m: RegExpExecArray): string[] | undefined {
  try {
    return m.slice(1).map((p) => decodeURIComponent(p));
  } catch {
    // Malformed percent-encoding names no resource.
    return undefined;
  }
}

/**
 * The first route for `method` whose pattern matches `path`. Without one, `allow` lists the methods the path has
 * (405 when there are some, 404 when there are none).
 */
export function matchRoute<C>(
  routes: readonly Route<C>[],
  method: string | undefined,
  path: string,
): RouteMatch<C> {
  const allow: string[] = [];
  for (const route of routes) {
    const m = route.path.exec(path);
    const params = m ? decodedGroups(m) : undefined;
    if (!params) continue;
    if (route.method === method) return { route, params };
    if (!allow.includes(route.method)) allow.push(route.method);
  }
  return { route: undefined, status: allow.length ? 405 : 404, allow };
}

/**
 * The body under `limit`, once the request guard has admitted the request over it; undefined when the guard has
 * answered (403 in the server's protocol).
 */
export async function readAdmittedBody(
  req: IncomingMessage,
  res: ServerResponse,
  guard: RequestGuard,
  limit: number,
  tooLarge: () => Error,
): Promise<Buffer | undefined> {
  const body = await readBody(req, limit, tooLarge);
  return (await guard.admit(req, res, body)) ? body : undefined;
}

/** The entry of an operation table for `name`, never one inherited from `Object.prototype`. */
export function operationIn<T>(table: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

/** The operation an AWS JSON request names in `X-Amz-Target` (`<prefix>.<Operation>`), or '' for none. */
export function awsJsonOperation(req: IncomingMessage, targetPrefix: string): string {
  const target = String(req.headers['x-amz-target'] ?? '');
  return target.startsWith(`${targetPrefix}.`) ? target.slice(targetPrefix.length + 1) : '';
}

/** A JSON request body, `{}` when empty; `invalid()` (the server's own error) when it is not JSON. */
export function parseJsonBody(raw: Buffer, invalid: () => Error): unknown {
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalid();
  }
}

export interface LocalServer extends Listening {
  server: Server;
  stop(): Promise<void>;
}

/**
 * A server on loopback running `handle` for every request. A rejection goes to `fail`, which answers in the
 * server's protocol; once an answer has begun it can only be cut off, so the client sees a broken response rather
 * than a short one that looks whole.
 */
export async function serveOnLoopback(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  fail: (error: unknown, req: IncomingMessage, res: ServerResponse) => void,
  where: {
    host?: string | undefined;
    port?: number | undefined;
    /** Settings made before the server listens (timeouts). */
    configure?: (server: Server) => void;
  } = {},
): Promise<LocalServer> {
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) res.destroy();
      else fail(e, req, res);
    });
  });
  where.configure?.(server);
  const listening = await listenOnLoopback(server, where.host, where.port);
  return { ...listening, server, stop: () => stopServer(server) };
}
