import type { IncomingMessage, ServerResponse } from 'node:http';
import { logger } from '../../lib/logger.js';
import type { FaultInjector } from '../faults.js';
import {
  type AwsJsonEndpoint,
  type AwsJsonErrors,
  createRequestGuard,
  handleAwsJson,
  type LocalAuth,
  sendAwsJsonError,
  serveOnLoopback,
} from '../http/index.js';
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

const internalError = () =>
  new KmsError('KMSInternalException', 'We encountered an internal error. Please try again.', 500);

const ERRORS: AwsJsonErrors = {
  tooLarge: () => new KmsError('ValidationException', 'Request body is too large'),
  invalidJson: (message) => new KmsError('SerializationException', message),
  unknownOperation: (target) => new KmsError('UnknownOperationException', `Unknown operation ${target}`),
  throttled: () => new KmsError('ThrottlingException', 'Rate exceeded'),
  internal: internalError,
};

/** The operations, each logging its success at debug level as its failures are logged in `fail`. */
const LOGGED_OPERATIONS = Object.fromEntries(
  Object.entries(OPERATIONS).map(([operation, run]) => [
    operation,
    async (store: KeyStore, input: Record<string, unknown>) => {
      const output = await run(store, input);
      logger.debug('kms request', { operation, status: 200 });
      return output;
    },
  ]),
);

function fail(e: unknown, _req: IncomingMessage, res: ServerResponse): void {
  if (e instanceof KmsError) logger.debug('kms request', { error: e.type, status: e.status });
  else logger.error('local kms failed', { error: e instanceof Error ? e.message : String(e) });
  const error = e instanceof KmsError ? e : internalError();
  sendAwsJsonError(res, error.status, error.type, error.message);
}

export async function startKmsServer(opts: KmsServerOptions): Promise<KmsServer> {
  const store = await KeyStore.open(
    opts.dataDir,
    opts.region ?? 'us-east-1',
    opts.accountId ?? '000000000000',
  );
  const endpoint: AwsJsonEndpoint<KeyStore> = {
    targetPrefix: 'TrentService',
    jsonVersion: '1.1',
    operations: LOGGED_OPERATIONS,
    guard: createRequestGuard({ auth: opts.auth, services: ['kms'], protocol: 'json' }),
    faults: { injector: opts.faults, service: 'kms' },
    errors: ERRORS,
  };
  const served = await serveOnLoopback((req, res) => handleAwsJson(endpoint, store, req, res), fail, opts);
  return {
    endpoint: served.endpoint,
    port: served.port,
    async createKey(description?: string) {
      const key = await store.createKey(description);
      return { keyId: key.keyId, arn: key.arn };
    },
    stop: served.stop,
  };
}
