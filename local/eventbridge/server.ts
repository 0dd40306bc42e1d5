/**
 * A minimal EventBridge endpoint (AWS JSON 1.1, `X-Amz-Target: AWSEvents.<Op>`) so the notify handler's real
 * PutEvents call succeeds locally, and `ListEventBuses` / `DescribeEventBus` show the buses. There are no rules or
 * targets: every accepted event is appended, in the shape a rule target would receive, to `<dataDir>/events.jsonl`.
 * Requests pass the stack's request guard first (loopback Host, SigV4 with the stack's credentials).
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AwsJsonEndpoint,
  type AwsJsonErrors,
  type AwsJsonInput,
  AwsServiceError,
  createRequestGuard,
  handleAwsJson,
  type LocalAuth,
  sendAwsJsonError,
  serveOnLoopback,
} from '../http/index.js';

export interface LocalEventBridgeOptions {
  eventsFile: string;
  region: string;
  /** The stack's credentials: requests signed otherwise are refused with 403. */
  auth: LocalAuth;
  /** Custom buses besides `default` (the stack's notification bus). */
  buses?: string[];
  accountId?: string;
  host?: string;
  port?: number;
}

export interface LocalEventBridge {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

interface Entry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: number | string;
}

interface EventBus {
  Name: string;
  Arn: string;
  CreationTime: number;
  LastModifiedTime: number;
}

/** What the operations work over. */
interface EventBridgeContext {
  eventsFile: string;
  region: string;
  account: string;
  buses: EventBus[];
}

type Input = AwsJsonInput;

class EventBridgeApiError extends AwsServiceError {
  override readonly name = 'EventBridgeApiError';
}

function entryError(e: Entry): { ErrorCode: string; ErrorMessage: string } | undefined {
  if (!e.Source || !e.DetailType || e.Detail === undefined) {
    return {
      ErrorCode: 'InvalidArgument',
      ErrorMessage: 'Parameters Source, DetailType and Detail are required.',
    };
  }
  try {
    const detail = JSON.parse(e.Detail);
    if (detail === null || typeof detail !== 'object' || Array.isArray(detail))
      throw new Error('not an object');
  } catch {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  return undefined;
}

function listEventBuses(ctx: EventBridgeContext, input: Input) {
  const prefix = typeof input.NamePrefix === 'string' ? input.NamePrefix : '';
  return { EventBuses: ctx.buses.filter((b) => b.Name.startsWith(prefix)) };
}

function describeEventBus(ctx: EventBridgeContext, input: Input) {
  const wanted = typeof input.Name === 'string' ? input.Name : 'default';
  const bus = ctx.buses.find((b) => b.Name === wanted || b.Arn === wanted);
  if (!bus) throw new EventBridgeApiError('ResourceNotFoundException', `Event bus ${wanted} does not exist.`);
  return bus;
}

/** Appends one valid entry, as a rule target would receive it, and returns its id. */
function appendEvent(ctx: EventBridgeContext, e: Entry): { EventId: string } {
  const id = randomUUID();
  const time =
    e.Time === undefined ? new Date() : new Date(typeof e.Time === 'number' ? e.Time * 1000 : e.Time);
  const event = {
    version: '0',
    id,
    'detail-type': e.DetailType,
    source: e.Source,
    account: ctx.account,
    time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: ctx.region,
    resources: e.Resources ?? [],
    detail: JSON.parse(e.Detail ?? '{}'),
    'event-bus-name': e.EventBusName ?? 'default',
  };
  appendFileSync(ctx.eventsFile, `${JSON.stringify(event)}\n`, { mode: 0o600 });
  return { EventId: id };
}

function putEvents(ctx: EventBridgeContext, input: Input) {
  const entries = (input as { Entries?: Entry[] }).Entries ?? [];
  if (entries.length < 1 || entries.length > 10)
    throw new EventBridgeApiError('ValidationException', 'Entries must contain between 1 and 10 items');
  const results = entries.map((e) => entryError(e) ?? appendEvent(ctx, e));
  return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
}

const OPERATIONS: Record<string, (ctx: EventBridgeContext, input: Input) => unknown> = {
  ListEventBuses: listEventBuses,
  DescribeEventBus: describeEventBus,
  PutEvents: putEvents,
};

const ERRORS: AwsJsonErrors = {
  tooLarge: () => new EventBridgeApiError('SerializationException', 'Request body is too large'),
  invalidJson: (message) => new EventBridgeApiError('SerializationException', message),
  unknownOperation: (target) =>
    new EventBridgeApiError(
      'UnknownOperationException',
      `${target} is not supported locally (PutEvents, ListEventBuses, DescribeEventBus are)`,
    ),
  throttled: () => new EventBridgeApiError('ThrottlingException', 'Rate exceeded'),
  internal: () => new EventBridgeApiError('InternalException', 'Internal error', 500),
};

function fail(e: unknown, _req: IncomingMessage, res: ServerResponse): void {
  const error =
    e instanceof EventBridgeApiError
      ? e
      : new EventBridgeApiError('InternalException', e instanceof Error ? e.message : String(e), 500);
  sendAwsJsonError(res, error.status, error.code, error.message);
}

export async function startLocalEventBridge(options: LocalEventBridgeOptions): Promise<LocalEventBridge> {
  const account = options.accountId ?? '000000000000';
  const created = Math.floor(Date.now() / 1000);
  const buses = ['default', ...(options.buses ?? []).filter((b) => b !== 'default')].map((name) => ({
    Name: name,
    Arn: `arn:aws:events:${options.region}:${account}:event-bus/${name}`,
    CreationTime: created,
    LastModifiedTime: created,
  }));
  const ctx: EventBridgeContext = {
    eventsFile: options.eventsFile,
    region: options.region,
    account,
    buses,
  };
  const endpoint: AwsJsonEndpoint<EventBridgeContext> = {
    targetPrefix: 'AWSEvents',
    jsonVersion: '1.1',
    operations: OPERATIONS,
    guard: createRequestGuard({ auth: options.auth, services: ['events'], protocol: 'json' }),
    errors: ERRORS,
  };
  const served = await serveOnLoopback((req, res) => handleAwsJson(endpoint, ctx, req, res), fail, options);
  return { endpoint: served.endpoint, port: served.port, stop: served.stop };
}
