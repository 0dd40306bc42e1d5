/**
 * The console's JSON API under `/console/api/`: one named handler per route over a `ConsoleContext`, and the route
 * table that maps methods and paths to them. `server.ts` checks the Host and the console token first.
 */
import { PlaybackDeniedError } from '../../lib/playback/errors.js';
import type { Reply, Route, RouteRequest } from '../http/index.js';
import type { LocalKeyService } from '../playback/index.js';
import type { LocalStepFunctions } from '../sfn/index.js';
import { type createNotificationReader, executionDetail, listExecutions } from './data.js';
import type { StateGraph } from './graph.js';

/** What the API answers from: the engine, the state machine's layout, the notification files, the key service. */
export interface ConsoleContext {
  sfn: LocalStepFunctions;
  graph: StateGraph;
  notifications: ReturnType<typeof createNotificationReader>;
  keyService: LocalKeyService;
}

/** The largest request body the API reads (the token routes' small JSON objects). */
export const MAX_API_BODY = 4096;

const ok = (body: unknown): Reply => ({ status: 200, body });

const positiveInt = (v: unknown, fallback: number, max: number) =>
  Number.isInteger(v) && (v as number) >= 1 && (v as number) <= max ? (v as number) : fallback;

const fieldOf = (body: unknown, name: string): unknown =>
  body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;

function executions(ctx: ConsoleContext): Reply {
  return ok(listExecutions(ctx.sfn));
}

function graph(ctx: ConsoleContext): Reply {
  return ok(ctx.graph);
}

function execution(ctx: ConsoleContext, { params: [name = ''] }: RouteRequest): Reply {
  const detail = executionDetail(ctx.sfn, name);
  return detail ? ok(detail) : { status: 404, body: { error: 'execution_not_found' } };
}

function notifications(ctx: ConsoleContext): Reply {
  return ok(ctx.notifications.all());
}

function assets(ctx: ConsoleContext): Reply {
  return ok(ctx.notifications.assets());
}

/** A playback token for an asset with a record; 404 for one the key service would not play. */
async function issueToken(
  ctx: ConsoleContext,
  { params: [assetId = ''], body }: RouteRequest,
): Promise<Reply> {
  const issued = await ctx.keyService
    .issuePlayback(assetId, {
      ttlSeconds: positiveInt(fieldOf(body, 'ttlSeconds'), 600, 86_400),
      maxUses: positiveInt(fieldOf(body, 'maxUses'), 1, 100),
    })
    .catch((e: unknown) => {
      if (e instanceof PlaybackDeniedError) return undefined;
      throw e;
    });
  return issued ? ok(issued) : { status: 404, body: { error: 'asset_not_found' } };
}

async function tokenStatus(
  ctx: ConsoleContext,
  { params: [assetId = ''], body }: RouteRequest,
): Promise<Reply> {
  const token = fieldOf(body, 'token');
  if (typeof token !== 'string') return { status: 400, body: { error: 'token_missing' } };
  return ok(await ctx.keyService.tokenStatus(assetId, token));
}

const ASSET = '([A-Za-z0-9][A-Za-z0-9_-]{0,127})';

/** Paths relative to `/console/api`. */
export const API_ROUTES: readonly Route<ConsoleContext>[] = [
  { method: 'GET', path: /^\/executions$/, operation: 'ListExecutions', handle: executions },
  { method: 'GET', path: /^\/graph$/, operation: 'GetGraph', handle: graph },
  {
    method: 'GET',
    path: /^\/executions\/([A-Za-z0-9_-]{1,80})$/,
    operation: 'GetExecution',
    handle: execution,
  },
  { method: 'GET', path: /^\/notifications$/, operation: 'ListNotifications', handle: notifications },
  { method: 'GET', path: /^\/assets$/, operation: 'ListAssets', handle: assets },
  {
    method: 'POST',
    path: new RegExp(`^/assets/${ASSET}/token$`),
    operation: 'IssueToken',
    handle: issueToken,
  },
  {
    method: 'POST',
    path: new RegExp(`^/assets/${ASSET}/token-status$`),
    operation: 'GetTokenStatus',
    handle: tokenStatus,
  },
];
