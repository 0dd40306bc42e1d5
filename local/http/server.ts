/**
 * What every local server shares on the HTTP side: reading a request body under a size limit, listening on a
 * loopback address, stopping (open keep-alive connections included), a route table matched by method and path,
 * and the AWS error envelope of each wire protocol. The request guard (`request-guard.ts`) is the other half: every
 * server calls it at request entry.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AwsProtocol, loopbackBindAddress } from './request-guard.js';

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
    server.listen(port ?? 0, bind, () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return { host: bind, port: actual, endpoint: `http://${bind}:${actual}` };
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

/** A protocol's error answers that are JSON: `__type` in the body (JSON 1.0/1.1) or the error-type header (REST-JSON). */
export function sendJsonError(
  res: ServerResponse,
  protocol: Extract<AwsProtocol, 'json' | 'rest-json'>,
  status: number,
  code: string,
  message: string,
  contentType?: string,
): void {
  if (protocol === 'json')
    sendJson(res, status, { __type: code, message }, contentType ? { contentType } : {});
  else sendJson(res, status, { message }, { headers: { 'x-amzn-errortype': code } });
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

/** The route for a method and path, with the pattern's groups URL-decoded; undefined when none matches. */
export function matchRoute<C>(
  routes: readonly Route<C>[],
  method: string | undefined,
  path: string,
): { route: Route<C>; params: string[] } | undefined {
  for (const route of routes) {
    const m = route.method === method ? route.path.exec(path) : null;
    if (m) return { route, params: m.slice(1).map((p) => decodeURIComponent(p)) };
  }
  return undefined;
}
