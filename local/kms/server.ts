import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { logger } from '../../lib/logger.js';
import type { FaultInjector } from '../faults.js';
import { sendAwsJsonError } from '../http/errors.js';
import { createRequestGuard, type LocalAuth, type RequestGuard } from '../http/request-guard.js';
import {
  awsJsonOperation,
  listenOnLoopback,
  parseJsonBody,
  readBody,
  sendJson,
  stopServer,
} from '../http/server.js';
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

const TARGET_PREFIX = 'TrentService';
const MAX_BODY = 1024 * 1024;
const CONTENT_TYPE = 'application/x-amz-json-1.1';

function sendError(res: ServerResponse, e: KmsError): void {
  sendAwsJsonError(res, e.status, e.type, e.message);
}

function parseJson(body: Buffer): Record<string, unknown> {
  const parsed = parseJsonBody(
    body,
    () => new KmsError('SerializationException', 'Request body is not valid JSON'),
  );
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
  const body = await readBody(
    req,
    MAX_BODY,
    () => new KmsError('ValidationException', 'Request body is too large'),
  );
  if (!(await guard.admit(req, res, body))) return;
  const op = awsJsonOperation(req, TARGET_PREFIX);
  const operation = Object.hasOwn(OPERATIONS, op) ? OPERATIONS[op] : undefined;
  if (req.method !== 'POST' || !operation) {
    return sendError(
      res,
      new KmsError(
        'UnknownOperationException',
        `Unknown operation ${req.headers['x-amz-target'] ?? req.method}`,
      ),
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
  sendJson(res, 200, output, { contentType: CONTENT_TYPE });
}

export async function startKmsServer(opts: KmsServerOptions): Promise<KmsServer> {
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
  const { endpoint, port } = await listenOnLoopback(server, opts.host, opts.port);
  return {
    endpoint,
    port,
    async createKey(description?: string) {
      const key = await store.createKey(description);
      return { keyId: key.keyId, arn: key.arn };
    },
    stop: () => stopServer(server),
  };
}
