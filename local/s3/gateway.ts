/**
 * The local S3 (+ SQS + SNS) endpoint on 127.0.0.1. S3 requests are answered here, from objects stored as files
 * under the data directory (`object-store.ts`, `s3-api.ts`): streamed, durable before acknowledged, versioned, with
 * ObjectCreated events and fault injection. SQS and SNS go to an in-process fauxqs 1.9.2, with SQS's query protocol
 * and 127.0.0.1 queue URLs added (sqs-protocol.ts); their bodies are small and read whole.
 *
 * Every request enters through `handle()` and passes the stack's request guard first (loopback Host, SigV4 with the
 * stack's credentials), and fauxqs answers only the gateway: it requires a per-process secret header that the
 * gateway adds, so another user of the machine who finds fauxqs's own loopback port cannot go around the check.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import type { FaultInjector, FaultKind } from '../faults.js';
import {
  createRequestGuard,
  type LocalAuth,
  loopbackBindAddress,
  type Refusal,
  sendRefusal,
} from '../http/request-guard.js';
import { ObjectStore } from './object-store.js';
import { classifyS3, isQueueOrTopicRequest, rawPathOf, type S3Request } from './operations.js';
import { type CreatedObject, drain, type ObjectCreatedEventName, S3Api } from './s3-api.js';
import {
  formAction,
  QueueUrls,
  queryErrorFromJson,
  queryErrorXml,
  queryResponseXml,
  queryToJson,
  SQS_QUERY_ACTIONS,
  SQS_XML_NAMESPACE,
  SqsQueryError,
} from './sqs-protocol.js';
import { errorXml } from './xml.js';

export type { ObjectCreatedEventName };

export interface ObjectCreatedEvent extends CreatedObject {
  /** Hex, strictly increasing per gateway, fixed width so string order is numeric order. */
  sequencer: string;
  eventTime: string;
}

export interface S3GatewayOptions {
  /** The stack's credentials and region: requests signed otherwise are refused with 403. */
  auth: LocalAuth;
  host?: string;
  port?: number;
  /** Objects live under `<dataDir>/s3/`. Without it, a temporary directory removed by `stop()`. */
  dataDir?: string;
  buckets?: string[];
  /** Buckets to create with versioning enabled (as the deployment's bucket is). */
  versionedBuckets?: string[];
  faults?: FaultInjector;
  /** Sees every S3 request as it arrives, before faults or forwarding (tests count GETs and UploadParts with it). */
  onS3Request?: (r: S3RequestRecord) => void;
}

export interface S3RequestRecord extends S3Request {
  /** The `Range` header of a GetObject, if any. */
  range?: string | undefined;
}

export interface S3Gateway {
  endpoint: string;
  port: number;
  fauxqs: FauxqsServer;
  onObjectCreated(listener: (e: ObjectCreatedEvent) => void): void;
  /** Multipart uploads created and not yet completed or aborted. */
  openUploads(bucket?: string): Array<{ bucket: string; key: string; uploadId: string }>;
  /** The current (not deleted) objects under a prefix, as their creation events described them. */
  currentObjects(bucket: string, prefix: string): CreatedObject[];
  /** Emits an ObjectCreated event for an object again (a fresh sequencer), as if it had just been written. */
  announce(o: CreatedObject): void;
  stop(): Promise<void>;
}

type ListenArgs = Parameters<net.Server['listen']>;

/** The header by which fauxqs knows a request comes from this gateway. */
const UPSTREAM_SECRET_HEADER = 'x-secure-transcode-gateway';

/**
 * fauxqs binds 0.0.0.0 unconditionally and checks no signature: rewrite that one listen call so nothing leaves the
 * loopback interface, and put a check of `secret` in front of its request handler.
 */
async function startFauxqsOnLoopback(secret: string): Promise<FauxqsServer> {
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
        for (const handler of handlers) handler.call(server, req, res);
      });
    }
    return original.apply(this, args);
  } as typeof original;
  try {
    return await startFauxqs({ port: 0, logger: false });
  } finally {
    net.Server.prototype.listen = original;
  }
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'expect', 'proxy-connection', 'upgrade'];

function sendXml(res: ServerResponse, status: number, body: string, method = 'GET'): void {
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(method === 'HEAD' ? undefined : body);
}

