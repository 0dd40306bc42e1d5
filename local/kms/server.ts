/**
 * The local KMS endpoint: AWS JSON 1.1 (`POST /`, `X-Amz-Target: TrentService.<Op>`), enough for the SDK and the
 * AWS CLI pointed at it with `--endpoint-url`. Every request passes the stack's request guard first (loopback Host,
 * SigV4 with the stack's credentials): the keys here unwrap every data key of the stack.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { logger } from '../../lib/logger.js';
import type { FaultInjector } from '../faults.js';
import {
  createRequestGuard,
  type LocalAuth,
  loopbackBindAddress,
  type RequestGuard,
} from '../http/request-guard.js';
import { KmsError } from './errors.js';
import { KeyStore } from './keystore.js';
import { OPERATIONS } from './operations.js';

export interface KmsServerOptions {
  dataDir: string;
  /** The stack's credentials and region: requests signed otherwise are refused with 403. */
  auth: LocalAuth;
  host?: string;
  port?: number;
  region?: string;
  accountId?: string;
  faults?: FaultInjector;
}

export interface KmsServer {
  endpoint: string;
  port: number;
  /** Creates a key directly in the store (no HTTP round trip), for the stack's start-up. */
  createKey(description?: string): Promise<{ keyId: string; arn: string }>;
  stop(): Promise<void>;
}

const TARGET_PREFIX = 'TrentService.';
const MAX_BODY = 1024 * 1024;
const CONTENT_TYPE = 'application/x-amz-json-1.1';

function send(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': CONTENT_TYPE,
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(payload);
}

function sendError(res: ServerResponse, e: KmsError): void {
  send(res, e.status, { __type: e.type, message: e.message });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new KmsError('ValidationException', 'Request body is too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new KmsError('SerializationException', 'Request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new KmsError('SerializationException', 'Request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

async function handle(
  store: KeyStore,
  faults: FaultInjector | undefined,
  guard: RequestGuard,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const body = await readBody(req);
  if (!(await guard.admit(req, res, body))) return;
  const target = String(req.headers['x-amz-target'] ?? '');
  const op = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  const operation = Object.hasOwn(OPERATIONS, op) ? OPERATIONS[op] : undefined;
  if (req.method !== 'POST' || !operation) {
    return sendError(
      res,
      new KmsError('UnknownOperationException', `Unknown operation ${target || req.method}`),
    );
  }
  const fault = faults?.decide('kms', op);
  if (fault === 'reset') {
    req.socket.destroy();
    return;
  }
  if (fault === 'throttle' || fault === 'slowdown') {
    return sendError(res, new KmsError('ThrottlingException', 'Rate exceeded'));
  }
  if (fault === 'internal') {
    return sendError(
      res,
      new KmsError('KMSInternalException', 'We encountered an internal error. Please try again.', 500),
    );
  }
  const output = await operation(store, parseJson(body));
  logger.debug('kms request', { operation: op, status: 200 });
  send(res, 200, output);
}

export async function startKmsServer(opts: KmsServerOptions): Promise<KmsServer> {
  const host = loopbackBindAddress(opts.host);
  const store = await KeyStore.open(
    opts.dataDir,
    opts.region ?? 'us-east-1',
    opts.accountId ?? '000000000000',
  );
  const guard = createRequestGuard({ auth: opts.auth, services: ['kms'], protocol: 'json' });
  const server = createServer((req, res) => {
    handle(store, opts.faults, guard, req, res).catch((e: unknown) => {
      if (e instanceof KmsError) {
        logger.debug('kms request', { error: e.type, status: e.status });
        return sendError(res, e);
      }
      logger.error('local kms failed', { error: e instanceof Error ? e.message : String(e) });
      sendError(
        res,
        new KmsError('KMSInternalException', 'We encountered an internal error. Please try again.', 500),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    async createKey(description?: string) {
      const key = await store.createKey(description);
      return { keyId: key.keyId, arn: key.arn };
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
