/**
 * The local S3 (+ SQS + SNS) endpoint: a streaming reverse proxy on 127.0.0.1 in front of an in-process fauxqs
 * 1.9.2, adding what fauxqs lacks — ListParts / ListMultipartUploads, object tagging, ObjectCreated events, an S3
 * `EntityTooLarge` answer instead of fauxqs's opaque 413, SQS's query protocol and 127.0.0.1 queue URLs
 * (sqs-protocol.ts), and fault injection. S3 bodies are piped, never buffered, except the few small XML answers the
 * gateway has to read (upload ids, copy/complete results); SQS/SNS bodies are small and read whole.
 *
 * Every request passes the stack's request guard first (loopback Host, SigV4 with the stack's credentials), and
 * fauxqs answers only the gateway: it requires a per-process secret header that the gateway adds, so another user
 * of the machine who finds fauxqs's own loopback port cannot go around the check.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import type { FaultInjector, FaultKind } from '../faults.js';
import {
  createRequestGuard,
  type LocalAuth,
  loopbackBindAddress,
  type Refusal,
  sendRefusal,
} from '../http/request-guard.js';
import { MultipartTracker, TagStore } from './multipart-tracker.js';
import { classifyS3, isQueueOrTopicRequest, rawPathOf, type S3Request } from './operations.js';
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
import { errorXml, xmlValue } from './xml.js';

/** fauxqs 1.9.2's Fastify bodyLimit. */
export const FAUXQS_BODY_LIMIT = 11 * 1024 * 1024;

export type ObjectCreatedEventName =
  | 'ObjectCreated:Put'
  | 'ObjectCreated:CompleteMultipartUpload'
  | 'ObjectCreated:Copy';

export interface ObjectCreatedEvent {
  bucket: string;
  /** The object key, decoded (S3 notifications URL-encode it; whoever forwards the event does that). */
  key: string;
  size: number;
  etag: string;
  eventName: ObjectCreatedEventName;
  /** Hex, strictly increasing per gateway, fixed width so string order is numeric order. */
  sequencer: string;
  eventTime: string;
}

