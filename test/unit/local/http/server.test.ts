import { request } from 'node:http';
import { EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from '@jest/globals';
import { sendAwsJsonError } from '../../../../local/http/errors.js';
import {
  awsJsonOperation,
  type LocalServer,
  matchRoute,
  parseJsonBody,
  type Route,
  readBody,
  sendJson,
  serveOnLoopback,
} from '../../../../local/http/server.js';

const credentials = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'test-secret' };
const started: LocalServer[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop().catch(() => {})));
});

/** `serveOnLoopback`, stopped after the test whatever its outcome. */
async function serve(...args: Parameters<typeof serveOnLoopback>): Promise<LocalServer> {
  const server = await serveOnLoopback(...args);
  started.push(server);
  return server;
}

class TooLargeError extends Error {
  override readonly name = 'TooLargeError';
}

/** A tiny AWS JSON 1.1 server: bodies over 64 bytes get the protocol's ValidationException, others an empty object. */
function startSmallBodyServer() {
  return serve(
    async (req, res) => {
      await readBody(req, 64, () => new TooLargeError('Request body is too large'));
      sendJson(res, 200, {}, { contentType: 'application/x-amz-json-1.1' });
    },
    (e, _req, res) =>
      sendAwsJsonError(res, e instanceof TooLargeError ? 400 : 500, 'ValidationException', String(e)),
  );
}

describe('readBody', () => {
  it("answers a body over the limit with the protocol's error, which the SDK reads as such", async () => {
    // Prepare
    const server = await startSmallBodyServer();
    const kms = new KMSClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials,
      maxAttempts: 1,
    });

    // Act
    const small = kms.send(new EncryptCommand({ KeyId: 'k', Plaintext: Buffer.alloc(1) }));
    const large = kms.send(new EncryptCommand({ KeyId: 'k', Plaintext: Buffer.alloc(1024) }));

    // Assess
    await expect(small).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    await expect(large).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'TooLargeError: Request body is too large',
      $metadata: { httpStatusCode: 400 },
    });
    kms.destroy();
  });
});

describe('matchRoute', () => {
  const handle = () => ({ status: 200, body: {} });
  const routes: Route<undefined>[] = [
    { method: 'GET', path: /^\/jobs\/([^/]+)$/, operation: 'ReadJob', handle },
    { method: 'DELETE', path: /^\/jobs\/([^/]+)$/, operation: 'CancelJob', handle },
    { method: 'POST', path: /^\/jobs$/, operation: 'CreateJob', handle },
  ];

  it('finds the route for a method and path, with its groups URL-decoded', () => {
    // Act
    const match = matchRoute(routes, 'DELETE', '/jobs/a%2Fb%20c');

    // Assess
    expect({ operation: match.route?.operation, params: 'params' in match ? match.params : [] }).toEqual({
      operation: 'CancelJob',
      params: ['a/b c'],
    });
  });

  it('tells a path served with other methods (405, with them) from an unknown one (404)', () => {
    // Act
    const wrongMethod = matchRoute(routes, 'PUT', '/jobs/1');
    const unknown = matchRoute(routes, 'GET', '/presets');

    // Assess
    expect([wrongMethod, unknown]).toEqual([
      { route: undefined, status: 405, allow: ['GET', 'DELETE'] },
      { route: undefined, status: 404, allow: [] },
    ]);
  });

  it('treats malformed percent-encoding as no resource rather than throwing', () => {
    // Act
    const match = matchRoute(routes, 'GET', '/jobs/%E0%A4%A');

    // Assess
    expect(match).toEqual({ route: undefined, status: 404, allow: [] });
  });
});

describe('awsJsonOperation and parseJsonBody', () => {
  it("reads the operation from X-Amz-Target only under the service's prefix", () => {
    // Prepare
    const req = (target?: string) => ({ headers: target ? { 'x-amz-target': target } : {} }) as never;

    // Act
    const names = [
      awsJsonOperation(req('TrentService.Encrypt'), 'TrentService'),
      awsJsonOperation(req('AWSEvents.PutEvents'), 'TrentService'),
      awsJsonOperation(req('TrentServiceX.Encrypt'), 'TrentService'),
      awsJsonOperation(req(), 'TrentService'),
    ];

    // Assess
    expect(names).toEqual(['Encrypt', '', '', '']);
  });

  it("parses an empty body as {} and throws the server's own error for one that is not JSON", () => {
    // Prepare
    const invalid = () => new TooLargeError('not JSON');

    // Act
    const empty = parseJsonBody(Buffer.alloc(0), invalid);
    const parsed = parseJsonBody(Buffer.from('{"a":1}'), invalid);

    // Assess
    expect([empty, parsed]).toEqual([{}, { a: 1 }]);
    expect(() => parseJsonBody(Buffer.from('{a'), invalid)).toThrow(TooLargeError);
  });
});

describe('serveOnLoopback', () => {
  it('cuts off a response that fails after its headers, rather than ending it as if whole', async () => {
    // Prepare
    const server = await serve(
      async (_req, res) => {
        res.writeHead(200);
        res.write('partial');
        throw new Error('failed mid-answer');
      },
      () => {
        throw new Error('fail() is for answers not yet begun');
      },
    );

    // Act
    const outcome = await new Promise<string>((resolve) => {
      request(server.endpoint, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve('ended'));
        res.on('error', () => resolve('cut off'));
        res.on('aborted', () => resolve('cut off'));
      })
        .on('error', () => resolve('cut off'))
        .end();
    });

    // Assess
    expect(outcome).toBe('cut off');
  });

  it('stops with a keep-alive connection still open', async () => {
    // Prepare
    const server = await serve(
      async (_req, res) => sendJson(res, 200, { ok: true }),
      () => {},
    );
    const res = await fetch(server.endpoint, { keepalive: true });
    await res.json();

    // Act
    const stopped = server.stop();

    // Assess
    await expect(stopped).resolves.toBeUndefined();
    await expect(fetch(server.endpoint)).rejects.toThrow();
  });
});
