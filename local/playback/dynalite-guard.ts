/**
 * Puts the stack's request guard in front of dynalite (the token-use table), which checks no signature: the wrapped
 * handler sees only requests with a loopback Host and a SigV4 signature made with the stack's credentials. dynalite
 * reads its body through `data`/`end` events, so after the guard has read and checked the body, the handler is
 * given a stream that replays it. `startTokenStore` starts it so.
 */
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import dynalite from 'dynalite';
import {
  createRequestGuard,
  type LocalAuth,
  type LocalServer,
  listenOnLoopback,
  type RequestGuard,
  readBody,
  sendAwsJsonError,
  sendRefusal,
  stopServer,
} from '../http/index.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** dynalite's own limit on a request body. */
const MAX_BODY = 16 * 1024 * 1024;

class RequestTooLargeError extends Error {
  override readonly name = 'RequestTooLargeError';
}

export function guardDynalite(server: Server, guard: RequestGuard): void {
  const handlers = server.listeners('request') as Handler[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const body = await readBody(req, MAX_BODY, () => new RequestTooLargeError('Request body too large'));
      const refusal = await guard.check(req, body);
      if (refusal) {
        sendRefusal(res, req.method ?? 'POST', 'json', refusal, {
          jsonVersion: '1.0',
        });
        return;
      }
      const replay = Object.assign(new PassThrough(), {
        headers: req.headers,
        method: req.method,
        url: req.url,
        httpVersion: req.httpVersion,
        socket: req.socket,
      }) as unknown as IncomingMessage;
      for (const handler of handlers) handler.call(server, replay, res);
      (replay as unknown as PassThrough).end(body);
    })().catch((e: unknown) => {
      if (res.headersSent) res.destroy();
      else if (e instanceof RequestTooLargeError)
        sendAwsJsonError(res, 413, 'RequestEntityTooLarge', e.message, { jsonVersion: '1.0' });
      else sendAwsJsonError(res, 500, 'InternalServerError', 'Internal server error', { jsonVersion: '1.0' });
    });
  });
}

/** dynalite for token uses (data in `<dataDir>/dynalite`), behind the stack's SigV4 guard: only the stack may read or change those records. */
export async function startTokenStore(dataDir: string, auth: LocalAuth, port?: number): Promise<LocalServer> {
  await mkdir(join(dataDir, 'dynalite'), { recursive: true, mode: 0o700 });
  const server = dynalite({ path: join(dataDir, 'dynalite'), createTableMs: 0 });
  guardDynalite(server, createRequestGuard({ auth, services: ['dynamodb'], protocol: 'json' }));
  const listening = await listenOnLoopback(server, '127.0.0.1', port);
  return { ...listening, server, stop: () => stopServer(server) };
}
