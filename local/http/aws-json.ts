/**
 * The request path of an AWS JSON service (the local KMS, Step Functions and EventBridge): `POST /` with
 * `X-Amz-Target: <prefix>.<Operation>`, the body under a limit, the request guard, an injected fault for the
 * operation, the JSON object, then the operation. Each service names its own errors; its `fail` turns them into the
 * AWS JSON envelope (`errors.ts`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultInjector, FaultService } from '../faults.js';
import type { RequestGuard } from './request-guard.js';
import { awsJsonOperation, operationIn, parseJsonBody, readAdmittedBody, sendJson } from './server.js';

/** The service's own error for each way a request can fail before its operation runs. */
export interface AwsJsonErrors {
  tooLarge(): Error;
  /** The body is not JSON, or not a JSON object. */
  invalidJson(message: string): Error;
  /** Not a POST, or no operation of this service; `target` is what the request named. */
  unknownOperation(target: string): Error;
  throttled(): Error;
  internal(): Error;
}

export type AwsJsonInput = Record<string, unknown>;

export interface AwsJsonEndpoint<C> {
  /** `TrentService`, `AWSStepFunctions`, `AWSEvents`. */
  targetPrefix: string;
  jsonVersion: '1.0' | '1.1';
  operations: Readonly<Record<string, (ctx: C, input: AwsJsonInput) => unknown>>;
  guard: RequestGuard;
  /** Asked `decide(service, <operation>)` once per request, when given. */
  faults?: { injector: FaultInjector | undefined; service: FaultService };
  errors: AwsJsonErrors;
}

const MAX_BODY = 1024 * 1024;

function objectOf(raw: Buffer, errors: AwsJsonErrors): AwsJsonInput {
  const parsed = parseJsonBody(raw, () => errors.invalidJson('Request body is not valid JSON'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw errors.invalidJson('Request body must be a JSON object');
  return parsed as AwsJsonInput;
}

export async function handleAwsJson<C>(
  endpoint: AwsJsonEndpoint<C>,
  ctx: C,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { errors } = endpoint;
  const raw = await readAdmittedBody(req, res, endpoint.guard, MAX_BODY, errors.tooLarge);
  if (!raw) return;
  const name = awsJsonOperation(req, endpoint.targetPrefix);
  const operation = operationIn(endpoint.operations, name);
  if (req.method !== 'POST' || !operation)
    throw errors.unknownOperation(String(req.headers['x-amz-target'] ?? req.method));
  const fault = endpoint.faults?.injector?.decide(endpoint.faults.service, name);
  if (fault === 'reset') {
    req.socket.destroy();
    return;
  }
  if (fault === 'throttle' || fault === 'slowdown') throw errors.throttled();
  if (fault === 'internal') throw errors.internal();
  const output = await operation(ctx, objectOf(raw, errors));
  sendJson(res, 200, output, { contentType: `application/x-amz-json-${endpoint.jsonVersion}` });
}
