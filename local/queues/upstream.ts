/**
 * The S3 gateway's forwarding half: SQS and SNS requests go to an in-process fauxqs, with SQS's query protocol and
 * 127.0.0.1 queue URLs added (sqs-protocol.ts); their bodies are small and read whole. fauxqs answers only the
 * gateway: it requires a per-process secret header that the gateway adds, so another user of the machine who finds
 * fauxqs's own loopback port cannot go around the gateway's request guard.
 *
 * fauxqs keeps queues, messages, topics and subscriptions in SQLite under the directory it is given (`fauxqs.db`),
 * written through on every change before it answers: node:sqlite in WAL mode with `synchronous=FULL`, so an
 * acknowledged SendMessage, Publish (its copies in subscribed queues), CreateQueue or Subscribe is on disk and
 * survives a SIGKILL. It is handed SQS and SNS calls only (`POST /`): object bytes stay with the gateway's store.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import {
  createRequestGuard,
  type LocalAuth,
  type Refusal,
  type RequestGuard,
  readBody,
  sendAwsError,
  sendAwsJsonError,
  sendQueryError,
  sendRefusal,
} from '../http/index.js';
import {
  formAction,
  QueueUrls,
  queryErrorFromJson,
  queryResponseXml,
  queryToJson,
  SQS_QUERY_ACTIONS,
  SQS_XML_NAMESPACE,
  SqsQueryError,
} from './sqs-protocol.js';

/** The forwarding state: fauxqs, the secret it requires, and the gateway's own port (queue URLs carry it). */
export interface Upstream {
  fauxqs: FauxqsServer;
  secret: string;
  agent: http.Agent;
  guard: RequestGuard;
  region: string;
  /** Known once the gateway listens. */
  gatewayPort: number;
  queueUrls?: QueueUrls;
}

type ListenArgs = Parameters<net.Server['listen']>;

/** The header by which fauxqs knows a request comes from this gateway. */
export const UPSTREAM_SECRET_HEADER = 'x-secure-transcode-gateway';

/**
 * fauxqs binds 0.0.0.0 unconditionally and checks no signature: rewrite that one listen call so nothing leaves the
 * loopback interface, and put a check of `secret` in front of its request handler.
 */
async function startFauxqsOnLoopback(secret: string, dataDir: string | undefined): Promise<FauxqsServer> {
  const original = net.Server.prototype.listen;
  const expected = Buffer.from(secret);
  net.Server.prototype.listen = function (this: net.Server, ...args: ListenArgs) {
    const first = args[0] as { host?: string } | undefined;
    if (first && typeof first === 'object' && first.host === '0.0.0.0') {
      (args as unknown[])[0] = { ...first, host: '127.0.0.1' };
      const server = this as http.Server;
      const handlers = server.listeners('request') as Array<
        (req: IncomingMessage, res: ServerResponse) => void
      >;
      server.removeAllListeners('request');
      server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        const given = Buffer.from(String(req.headers[UPSTREAM_SECRET_HEADER] ?? ''));
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
          req.resume();
          res.writeHead(403, { 'content-type': 'text/plain' });
          res.end('Use the gateway endpoint.\n');
          return;
        }
        delete req.headers[UPSTREAM_SECRET_HEADER];
        if (req.method !== 'POST' || req.url !== '/') {
          req.resume();
          res.writeHead(400, { 'content-type': 'text/plain' });
          res.end('fauxqs takes SQS and SNS calls only.\n');
          return;
        }
        for (const handler of handlers) handler.call(server, req, res);
      });
    }
    return original.apply(this, args);
  } as typeof original;
  try {
    return await startFauxqs({ port: 0, logger: false, ...(dataDir ? { dataDir } : {}) });
  } finally {
    net.Server.prototype.listen = original;
    // SQLite creates its files with the process umask; the WAL and shared-memory files take the database's mode.
    for (const file of ['fauxqs.db', 'fauxqs.db-wal', 'fauxqs.db-shm']) {
      if (dataDir && existsSync(join(dataDir, file))) chmodSync(join(dataDir, file), 0o600);
    }
  }
}

