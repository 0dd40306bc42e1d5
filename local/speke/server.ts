/**
 * The local SPEKE key provider: the API Gateway REST route `POST /copyProtection` with its `AWS_IAM` authorizer.
 * A request must come to a loopback Host and be SigV4-signed for `execute-api` with the stack's credentials (the job
 * role's part in the cloud): the stack's request guard answers anything else with API Gateway's 403 before the
 * handler runs. Signed requests reach the very handler factory the Lambda runs (lib/speke/http.ts), with a
 * payload 1.0 event.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { httpFunction } from '../../lib/handler.js';
import { logger } from '../../lib/logger.js';
import { MAX_CPIX_BYTES } from '../../lib/speke/cpix.js';
import { createSpekeHttpHandler } from '../../lib/speke/http.js';
import { SpekeKeyProvider } from '../../lib/speke/key-provider.js';
import {
  createRequestGuard,
  type RequestGuard,
  readAdmittedBody,
  sendApiGatewayError,
  serveOnLoopback,
} from '../http/index.js';
import { lambdaContext } from '../lambda/index.js';

export interface SpekeServerOptions {
  host?: string;
  port?: number;
  region?: string;
  s3: { endpoint: string };
  kms: { endpoint: string };
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The bucket and prefix of the asset records. */
  bucket: string;
  assetPrefix: string;
  /** The key service's base URL (URIExtXKey). */
  keyServiceUrl: string;
  /** The playback KMS key (PLAYBACK_KMS_KEY_ID): the only key the provider decrypts with. */
  playbackKmsKeyId: string;
}

export interface SpekeServer {
  endpoint: string;
  /** The URL to give MediaConvert as `SpekeKeyProvider.Url`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** What the request handling works over. */
interface SpekeContext {
  guard: RequestGuard;
  /** The Lambda's handler as deployed (Powertools' request-id logging included). */
  handler: (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
  accessKeyId: string;
  region: string;
}

/** The deployed function's name (serverless.yml key), so local log lines say which function wrote them. */
const LOCAL_FUNCTION = 'secure-transcode-local-spekeKeyProvider';

const ROUTE = '/copyProtection';
/** API Gateway's own limit is far larger; the handler refuses anything over MAX_CPIX_BYTES anyway. */
const MAX_BODY = MAX_CPIX_BYTES * 4;

/** API Gateway's answer to a body over its limit. */
class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
}
const TOO_LARGE = () => new PayloadTooLargeError('Request too long');

/** The payload 1.0 event API Gateway's REST API gives the Lambda for a signed request. */
function restApiEvent(ctx: SpekeContext, req: IncomingMessage, body: Buffer): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const route = { path: ROUTE, httpMethod: 'POST' };
  return {
    resource: ROUTE,
    ...route,
    headers,
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: body.toString('utf8'),
    isBase64Encoded: false,
    requestContext: {
      ...route,
      accountId: '000000000000',
      apiId: 'local',
      protocol: `HTTP/${req.httpVersion}`,
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: ROUTE,
      stage: 'local',
      authorizer: null,
      identity: {
        accessKey: ctx.accessKeyId,
        accountId: '000000000000',
        userArn: 'arn:aws:sts::000000000000:assumed-role/mediaconvert-job-role/local',
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        user: null,
      },
    },
  } as APIGatewayProxyEvent;
}

async function handle(ctx: SpekeContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  if (url.pathname !== ROUTE || req.method !== 'POST') {
    req.resume();
    return sendApiGatewayError(res, 404, `No route for ${req.method} ${url.pathname}; use POST ${ROUTE}`);
  }
  const body = await readAdmittedBody(req, res, ctx.guard, MAX_BODY, TOO_LARGE);
  if (!body) return;
  const result = await ctx.handler(
    restApiEvent(ctx, req, body),
    lambdaContext({ functionName: LOCAL_FUNCTION, region: ctx.region }),
  );
  const payload = Buffer.from(result.body, 'utf8');
  res.writeHead(result.statusCode, {
    ...(result.headers as Record<string, string>),
    'Content-Length': payload.length,
  });
  res.end(payload);
}

function fail(e: unknown, _req: IncomingMessage, res: ServerResponse): void {
  if (e instanceof PayloadTooLargeError) {
    sendApiGatewayError(res, 413, e.message);
    return;
  }
  logger.error('local SPEKE request failed', { error: e instanceof Error ? e.message : String(e) });
  sendApiGatewayError(res, 500, 'Internal server error');
}

export async function startSpekeServer(opts: SpekeServerOptions): Promise<SpekeServer> {
  const region = opts.region ?? 'us-east-1';
  const common = { region, credentials: opts.credentials, maxAttempts: 3 };
  const s3 = new S3Client({ ...common, endpoint: opts.s3.endpoint, forcePathStyle: true });
  const kms = new KMSClient({ ...common, endpoint: opts.kms.endpoint });
  const provider = new SpekeKeyProvider({
    s3,
    kms,
    bucket: opts.bucket,
    assetPrefix: opts.assetPrefix,
    keyServiceUrl: opts.keyServiceUrl.replace(/\/+$/, ''),
    playbackKmsKeyId: opts.playbackKmsKeyId,
  });
  const ctx: SpekeContext = {
    handler: httpFunction(createSpekeHttpHandler(async () => provider)),
    region,
    guard: createRequestGuard({
      auth: { credentials: { ...opts.credentials }, region },
      services: ['execute-api'],
      protocol: 'api-gateway',
    }),
    accessKeyId: opts.credentials.accessKeyId,
  };
  const served = await serveOnLoopback((req, res) => handle(ctx, req, res), fail, opts).catch(
    (e: unknown) => {
      s3.destroy();
      kms.destroy();
      throw e;
    },
  );
  return {
    endpoint: served.endpoint,
    url: `${served.endpoint}${ROUTE}`,
    port: served.port,
    async stop() {
      await served.stop();
      s3.destroy();
      kms.destroy();
    },
  };
}
