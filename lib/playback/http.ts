/**
 * HTTP API (payload 2.0) adaptation of the key service and the token issuer: routing by route key, CORS for the
 * configured player origins only, and the mapping of refusals to status codes. Only this layer turns errors into
 * responses; it logs outcomes with the token id (jti), never the token or the key.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import type { PlaybackConfig } from '../config/playback.js';
import { isWorkflowError, KmsThrottledError } from '../errors.js';
import { logger } from '../logger.js';
import { PlaybackDeniedError } from './errors.js';
import type { TokenIssuer } from './issuer.js';
import type { KeyService } from './key-service.js';

export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export const KEY_ROUTE = 'GET /keys/{assetId}';
export const PLAY_ROUTE = 'GET /play/{assetId}/{playlist+}';
export const ISSUE_ROUTE = 'POST /tokens';

const NO_STORE = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

function corsHeaders(config: PlaybackConfig, event: APIGatewayProxyEventV2): Record<string, string> {
  const origin = event.headers?.origin;
  if (!origin || !config.playerOrigins.includes(origin)) return { Vary: 'Origin' };
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': 'GET, OPTIONS',
    'Access-Control-Max-Age': '600',
    Vary: 'Origin',
  };
}

function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { ...NO_STORE, 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** The service's public base URL: configured, else what the client called (API Gateway domain and stage). */
export function baseUrlOf(config: PlaybackConfig, event: APIGatewayProxyEventV2): string {
  if (config.keyServiceUrl) return config.keyServiceUrl;
  const stage = event.requestContext.stage;
  const proto = event.headers?.['x-forwarded-proto'] ?? 'https';
  return `${proto}://${event.requestContext.domainName}${stage && stage !== '$default' ? `/${stage}` : ''}`;
}

function failure(e: unknown, context: Record<string, unknown>): APIGatewayProxyStructuredResultV2 {
  if (e instanceof PlaybackDeniedError) {
    logger.info('playback request refused', { ...context, status: e.status, reason: e.reason });
    return json(e.status, { error: e.reason }, e.status === 429 ? { 'Retry-After': '1' } : {});
  }
  const err = e as Error;
  logger.error('playback request failed', {
    ...context,
    errorName: err?.name,
    code: isWorkflowError(e) ? e.code : undefined,
  });
  if (e instanceof KmsThrottledError) return json(503, { error: 'key_unavailable' }, { 'Retry-After': '1' });
  return json(500, { error: 'internal' });
}

export function createKeyServiceHttpHandler(
  config: PlaybackConfig,
  service: () => Promise<KeyService>,
): HttpHandler {
  return async (event) => {
    const cors = corsHeaders(config, event);
    const assetId = event.pathParameters?.assetId ?? '';
    const request = {
      assetId,
      token: event.queryStringParameters?.token,
      clientId: event.requestContext.http.sourceIp,
    };
    const context = { route: event.routeKey, assetId, clientIp: request.clientId };
    if (event.requestContext.http.method === 'OPTIONS')
      return { statusCode: 204, headers: { ...NO_STORE, ...cors } };
    try {
      if (event.routeKey === KEY_ROUTE) {
        const delivered = await (await service()).deliverKey(request);
        logger.info('key delivered', { ...context, tokenId: delivered.claims.jti, uses: delivered.uses });
        const body = delivered.key.toString('base64');
        delivered.key.fill(0);
        return {
          statusCode: 200,
          headers: {
            ...NO_STORE,
            ...cors,
            'Content-Type': 'application/octet-stream',
            'Content-Length': '16',
          },
          body,
          isBase64Encoded: true,
        };
      }
      if (event.routeKey === PLAY_ROUTE) {
        const playlist = event.pathParameters?.playlist ?? '';
        if (!playlist.endsWith('.m3u8')) throw new PlaybackDeniedError('playlist_not_found');
        const text = await (await service()).renderPlaylist({
          ...request,
          playlist,
          baseUrl: baseUrlOf(config, event),
        });
        return {
          statusCode: 200,
          headers: { ...NO_STORE, ...cors, 'Content-Type': 'application/vnd.apple.mpegurl' },
          body: text,
        };
      }
      return json(404, { error: 'not_found' }, cors);
    } catch (e) {
      const res = failure(e, context);
      return { ...res, headers: { ...res.headers, ...cors } };
    }
  };
}

const IssueBodySchema = z
  .object({
    assetId: z.string().min(1),
    ttlSeconds: z
      .number()
      .int()
      .min(10)
      .max(7 * 86400)
      .optional(),
    maxUses: z.number().int().min(1).max(1000).optional(),
    viewerId: z.string().min(1).max(256).optional(),
  })
  .strict();

export function createIssueTokenHttpHandler(
  config: PlaybackConfig,
  issuer: () => Promise<TokenIssuer>,
): HttpHandler {
  return async (event) => {
    const context = { route: event.routeKey };
    try {
      if (event.routeKey !== ISSUE_ROUTE) return json(404, { error: 'not_found' });
      const raw = event.isBase64Encoded
        ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
        : (event.body ?? '');
      const parsed = IssueBodySchema.safeParse(parseJson(raw));
      if (!parsed.success) throw new PlaybackDeniedError('bad_request');
      const issued = await (await issuer()).issue({
        ...stripUndefined(parsed.data),
        baseUrl: baseUrlOf(config, event),
      });
      logger.info('token issued', { ...context, assetId: parsed.data.assetId, expiresAt: issued.expiresAt });
      return json(201, issued);
    } catch (e) {
      return failure(e, context);
    }
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function stripUndefined<T extends Record<string, unknown>>(
  o: T,
): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
