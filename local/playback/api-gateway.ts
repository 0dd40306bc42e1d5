/**
 * Turns a Node HTTP request into the HTTP API payload 2.0 event Lambda would receive, and the handler's result
 * back into a response, so the local key service runs the very handler factory the cloud runs.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export interface RouteMatch {
  routeKey: string;
  pathParameters: Record<string, string>;
}

export interface LocalRoute {
  routeKey: string;
  method: string;
  /** Named groups become path parameters. */
  pattern: RegExp;
}

/** `decodeURIComponent`, or undefined for a malformed percent-encoding (which API Gateway answers with 400). */
export function decodePathSegment(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** A path that matched a route but whose parameters are not valid percent-encoding. */
export const MALFORMED_PATH = Symbol('malformed path');

export function matchRoute(
  routes: LocalRoute[],
  method: string,
  path: string,
): RouteMatch | typeof MALFORMED_PATH | undefined {
  for (const route of routes) {
    if (route.method !== method && !(method === 'OPTIONS')) continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const pathParameters: Record<string, string> = {};
    for (const [name, value] of Object.entries(m.groups ?? {})) {
      const decoded = decodePathSegment(value);
      if (decoded === undefined) return MALFORMED_PATH;
      pathParameters[name] = decoded;
    }
    return {
      routeKey: method === 'OPTIONS' ? route.routeKey.replace(/^\S+/, 'OPTIONS') : route.routeKey,
      pathParameters,
    };
  }
  return undefined;
}

export function toApiGatewayEvent(
  req: IncomingMessage,
  match: RouteMatch,
  body: Buffer,
): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://local');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = k in query ? `${query[k]},${v}` : v;
  const now = new Date();
  const method = req.method ?? 'GET';
  return {
    version: '2.0',
    routeKey: match.routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length ? { queryStringParameters: query } : {}),
    pathParameters: match.pathParameters,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: match.routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: body.length > 0,
    ...(body.length ? { body: body.toString('base64') } : {}),
  };
}

export function sendResult(res: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const body =
    result.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  const headers: Record<string, string | number | boolean> = { ...(result.headers ?? {}) };
  headers['Content-Length'] = body.length;
  res.writeHead(result.statusCode ?? 200, headers as Record<string, string>);
  res.end(body);
}
