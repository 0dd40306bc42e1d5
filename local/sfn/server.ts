/**
 * The Step Functions wire protocol (AWS JSON 1.0: `POST /`, `X-Amz-Target: AWSStepFunctions.<Operation>`) in front
 * of the local engine, so the starter's `@aws-sdk/client-sfn` calls and the AWS CLI work unchanged. The operations
 * and their wire shapes are in `operations.ts`; errors go out as `{"__type": …, "message": …}` with HTTP 400.
 * Requests pass the stack's request guard first (loopback Host, SigV4 with the stack's credentials).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultInjector } from '../faults.js';
import { sendAwsJsonError } from '../http/errors.js';
import { createRequestGuard, type LocalAuth, type RequestGuard } from '../http/request-guard.js';
import { awsJsonOperation, parseJsonBody, readBody, sendJson, serveOnLoopback } from '../http/server.js';
import { LocalStepFunctions, type LocalStepFunctionsOptions, SfnApiError } from './engine.js';
import { type Body, OPERATIONS } from './operations.js';

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

/** What the request handling works over. */
interface SfnContext {
  engine: LocalStepFunctions;
  guard: RequestGuard;
  faults: FaultInjector | undefined;
}

const MAX_BODY = 1024 * 1024;
const CONTENT_TYPE = 'application/x-amz-json-1.0';

function sendError(res: ServerResponse, e: SfnApiError): void {
  sendAwsJsonError(res, e.status, e.code, e.message, { jsonVersion: '1.0' });
}

/** A fault the injector chose for this call, as the service would answer it; true when one was applied. */
function injectFault(ctx: SfnContext, req: IncomingMessage, operation: string): boolean {
  const fault = ctx.faults?.decide('sfn', operation);
  if (fault === 'reset') req.socket.destroy();
  else if (fault === 'throttle') throw new SfnApiError('ThrottlingException', 'Injected fault');
  else if (fault) throw new SfnApiError('InternalServerError', 'Injected fault', 500);
  return fault === 'reset';
}

async function handle(ctx: SfnContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const raw = await readBody(
    req,
    MAX_BODY,
    () => new SfnApiError('ValidationException', 'Request body is too large'),
  );
  if (!(await ctx.guard.admit(req, res, raw))) return;
  const operation = awsJsonOperation(req, 'AWSStepFunctions');
  if (req.method !== 'POST' || !operation) {
    throw new SfnApiError(
      'UnknownOperationException',
      'Expected POST with X-Amz-Target: AWSStepFunctions.<Operation>',
    );
  }
  if (injectFault(ctx, req, operation)) return;
  const body = parseJsonBody(
    raw,
    () => new SfnApiError('SerializationException', 'Request body is not valid JSON'),
  ) as Body;
  const run = Object.hasOwn(OPERATIONS, operation) ? OPERATIONS[operation] : undefined;
  if (!run) {
    throw new SfnApiError(
      'UnknownOperationException',
      `Operation ${operation} is not supported by the local Step Functions`,
    );
  }
  sendJson(res, 200, run(ctx.engine, body), { contentType: CONTENT_TYPE });
}

function fail(e: unknown, _req: IncomingMessage, res: ServerResponse): void {
  const message = e instanceof Error ? e.message : String(e);
  sendError(res, e instanceof SfnApiError ? e : new SfnApiError('InternalServerError', message, 500));
}

export async function startSfnServer(options: SfnServerOptions): Promise<SfnServer> {
  const engine = new LocalStepFunctions(options);
  const guard = createRequestGuard({
    auth: options.auth,
    services: ['states'],
    protocol: 'json',
    jsonVersion: '1.0',
  });
  const ctx: SfnContext = { engine, guard, faults: options.faults };
  const served = await serveOnLoopback((req, res) => handle(ctx, req, res), fail, options);
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
