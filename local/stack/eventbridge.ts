/**
 * A minimal EventBridge endpoint (AWS JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`) so the notify handler's real
 * PutEvents call succeeds locally. There are no rules or targets: every accepted event is appended, in the shape a
 * rule target would receive, to `<dataDir>/events.jsonl`.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

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

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
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
  accountId?: string;
  host?: string;
  port?: number;
}): Promise<LocalEventBridge> {
  const account = options.accountId ?? '000000000000';
  const server = createServer((req, res) => {
    void (async () => {
      if (req.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
        send(res, 400, {
          __type: 'UnknownOperationException',
          message: 'Only PutEvents is supported locally',
        });
        return;
      }
      const body = (await readJson(req)) as { Entries?: Entry[] };
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
  const host = options.host ?? '127.0.0.1';
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
