/**
 * A minimal EventBridge endpoint (AWS JSON 1.1, `X-Amz-Target: AWSEvents.<Op>`) so the notify handler's real
 * PutEvents call succeeds locally, and `ListEventBuses` / `DescribeEventBus` show the buses. There are no rules or
 * targets: every accepted event is appended, in the shape a rule target would receive, to `<dataDir>/events.jsonl`.
 * Requests pass the stack's request guard first (loopback Host, SigV4 with the stack's credentials).
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequestGuard, type LocalAuth, loopbackBindAddress } from '../http/request-guard.js';

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

function send(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const MAX_BODY = 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new Error('Request body is too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
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

export async function startLocalEventBridge(options: {
  eventsFile: string;
  region: string;
  /** The stack's credentials: requests signed otherwise are refused with 403. */
  auth: LocalAuth;
  /** Custom buses besides `default` (the stack's notification bus). */
  buses?: string[];
  accountId?: string;
  host?: string;
  port?: number;
}): Promise<LocalEventBridge> {
  const account = options.accountId ?? '000000000000';
  const guard = createRequestGuard({ auth: options.auth, services: ['events'], protocol: 'json' });
  const created = Math.floor(Date.now() / 1000);
  const buses = ['default', ...(options.buses ?? []).filter((b) => b !== 'default')].map((name) => ({
    Name: name,
    Arn: `arn:aws:events:${options.region}:${account}:event-bus/${name}`,
    CreationTime: created,
    LastModifiedTime: created,
  }));
  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      if (!(await guard.admit(req, res, raw))) return;
      const target = String(req.headers['x-amz-target'] ?? '');
      const input = JSON.parse(raw.toString('utf8') || '{}') as Record<string, unknown>;
      if (target === 'AWSEvents.ListEventBuses') {
        const prefix = typeof input.NamePrefix === 'string' ? input.NamePrefix : '';
        send(res, 200, { EventBuses: buses.filter((b) => b.Name.startsWith(prefix)) });
        return;
      }
      if (target === 'AWSEvents.DescribeEventBus') {
        const wanted = typeof input.Name === 'string' ? input.Name : 'default';
        const bus = buses.find((b) => b.Name === wanted || b.Arn === wanted);
        if (!bus) {
          send(res, 400, {
            __type: 'ResourceNotFoundException',
            message: `Event bus ${wanted} does not exist.`,
          });
          return;
        }
        send(res, 200, bus);
        return;
      }
      if (target !== 'AWSEvents.PutEvents') {
        send(res, 400, {
          __type: 'UnknownOperationException',
          message: `${target || 'This operation'} is not supported locally (PutEvents, ListEventBuses, DescribeEventBus are)`,
        });
        return;
      }
      const body = input as { Entries?: Entry[] };
      const entries = body.Entries ?? [];
      if (entries.length < 1 || entries.length > 10) {
        send(res, 400, {
          __type: 'ValidationException',
          message: 'Entries must contain between 1 and 10 items',
        });
        return;
      }
      const results = entries.map((e) => {
        const error = entryError(e);
        if (error) return error;
        const id = randomUUID();
        const time =
          e.Time === undefined ? new Date() : new Date(typeof e.Time === 'number' ? e.Time * 1000 : e.Time);
        const event = {
          version: '0',
          id,
          'detail-type': e.DetailType,
          source: e.Source,
          account,
          time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          region: options.region,
          resources: e.Resources ?? [],
          detail: JSON.parse(e.Detail ?? '{}'),
          'event-bus-name': e.EventBusName ?? 'default',
        };
        appendFileSync(options.eventsFile, `${JSON.stringify(event)}\n`);
        return { EventId: id };
      });
      send(res, 200, { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results });
    })().catch((e: unknown) => {
      if (!res.headersSent)
        send(res, 400, { __type: 'SerializationException', message: (e as Error).message });
    });
  });
  const host = loopbackBindAddress(options.host);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
