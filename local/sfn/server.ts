/**
 * The Step Functions wire protocol (AWS JSON 1.0: `POST /`, `X-Amz-Target: AWSStepFunctions.<Operation>`) in front
 * of the local engine, so the starter's `@aws-sdk/client-sfn` calls and the AWS CLI work unchanged. The operations
 * and their wire shapes are in `operations.ts`; errors go out as `{"__type": …, "message": …}` with HTTP 400.
 * Requests pass the stack's request guard first (loopback Host, SigV4 with the stack's credentials).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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
import { LocalStepFunctions, type LocalStepFunctionsOptions, SfnApiError } from './engine.js';
import { OPERATIONS } from './operations.js';

export interface SfnServerOptions extends LocalStepFunctionsOptions {
  /** The stack's credentials: requests signed otherwise are refused with 403. */
  auth: LocalAuth;
  host?: string;
  port?: number;
  faults?: FaultInjector;
}

export interface SfnServer {
  endpoint: string;
  port: number;
  stateMachineArn: string;
  engine: LocalStepFunctions;
  stop(): Promise<void>;
}

const ERRORS: AwsJsonErrors = {
  tooLarge: () => new SfnApiError('ValidationException', 'Request body is too large'),
  invalidJson: (message) => new SfnApiError('SerializationException', message),
  unknownOperation: (target) =>
    new SfnApiError(
      'UnknownOperationException',
      `${target} is not supported by the local Step Functions: expected POST with X-Amz-Target: AWSStepFunctions.<Operation>`,
    ),
  throttled: () => new SfnApiError('ThrottlingException', 'Injected fault'),
  internal: () => new SfnApiError('InternalServerError', 'Injected fault', 500),
};

function fail(e: unknown, _req: IncomingMessage, res: ServerResponse): void {
  const error =
    e instanceof SfnApiError
      ? e
      : new SfnApiError('InternalServerError', e instanceof Error ? e.message : String(e), 500);
  sendAwsJsonError(res, error.status, error.code, error.message, { jsonVersion: '1.0' });
}

export async function startSfnServer(options: SfnServerOptions): Promise<SfnServer> {
  const engine = new LocalStepFunctions(options);
  const endpoint: AwsJsonEndpoint<LocalStepFunctions> = {
    targetPrefix: 'AWSStepFunctions',
    jsonVersion: '1.0',
    operations: OPERATIONS,
    guard: createRequestGuard({
      auth: options.auth,
      services: ['states'],
      protocol: 'json',
      jsonVersion: '1.0',
    }),
    faults: { injector: options.faults, service: 'sfn' },
    errors: ERRORS,
  };
  const served = await serveOnLoopback(
    (req, res) => handleAwsJson(endpoint, engine, req, res),
    fail,
    options,
  );
  return {
    endpoint: served.endpoint,
    port: served.port,
    stateMachineArn: engine.stateMachineArn,
    engine,
    async stop() {
      await engine.close();
      await served.stop();
    },
  };
}
