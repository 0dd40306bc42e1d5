/**
 * The local SPEKE key provider: the API Gateway REST route `POST /copyProtection` with its `AWS_IAM` authorizer.
 * A request must come to a loopback Host and be SigV4-signed for `execute-api` with the stack's credentials (the job
 * role's part in the cloud): the stack's request guard answers anything else with API Gateway's 403 before the
 * handler runs. Signed requests reach the very handler
 * factory the Lambda runs (lib/speke/http.ts), with a payload 1.0 event.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { logger } from '../../lib/logger.js';
import { MAX_CPIX_BYTES } from '../../lib/speke/cpix.js';
import { createSpekeHttpHandler } from '../../lib/speke/http.js';
import { SpekeKeyProvider } from '../../lib/speke/key-provider.js';
import { createRequestGuard, loopbackBindAddress } from '../http/request-guard.js';

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
}

export interface SpekeServer {
  endpoint: string;
  /** The URL to give MediaConvert as `SpekeKeyProvider.Url`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

const ROUTE = '/copyProtection';

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
    ...(status === 403 ? { 'x-amzn-ErrorType': 'AccessDeniedException' } : {}),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    // API Gateway's own limit is far larger; the handler refuses anything over MAX_CPIX_BYTES anyway.
    if (size > MAX_CPIX_BYTES * 4) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startSpekeServer(opts: SpekeServerOptions): Promise<SpekeServer> {
  const region = opts.region ?? 'us-east-1';
  const host = loopbackBindAddress(opts.host);
  const common = { region, credentials: opts.credentials, maxAttempts: 3 };
  const s3 = new S3Client({ ...common, endpoint: opts.s3.endpoint, forcePathStyle: true });
  const kms = new KMSClient({ ...common, endpoint: opts.kms.endpoint });
  const provider = new SpekeKeyProvider({
    s3,
    kms,
    bucket: opts.bucket,
    assetPrefix: opts.assetPrefix,
    keyServiceUrl: opts.keyServiceUrl.replace(/\/+$/, ''),
  });
  const handler = createSpekeHttpHandler(async () => provider);
  const guard = createRequestGuard({
    auth: { credentials: { ...opts.credentials }, region },
    services: ['execute-api'],
    protocol: 'api-gateway',
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname !== ROUTE || req.method !== 'POST') {
      req.resume();
      return sendJson(res, 404, { message: `No route for ${req.method} ${url.pathname}; use POST ${ROUTE}` });
    }
    const body = await readBody(req);
    if (!body) return sendJson(res, 413, { message: 'Request too long' });
    if (!(await guard.admit(req, res, body))) return;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
    const event = {
      resource: ROUTE,
      path: ROUTE,
      httpMethod: 'POST',
      headers,
      multiValueHeaders: {},
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: null,
      stageVariables: null,
      body: body.toString('utf8'),
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        httpMethod: 'POST',
        path: ROUTE,
        protocol: `HTTP/${req.httpVersion}`,
        requestId: randomUUID(),
        requestTimeEpoch: Date.now(),
        resourceId: 'local',
        resourcePath: ROUTE,
        stage: 'local',
        authorizer: null,
        identity: {
          accessKey: opts.credentials.accessKeyId,
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
    const result = await handler(event);
    const payload = Buffer.from(result.body, 'utf8');
    res.writeHead(result.statusCode, {
      ...(result.headers as Record<string, string>),
      'Content-Length': payload.length,
    });
    res.end(payload);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      logger.error('local SPEKE request failed', { error: e instanceof Error ? e.message : String(e) });
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal server error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://${host}:${port}`;
  return {
    endpoint,
    url: `${endpoint}${ROUTE}`,
    port,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      s3.destroy();
      kms.destroy();
    },
  };
}
