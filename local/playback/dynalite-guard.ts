/**
 * Puts the stack's request guard in front of dynalite (the token-use table), which checks no signature: the wrapped
 * handler sees only requests with a loopback Host and a SigV4 signature made with the stack's credentials. dynalite
 * reads its body through `data`/`end` events, so after the guard has read and checked the body, the handler is
 * given a stream that replays it.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { RequestGuard } from '../http/request-guard.js';
import { sendRefusal } from '../http/request-guard.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** dynalite's own limit on a request body. */
const MAX_BODY = 16 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export function guardDynalite(server: Server, guard: RequestGuard): void {
  const handlers = server.listeners('request') as Handler[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const body = await readBody(req);
      if (body === undefined) {
        res.writeHead(413);
        res.end();
        return;
      }
      const refusal = await guard.check(req, body);
      if (refusal) {
        sendRefusal(res, req.method ?? 'POST', 'json', refusal, {
          jsonContentType: 'application/x-amz-json-1.0',
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
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
}
