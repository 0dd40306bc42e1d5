/**
 * The request path of a REST-JSON service (the local Elastic Transcoder and MediaConvert): the body under a limit,
 * the request guard, the route under the API version prefix, an injected fault for the operation, the JSON body,
 * then the route's handler. Each service names its own errors; its `fail` turns them into the REST-JSON envelope.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultInjector } from '../faults.js';
import type { RequestGuard } from './request-guard.js';
import { matchRoute, parseJsonBody, type Route, readAdmittedBody, sendJson } from './server.js';

/** The service's own error for each way a request can fail before its handler runs. */
export interface RestJsonErrors {
  tooLarge(): Error;
  invalidJson(): Error;
  noRoute(method: string, path: string): Error;
  throttled(): Error;
  internal(): Error;
}

export interface RestJsonEndpoint<C> {
  /** The API version the paths start with, e.g. `/2012-09-25`. */
  apiPrefix: string;
  routes: readonly Route<C>[];
  guard: RequestGuard;
  /** Asked `decide('transcoder', <operation>)`: fault specs name the transcoder, whichever backend serves it. */
  faults: FaultInjector | undefined;
  errors: RestJsonErrors;
}

const MAX_BODY = 1024 * 1024;

export async function handleRestJson<C>(
  endpoint: RestJsonEndpoint<C>,
  ctx: C,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { apiPrefix, errors } = endpoint;
  const raw = await readAdmittedBody(req, res, endpoint.guard, MAX_BODY, errors.tooLarge);
  if (!raw) return;
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname.startsWith(`${apiPrefix}/`) ? url.pathname.slice(apiPrefix.length) : '';
  const matched = matchRoute(endpoint.routes, req.method, path);
  if (!matched.route) throw errors.noRoute(req.method ?? 'GET', url.pathname);
  const { route, params } = matched;
  const fault = endpoint.faults?.decide('transcoder', route.operation);
  if (fault === 'reset') {
    req.socket.destroy();
    return;
  }
  const body = parseJsonBody(raw, errors.invalidJson);
  if (fault === 'throttle' || fault === 'slowdown') throw errors.throttled();
  if (fault === 'internal') throw errors.internal();
  const reply = await route.handle(ctx, { params, query: url.searchParams, body });
  sendJson(res, reply.status, reply.body);
}