export interface S3GatewayOptions {
  /** The stack's credentials and region: requests signed otherwise are refused with 403. */
  auth: LocalAuth;
  host?: string;
  port?: number;
  buckets?: string[];
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
  /** Multipart uploads the gateway has seen created and not yet completed or aborted. */
  openUploads(bucket?: string): Array<{ bucket: string; key: string; uploadId: string }>;
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

/** Reads and discards the request body first, so the client sees an S3 answer rather than a broken pipe. */
function afterBody(req: IncomingMessage, then: () => void): void {
  if (req.readableEnded) {
    then();
    return;
  }
  req.on('end', then);
  req.on('error', () => undefined);
  req.resume();
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

interface Upstream {
  status: number;
  headers: http.IncomingHttpHeaders;
  requestBytes: number;
  body?: Buffer;
}

export async function startS3Gateway(opts: S3GatewayOptions): Promise<S3Gateway> {
  const upstreamSecret = randomBytes(32).toString('hex');
  const fauxqs = await startFauxqsOnLoopback(upstreamSecret);
  const s3Guard = createRequestGuard({ auth: opts.auth, services: ['s3'], protocol: 'rest-xml' });
  const queueGuard = createRequestGuard({ auth: opts.auth, services: ['sqs', 'sns'], protocol: 'query' });
  let queueUrls: QueueUrls | undefined;
  /** The gateway's own port, known once it listens (queue URLs carry it). */
  let port = 0;
  for (const b of opts.buckets ?? []) fauxqs.createBucket(b);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const tracker = new MultipartTracker();
  const tags = new TagStore();
  const listeners: Array<(e: ObjectCreatedEvent) => void> = [];
  let sequence = BigInt(Date.now()) * 1_000_000n;

  const emit = (e: Omit<ObjectCreatedEvent, 'sequencer' | 'eventTime'>) => {
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

  /** Sends the request on to fauxqs. `capture` buffers the (small) answer for the caller; otherwise it is piped. */
  const forward = (req: IncomingMessage, res: ServerResponse, capture: boolean): Promise<Upstream> =>
    new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { ...req.headers, [UPSTREAM_SECRET_HEADER]: upstreamSecret };
      for (const h of HOP_BY_HOP) delete headers[h];
      const up = http.request({
        host: '127.0.0.1',
        port: fauxqs.port,
        method: req.method,
        path: req.url,
        headers,
        agent,
      });
      let requestBytes = 0;
      req.on('data', (c: Buffer) => {
        requestBytes += c.length;
      });
      pipeline(req, up, (err) => {
        if (err) up.destroy(err);
      });
      up.on('error', reject);
      up.on('response', (ures) => {
        const status = ures.statusCode ?? 500;
        if (status === 413) {
          ures.resume();
          sendXml(
            res,
            400,
            errorXml(
              'EntityTooLarge',
              `Request body exceeds the local limit of ${FAUXQS_BODY_LIMIT} bytes`,
              req.url,
            ),
          );
          return resolve({ status: 400, headers: {}, requestBytes });
        }
        if (capture) {
          const chunks: Buffer[] = [];
          ures.on('data', (c: Buffer) => chunks.push(c));
          ures.on('error', reject);
          ures.on('end', () =>
            resolve({ status, headers: ures.headers, requestBytes, body: Buffer.concat(chunks) }),
          );
          return;
        }
        res.writeHead(status, ures.headers);
        pipeline(ures, res, (err) => {
          if (err) res.destroy();
          resolve({ status, headers: ures.headers, requestBytes });
        });
      });
    });

  const reply = (res: ServerResponse, up: Upstream) => {
    res.writeHead(up.status, up.headers);
    res.end(up.body);
  };

  const headUpstream = (bucket: string, key: string): Promise<{ size: number; etag: string } | undefined> =>
    new Promise((resolve) => {
      const path = `/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
      const r = http.request(
        {
          host: '127.0.0.1',
          port: fauxqs.port,
          method: 'HEAD',
          path,
          agent,
          headers: { [UPSTREAM_SECRET_HEADER]: upstreamSecret },
        },
        (ures) => {
          ures.resume();
          const ok = ures.statusCode === 200;
          resolve(
            ok
              ? { size: Number(ures.headers['content-length'] ?? 0), etag: String(ures.headers.etag ?? '') }
              : undefined,
          );
        },
      );
      r.on('error', () => resolve(undefined));
      r.end();
    });

  const injectFault = (req: IncomingMessage, res: ServerResponse, kind: FaultKind, op: S3Request) => {
    if (kind === 'reset') {
      req.socket.destroy();
      return;
    }
    const [status, code, message] =
      kind === 'internal'
        ? [500, 'InternalError', 'We encountered an internal error. Please try again.']
        : [503, 'SlowDown', 'Please reduce your request rate.'];
    afterBody(req, () =>
      sendXml(
        res,
        status,
        errorXml(code, `${message} (injected fault on ${op.operation})`, req.url),
        req.method,
      ),
    );
  };

  const handleS3 = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const method = req.method ?? 'GET';
    const op = classifyS3(method, url, req.headers, rawPathOf(req.url ?? '/'));
    const bucket = op.bucket ?? '';
    const key = op.key ?? '';
    opts.onS3Request?.({ ...op, range: req.headers.range });
    const fault = opts.faults?.decide('s3', op.operation);
    if (fault) return injectFault(req, res, fault, op);

    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > FAUXQS_BODY_LIMIT) {
      return afterBody(req, () =>
        sendXml(
          res,
          400,
          errorXml(
            'EntityTooLarge',
            `Your proposed upload exceeds the local limit of ${FAUXQS_BODY_LIMIT} bytes per request`,
            url.pathname,
          ),
        ),
      );
    }

    switch (op.operation) {
      case 'ListParts': {
        const xml = tracker.listPartsXml(op.query.get('uploadId') ?? '', op.query);
        return afterBody(req, () =>
          xml
            ? sendXml(res, 200, xml)
            : sendXml(
                res,
                404,
                errorXml('NoSuchUpload', 'The specified multipart upload does not exist.', url.pathname),
              ),
        );
      }
      case 'ListMultipartUploads':
        return afterBody(req, () => sendXml(res, 200, tracker.listUploadsXml(bucket, op.query)));
      case 'UploadPartCopy':
        return afterBody(req, () =>
          sendXml(
            res,
            501,
            errorXml('NotImplemented', 'UploadPartCopy is not supported by the local S3', url.pathname),
          ),
        );
      case 'HeadObject': {
        // fauxqs ignores If-Match on HEAD (it honours it on GET); S3 answers 412, which is how an execution pins an
        // unversioned source to the upload its event announced.
        const ifMatch = req.headers['if-match'];
        if (typeof ifMatch !== 'string') break;
        const head = await headUpstream(bucket, key);
        if (head && ifMatch !== '*' && !ifMatch.split(',').some((t) => t.trim() === head.etag)) {
          res.writeHead(412, { 'x-amz-request-id': 'gateway' });
          return res.end();
        }
        break;
      }
      case 'PutObjectTagging':
      case 'GetObjectTagging':
      case 'DeleteObjectTagging': {
        // Read the body even when unused, so the connection stays usable for the next request.
        const body = await readBody(req);
        if (!(await headUpstream(bucket, key))) {
          return sendXml(res, 404, errorXml('NoSuchKey', 'The specified key does not exist.', url.pathname));
        }
        if (op.operation === 'GetObjectTagging')
          return sendXml(res, 200, TagStore.toXml(tags.get(bucket, key)));
        tags.set(bucket, key, op.operation === 'PutObjectTagging' ? TagStore.fromXml(body) : []);
        res.writeHead(op.operation === 'PutObjectTagging' ? 200 : 204);
        return res.end();
      }
      default:
        break;
    }

    const capture = [
      'PutObject',
      'CopyObject',
      'UploadPart',
      'CreateMultipartUpload',
      'CompleteMultipartUpload',
      'AbortMultipartUpload',
      'DeleteObject',
      'DeleteBucket',
    ].includes(op.operation);
    const up = await forward(req, res, capture);
    if (!capture) return;
    const ok = up.status >= 200 && up.status < 300;
    const uploadId = op.query.get('uploadId') ?? '';
    const text = up.body?.toString('utf8') ?? '';
    const newTags = TagStore.fromHeader(req.headers['x-amz-tagging'] as string | undefined);
    switch (op.operation) {
      case 'CreateMultipartUpload': {
        const id = xmlValue(text, 'UploadId');
        if (ok && id) tracker.created(bucket, key, id);
        break;
      }
      case 'UploadPart':
        if (ok) {
          const decoded = Number(req.headers['x-amz-decoded-content-length'] ?? Number.NaN);
          const size = Number.isFinite(decoded) ? decoded : up.requestBytes;
          tracker.partUploaded(
            bucket,
            key,
            uploadId,
            Number(op.query.get('partNumber')),
            String(up.headers.etag ?? ''),
            size,
          );
        }
        break;
      case 'AbortMultipartUpload':
        if (ok || up.status === 404) tracker.forget(uploadId);
        break;
      case 'DeleteObject':
        if (ok) tags.delete(bucket, key);
        break;
      case 'DeleteBucket':
        if (ok) tracker.forgetBucket(bucket);
        break;
      case 'PutObject':
        if (ok) {
          const decoded = Number(req.headers['x-amz-decoded-content-length'] ?? Number.NaN);
          tags.set(bucket, key, newTags);
          emit({
            bucket,
            key,
            size: Number.isFinite(decoded) ? decoded : up.requestBytes,
            etag: String(up.headers.etag ?? ''),
            eventName: 'ObjectCreated:Put',
          });
        }
        break;
      case 'CompleteMultipartUpload':
      case 'CopyObject': {
        // S3 can answer 200 with an <Error> document for these two.
        if (!ok || text.includes('<Error>')) {
          if (op.operation === 'CompleteMultipartUpload' && up.status === 404) tracker.forget(uploadId);
          break;
        }
        if (op.operation === 'CompleteMultipartUpload') tracker.forget(uploadId);
        tags.set(
          bucket,
          key,
          op.operation === 'CopyObject' && req.headers['x-amz-tagging-directive'] === 'REPLACE'
            ? newTags
            : [],
        );
        const head = await headUpstream(bucket, key);
        emit({
          bucket,
          key,
          size: head?.size ?? 0,
          etag: head?.etag ?? xmlValue(text, 'ETag') ?? '',
          eventName:
            op.operation === 'CopyObject' ? 'ObjectCreated:Copy' : 'ObjectCreated:CompleteMultipartUpload',
        });
        break;
      }
      default:
        break;
    }
    reply(res, up);
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
    openUploads: (b) => tracker.openUploads(b),
    stop: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
      await fauxqs.stop();
    },
  };
}