/**
 * Starts fauxqs on loopback behind its secret, with the SQS/SNS request guard for `auth`; its state lives in
 * `dataDir` (an existing private directory) and is restored from there, or in memory without one.
 */
export async function startUpstream(auth: LocalAuth, dataDir: string | undefined): Promise<Upstream> {
  const secret = randomBytes(32).toString('hex');
  const fauxqs = await startFauxqsOnLoopback(secret, dataDir);
  return {
    fauxqs,
    secret,
    agent: new http.Agent({ keepAlive: true, maxSockets: 64 }),
    guard: createRequestGuard({ auth, services: ['sqs', 'sns'], protocol: 'query' }),
    region: auth.region,
    gatewayPort: 0,
  };
}

export async function stopUpstream(up: Upstream): Promise<void> {
  up.agent.destroy();
  await up.fauxqs.stop();
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'expect', 'proxy-connection', 'upgrade'];

/** SQS's and SNS's own limits are far lower; anything larger is refused before it is buffered. */
const MAX_BODY = 2 * 1024 * 1024;

class RequestTooLargeError extends Error {
  override readonly name = 'RequestTooLargeError';
}
const tooLarge = () => new RequestTooLargeError('Request body too large for the gateway to inspect');

/** A buffered request to fauxqs (SQS/SNS bodies are small). */
function callUpstream(
  up: Upstream,
  method: string,
  path: string,
  headers: http.OutgoingHttpHeaders,
  body: Buffer,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: '127.0.0.1',
        port: up.fauxqs.port,
        method,
        path,
        agent: up.agent,
        headers: {
          ...headers,
          // fauxqs builds queue URLs from the Host header; one form keeps them stable (sqs-protocol.ts).
          host: `127.0.0.1:${up.gatewayPort}`,
          'content-length': body.length,
          [UPSTREAM_SECRET_HEADER]: up.secret,
        },
      },
      (ures) => {
        const chunks: Buffer[] = [];
        ures.on('data', (c: Buffer) => chunks.push(c));
        ures.on('error', reject);
        ures.on('end', () =>
          resolve({ status: ures.statusCode ?? 500, headers: ures.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function sendBody(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string | Buffer,
  extra = {},
): void {
  res.writeHead(status, {
    ...extra,
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function parseJsonBody(raw: Buffer): Record<string, unknown> {
  const parsed = JSON.parse(raw.toString('utf8') || '{}') as unknown;
  return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : {};
}

/** The body as text (SQS and SNS read it so); undefined once one over the limit has had 413 in its protocol. */
async function readForwardedBody(req: IncomingMessage, res: ServerResponse, json: boolean) {
  try {
    return Buffer.from((await readBody(req, MAX_BODY, tooLarge)).toString('utf8'), 'utf8');
  } catch (e) {
    if (!(e instanceof RequestTooLargeError)) throw e;
    const protocol = json ? 'json' : 'query';
    sendAwsError(res, protocol, 413, 'RequestEntityTooLarge', e.message, { jsonVersion: '1.0' });
    return undefined;
  }
}

/**
 * Tells SQS/SNS from S3 on the shared endpoint. SQS JSON comes with the `application/x-amz-json-1.0` content type
 * (X-Amz-Target names the action), SNS and SQS's query protocol as a form-encoded POST; every other request is S3.
 */
export function isQueueOrTopicRequest(
  method: string,
  pathname: string,
  headers: IncomingHttpHeaders,
): boolean {
  const contentType = String(headers['content-type'] ?? '');
  if (headers['x-amz-target'] || contentType.includes('application/x-amz-json')) return true;
  // The query protocol posts to `/`, or (some SQS clients) to the queue URL `/<account>/<queue>`.
  return (
    method === 'POST' &&
    (pathname === '/' || /^\/\d{12}\/[\w.-]+$/.test(pathname)) &&
    contentType.includes('application/x-www-form-urlencoded')
  );
}

/** SQS JSON passes through with queue URLs mapped; SQS query is translated; SNS (query) passes through. */
export async function forwardQueueOrTopic(
  up: Upstream,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const json =
    Boolean(req.headers['x-amz-target']) || String(req.headers['content-type'] ?? '').includes('json');
  const raw = await readForwardedBody(req, res, json);
  if (!raw) return;
  const action = json ? undefined : formAction(raw.toString('utf8'));
  const sqsQuery = action !== undefined && SQS_QUERY_ACTIONS.has(action);
  const refusal: Refusal | undefined = await up.guard.check(req, raw);
  if (refusal) {
    return sendRefusal(res, req.method ?? 'POST', json ? 'json' : 'query', refusal, {
      jsonVersion: '1.0',
      ...(sqsQuery ? { queryNamespace: SQS_XML_NAMESPACE } : {}),
    });
  }
  up.queueUrls ??= new QueueUrls(`http://127.0.0.1:${up.gatewayPort}`, up.region);
  const urls = up.queueUrls;
  if (json) {
    let parsed: Record<string, unknown>;
    try {
      parsed = parseJsonBody(raw);
    } catch {
      return sendAwsJsonError(
        res,
        400,
        'com.amazonaws.sqs#InvalidRequest',
        'Request body is not valid JSON',
        {
          jsonVersion: '1.0',
        },
      );
    }
    const body = urls.inboundBody(parsed);
    const headers = { ...req.headers };
    for (const h of [...HOP_BY_HOP, 'host', 'content-length', 'transfer-encoding']) delete headers[h];
    const reply = await callUpstream(up, 'POST', '/', headers, Buffer.from(JSON.stringify(body)));
    const ok = reply.status >= 200 && reply.status < 300;
    const out =
      ok && reply.body.length ? JSON.stringify(urls.outboundBody(parseJsonBody(reply.body))) : reply.body;
    const passed: Record<string, string> = {};
    for (const h of ['x-amzn-requestid', 'x-amzn-query-error']) {
      const v = reply.headers[h];
      if (typeof v === 'string') passed[h] = v;
    }
    return sendBody(
      res,
      reply.status,
      String(reply.headers['content-type'] ?? 'application/x-amz-json-1.0'),
      out,
      passed,
    );
  }
  if (!sqsQuery) {
    const headers = { ...req.headers };
    for (const h of [...HOP_BY_HOP, 'host', 'content-length', 'transfer-encoding']) delete headers[h];
    const reply = await callUpstream(up, req.method ?? 'POST', '/', headers, raw);
    return sendBody(res, reply.status, String(reply.headers['content-type'] ?? 'text/xml'), reply.body);
  }
  let translated: { action: string; body: Record<string, unknown> };
  try {
    translated = queryToJson(raw.toString('utf8'));
    // Some clients post a queue's actions to the queue URL itself rather than naming it in the body.
    if (translated.body.QueueUrl === undefined && url.pathname !== '/')
      translated.body.QueueUrl = `http://127.0.0.1:${up.gatewayPort}${url.pathname}`;
  } catch (e) {
    const err =
      e instanceof SqsQueryError ? e : new SqsQueryError('MalformedQueryString', (e as Error).message);
    return sendQueryError(res, err.status, err.code, err.message, { queryNamespace: SQS_XML_NAMESPACE });
  }
  const reply = await callUpstream(
    up,
    'POST',
    '/',
    { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${translated.action}` },
    Buffer.from(JSON.stringify(urls.inboundBody(translated.body))),
  );
  const answer = reply.body.length ? parseJsonBody(reply.body) : {};
  if (reply.status < 200 || reply.status >= 300) {
    const header = reply.headers['x-amzn-query-error'];
    return sendBody(
      res,
      reply.status,
      'text/xml',
      queryErrorFromJson(reply.status, typeof header === 'string' ? header : undefined, answer),
    );
  }
  return sendBody(res, 200, 'text/xml', queryResponseXml(translated.action, urls.outboundBody(answer)));
}
