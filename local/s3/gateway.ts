/**
 * The local S3 (+ SQS + SNS) endpoint on 127.0.0.1. S3 requests are answered here, from objects stored as files
 * under the data directory (`object-store.ts`, `s3-api.ts`): streamed, durable before acknowledged, versioned, with
 * ObjectCreated events (`events.ts`) and fault injection. SQS and SNS are forwarded to an in-process fauxqs 2.4.1
 * (local/queues), whose queues, messages, topics and subscriptions persist under `<dataDir>/queues/`.
 *
 * Every request enters through `handle()` and passes the stack's request guard first (loopback Host, SigV4 with the
 * stack's credentials); fauxqs answers only the gateway (see local/queues/upstream.ts).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FauxqsServer } from 'fauxqs';
import type { FaultInjector, FaultKind } from '../faults.js';
import {
  createRequestGuard,
  type LocalAuth,
  type RequestGuard,
  sendRestXmlError,
  serveOnLoopback,
} from '../http/index.js';
import {
  forwardQueueOrTopic,
  isQueueOrTopicRequest,
  startUpstream,
  stopUpstream,
  type Upstream,
} from '../queues/index.js';
import { currentObjects, type ObjectCreatedEvent, ObjectCreatedEvents } from './events.js';
import { ObjectStore } from './object-store.js';
import { classifyS3, rawPathOf, type S3Request } from './operations.js';
import { type CreatedObject, drain, type ObjectCreatedEventName, S3Api } from './s3-api.js';

export type { ObjectCreatedEvent, ObjectCreatedEventName };

export interface S3GatewayOptions {
  /** The stack's credentials and region: requests signed otherwise are refused with 403. */
  auth: LocalAuth;
  host?: string;
  port?: number;
  /**
   * Objects live under `<dataDir>/s3/`, SQS and SNS state under `<dataDir>/queues/`. Without it, objects go to a
   * temporary directory removed by `stop()` and SQS/SNS state stays in memory (nothing outlives the gateway anyway).
   */
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

/** What the gateway's request handling works over. */
interface GatewayContext {
  opts: S3GatewayOptions;
  s3Guard: RequestGuard;
  api: S3Api;
  upstream: Upstream;
}

async function injectFault(req: IncomingMessage, res: ServerResponse, kind: FaultKind, op: S3Request) {
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
  const where = { resource: req.url ?? '', method: req.method ?? 'GET' };
  sendRestXmlError(res, status, code, `${message} (injected fault on ${op.operation})`, where);
}

async function handleS3(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse, url: URL) {
  const op = classifyS3(req.method ?? 'GET', url, req.headers, rawPathOf(req.url ?? '/'));
  ctx.opts.onS3Request?.({ ...op, range: req.headers.range });
  const fault = ctx.opts.faults?.decide('s3', op.operation);
  if (fault) return injectFault(req, res, fault, op);
  return ctx.api.handle(req, res, op);
}

async function handle(ctx: GatewayContext, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://gateway');
  if (!isQueueOrTopicRequest(req.method ?? 'GET', url.pathname, req.headers)) {
    if (!(await ctx.s3Guard.admit(req, res, undefined))) return;
    return handleS3(ctx, req, res, url);
  }
  return forwardQueueOrTopic(ctx.upstream, req, res, url);
}

function fail(e: unknown, req: IncomingMessage, res: ServerResponse): void {
  const message = `local gateway: ${e instanceof Error ? e.message : String(e)}`;
  sendRestXmlError(res, 500, 'InternalError', message, { method: req.method ?? 'GET' });
}

async function openStore(opts: S3GatewayOptions, dir: string): Promise<ObjectStore> {
  const store = new ObjectStore(join(dir, 's3'));
  store.load();
  for (const b of opts.buckets ?? []) await store.createBucket(b);
  for (const b of opts.versionedBuckets ?? []) {
    await store.createBucket(b);
    if (store.bucket(b).versioning !== 'Enabled') await store.setVersioning(b, 'Enabled');
  }
  return store;
}

export async function startS3Gateway(opts: S3GatewayOptions): Promise<S3Gateway> {
  const ownDir = opts.dataDir ? undefined : mkdtempSync(join(tmpdir(), 'st-s3-'));
  const store = await openStore(opts, opts.dataDir ?? ownDir ?? '');
  const queuesDir = opts.dataDir ? join(opts.dataDir, 'queues') : undefined;
  if (queuesDir) {
    mkdirSync(queuesDir, { recursive: true, mode: 0o700 });
    chmodSync(queuesDir, 0o700);
  }
  const upstream = await startUpstream(opts.auth, queuesDir);
  const events = new ObjectCreatedEvents();
  const ctx: GatewayContext = {
    opts,
    s3Guard: createRequestGuard({ auth: opts.auth, services: ['s3'], protocol: 'rest-xml' }),
    api: new S3Api({ store, onCreated: (o) => events.emit(o) }),
    upstream,
  };

  const served = await serveOnLoopback((req, res) => handle(ctx, req, res), fail, {
    host: opts.host,
    port: opts.port,
    configure: (server) => {
      server.keepAliveTimeout = 30_000;
      // Large bodies take as long as they take; Node's default 5-minute request timeout would cut a 5 GiB PUT.
      server.requestTimeout = 0;
    },
  }).catch(async (e: unknown) => {
    // A busy port must not leave fauxqs listening behind it (the process would never exit).
    await stopUpstream(upstream);
    throw e;
  });
  const { endpoint, port } = served;
  upstream.gatewayPort = port;

  return {
    endpoint,
    port,
    fauxqs: upstream.fauxqs,
    onObjectCreated: (l) => events.on(l),
    currentObjects: (bucket, prefix) => currentObjects(store, bucket, prefix),
    announce: (o) => events.emit(o),
    openUploads: (b) =>
      store
        .listBuckets()
        .filter((x) => b === undefined || x.name === b)
        .flatMap((x) => store.listUploads(x.name))
        .map(({ bucket, key, uploadId }) => ({ bucket, key, uploadId })),
    stop: async () => {
      await served.stop().catch(() => {});
      await stopUpstream(upstream);
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}