async function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new Error('request body too large for the gateway to inspect');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startS3Gateway(opts: S3GatewayOptions): Promise<S3Gateway> {
  const ownDir = opts.dataDir ? undefined : mkdtempSync(join(tmpdir(), 'st-s3-'));
  const store = new ObjectStore(join(opts.dataDir ?? ownDir ?? '', 's3'));
  store.load();
  for (const b of opts.buckets ?? []) await store.createBucket(b);
  for (const b of opts.versionedBuckets ?? []) {
    await store.createBucket(b);
    if (store.bucket(b).versioning !== 'Enabled') await store.setVersioning(b, 'Enabled');
  }
  const upstreamSecret = randomBytes(32).toString('hex');
  const fauxqs = await startFauxqsOnLoopback(upstreamSecret);
  const s3Guard = createRequestGuard({ auth: opts.auth, services: ['s3'], protocol: 'rest-xml' });
  const queueGuard = createRequestGuard({ auth: opts.auth, services: ['sqs', 'sns'], protocol: 'query' });
  let queueUrls: QueueUrls | undefined;
  /** The gateway's own port, known once it listens (queue URLs carry it). */
  let port = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const listeners: Array<(e: ObjectCreatedEvent) => void> = [];
  let sequence = BigInt(Date.now()) * 1_000_000n;

  const emit = (e: CreatedObject) => {
    sequence += 1n;
    const event = {
      ...e,
      sequencer: sequence.toString(16).toUpperCase().padStart(20, '0'),
      eventTime: new Date().toISOString(),
    };
    for (const l of listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure is its own; the S3 request already succeeded.
      }
    }
  };

  const api = new S3Api({ store, onCreated: emit });

  const injectFault = async (req: IncomingMessage, res: ServerResponse, kind: FaultKind, op: S3Request) => {
    if (kind === 'reset') {
      req.socket.destroy();
      return;
    }
    const [status, code, message] =
      kind === 'internal'
        ? [500, 'InternalError', 'We encountered an internal error. Please try again.']
        : [503, 'SlowDown', 'Please reduce your request rate.'];
    // Read the body first, so the client sees an S3 answer rather than a broken pipe.
    await drain(req);
    sendXml(
      res,
      status,
      errorXml(code, `${message} (injected fault on ${op.operation})`, req.url),
      req.method,
    );
  };

  const handleS3 = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const op = classifyS3(req.method ?? 'GET', url, req.headers, rawPathOf(req.url ?? '/'));
    opts.onS3Request?.({ ...op, range: req.headers.range });
    const fault = opts.faults?.decide('s3', op.operation);
    if (fault) return injectFault(req, res, fault, op);
    return api.handle(req, res, op);
  };

  /** A buffered request to fauxqs (SQS/SNS bodies are small). */
  const callUpstream = (
    method: string,
    path: string,
    headers: http.OutgoingHttpHeaders,
    body: Buffer,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const up = http.request(
        {
          host: '127.0.0.1',
          port: fauxqs.port,
          method,
          path,
          agent,
          headers: {
            ...headers,
            // fauxqs builds queue URLs from the Host header; one form keeps them stable (sqs-protocol.ts).
            host: `127.0.0.1:${port}`,
            'content-length': body.length,
            [UPSTREAM_SECRET_HEADER]: upstreamSecret,
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
      up.on('error', reject);
      up.end(body);
    });

  const sendBody = (
    res: ServerResponse,
    status: number,
    contentType: string,
    body: string | Buffer,
    extra = {},
  ) => {
    res.writeHead(status, {
      ...extra,
      'content-type': contentType,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };

  const parseJsonBody = (raw: Buffer): Record<string, unknown> => {
    const parsed = JSON.parse(raw.toString('utf8') || '{}') as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  };

  /** SQS JSON passes through with queue URLs mapped; SQS query is translated; SNS (query) passes through. */
  const handleQueueOrTopic = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const raw = Buffer.from(await readBody(req, 2 * 1024 * 1024), 'utf8');
    const json =
      Boolean(req.headers['x-amz-target']) || String(req.headers['content-type'] ?? '').includes('json');
    const action = json ? undefined : formAction(raw.toString('utf8'));
    const sqsQuery = action !== undefined && SQS_QUERY_ACTIONS.has(action);
    const refusal: Refusal | undefined = await queueGuard.check(req, raw);
    if (refusal) {
      return sendRefusal(res, req.method ?? 'POST', json ? 'json' : 'query', refusal, {
        jsonContentType: 'application/x-amz-json-1.0',
        ...(sqsQuery ? { queryNamespace: SQS_XML_NAMESPACE } : {}),
      });
    }
    queueUrls ??= new QueueUrls(`http://127.0.0.1:${port}`, opts.auth.region);
    const urls = queueUrls;
    if (json) {
      let parsed: Record<string, unknown>;
      try {
        parsed = parseJsonBody(raw);
      } catch {
        return sendBody(
          res,
          400,
          'application/x-amz-json-1.0',
          JSON.stringify({
            __type: 'com.amazonaws.sqs#InvalidRequest',
            message: 'Request body is not valid JSON',
          }),
        );
      }
      const body = urls.inboundBody(parsed);
      const headers = { ...req.headers };
      for (const h of [...HOP_BY_HOP, 'host', 'content-length', 'transfer-encoding']) delete headers[h];
      const up = await callUpstream('POST', '/', headers, Buffer.from(JSON.stringify(body)));
      const ok = up.status >= 200 && up.status < 300;
      const out = ok && up.body.length ? JSON.stringify(urls.outboundBody(parseJsonBody(up.body))) : up.body;
      const passed: Record<string, string> = {};
      for (const h of ['x-amzn-requestid', 'x-amzn-query-error']) {
        const v = up.headers[h];
        if (typeof v === 'string') passed[h] = v;
      }
      return sendBody(
        res,
        up.status,
        String(up.headers['content-type'] ?? 'application/x-amz-json-1.0'),
        out,
        passed,
      );
    }
    if (!sqsQuery) {
      const headers = { ...req.headers };
      for (const h of [...HOP_BY_HOP, 'host', 'content-length', 'transfer-encoding']) delete headers[h];
      const up = await callUpstream(req.method ?? 'POST', '/', headers, raw);
      return sendBody(res, up.status, String(up.headers['content-type'] ?? 'text/xml'), up.body);
    }
    let translated: { action: string; body: Record<string, unknown> };
    try {
      translated = queryToJson(raw.toString('utf8'));
      // Some clients post a queue's actions to the queue URL itself rather than naming it in the body.
      if (translated.body.QueueUrl === undefined && url.pathname !== '/')
        translated.body.QueueUrl = `http://127.0.0.1:${port}${url.pathname}`;
    } catch (e) {
      const err =
        e instanceof SqsQueryError ? e : new SqsQueryError('MalformedQueryString', (e as Error).message);
      return sendBody(res, err.status, 'text/xml', queryErrorXml(err.code, err.message));
    }
    const up = await callUpstream(
      'POST',
      '/',
      { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AmazonSQS.${translated.action}` },
      Buffer.from(JSON.stringify(urls.inboundBody(translated.body))),
    );
    const answer = up.body.length ? parseJsonBody(up.body) : {};
    if (up.status < 200 || up.status >= 300) {
      const header = up.headers['x-amzn-query-error'];
      return sendBody(
        res,
        up.status,
        'text/xml',
        queryErrorFromJson(up.status, typeof header === 'string' ? header : undefined, answer),
      );
    }
    return sendBody(res, 200, 'text/xml', queryResponseXml(translated.action, urls.outboundBody(answer)));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (!isQueueOrTopicRequest(req.method ?? 'GET', url.pathname, req.headers)) {
      if (!(await s3Guard.admit(req, res, undefined))) return;
      return handleS3(req, res, url);
    }
    return handleQueueOrTopic(req, res, url);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return res.destroy();
      sendXml(res, 500, errorXml('InternalError', `local gateway: ${(e as Error).message}`), req.method);
    });
  });
  server.keepAliveTimeout = 30_000;
  // Large bodies take as long as they take; Node's default 5-minute request timeout would cut a 5 GiB PUT.
  server.requestTimeout = 0;

  const host = loopbackBindAddress(opts.host);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  }).catch(async (e: unknown) => {
    // A busy port must not leave fauxqs listening behind it (the process would never exit).
    agent.destroy();
    await fauxqs.stop();
    throw e;
  });
  port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://${host}:${port}`,
    port,
    fauxqs,
    onObjectCreated: (l) => {
      listeners.push(l);
    },
    currentObjects: (bucket, prefix) =>
      store
        .sortedKeys(bucket)
        .filter((k) => k.startsWith(prefix))
        .flatMap((k) => {
          const v = store.find(bucket, k);
          if (!v || v.deleteMarker) return [];
          const versioned = store.bucket(bucket).versioning !== undefined;
          return [
            {
              bucket,
              key: k,
              size: v.size,
              etag: v.etag,
              eventName: v.partSizes ? 'ObjectCreated:CompleteMultipartUpload' : 'ObjectCreated:Put',
              ...(versioned ? { versionId: v.versionId } : {}),
            } satisfies CreatedObject,
          ];
        }),
    announce: emit,
    openUploads: (b) =>
      store
        .listBuckets()
        .filter((x) => b === undefined || x.name === b)
        .flatMap((x) => store.listUploads(x.name))
        .map(({ bucket, key, uploadId }) => ({ bucket, key, uploadId })),
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
      await fauxqs.stop();
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}
