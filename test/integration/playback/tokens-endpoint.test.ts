/**
 * The local `POST /tokens` (the cloud route's AWS_IAM authorizer, played by a SigV4 check against the local
 * credentials) and fault injection on the key service, over real loopback HTTP. Requests are signed by the SDK's own
 * signer (`@smithy/signature-v4` with the Node hash the SDK clients use), as a business backend in Node would sign.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { logger } from '../../../lib/logger.js';
import { FaultInjector } from '../../../local/faults.js';
import { type LocalKeyService, startKeyService } from '../../../local/playback/server.js';
import { type PlaybackHarness, REGION, startPlaybackHarness } from '../../support/playback-harness.js';

const ASSET_ID = 'a00000000000000000000002';

/** The harness data directory's credentials, once it has started. */
let stackCredentials = { accessKeyId: '', secretAccessKey: '' };

interface SignOptions {
  credentials?: { accessKeyId: string; secretAccessKey: string };
  signingDate?: Date;
  service?: string;
}

/** Headers of a SigV4-signed `POST <url>` carrying `body`, as an SDK-based client would send them. */
async function signedHeaders(
  url: string,
  body: string,
  options: SignOptions = {},
): Promise<Record<string, string>> {
  const target = new URL(url);
  const signer = new SignatureV4({
    credentials: options.credentials ?? stackCredentials,
    region: REGION,
    service: options.service ?? 'execute-api',
    sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: target.protocol,
      hostname: target.hostname,
      port: Number(target.port),
      path: target.pathname,
      query: {},
      headers: { host: target.host, 'content-type': 'application/json' },
      body,
    },
    options.signingDate ? { signingDate: options.signingDate } : {},
  );
  return signed.headers;
}

async function post(url: string, body: string, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'POST', body, headers });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function fetchKey(url: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

describe('POST /tokens on the local key service (SigV4 against the local credentials)', () => {
  let h: PlaybackHarness;
  let tokensUrl: string;

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    h = await startPlaybackHarness({ assetId: ASSET_ID });
    stackCredentials = h.credentials;
    tokensUrl = `${h.keyService.endpoint}/tokens`;
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('issues a one-time token to a signed request, and that token fetches the key once', async () => {
    // Prepare
    const body = JSON.stringify({ assetId: ASSET_ID, ttlSeconds: 120 });
    const headers = await signedHeaders(tokensUrl, body);

    // Act
    const issued = await post(tokensUrl, body, headers);
    const keyUrl = String(issued.json.keyUrl);
    const first = await fetchKey(keyUrl);
    const second = await fetchKey(keyUrl);

    // Assess
    expect(issued.status).toBe(201);
    expect(issued.json).toEqual({
      token: expect.any(String),
      expiresAt: expect.any(String),
      keyUrl: `${h.keyService.keyUrl(ASSET_ID)}?token=${encodeURIComponent(String(issued.json.token))}`,
      playUrl: expect.stringContaining(`${h.keyService.endpoint}/play/${ASSET_ID}/index.m3u8?token=`),
    });
    const ttl = Date.parse(String(issued.json.expiresAt)) - Date.now();
    expect(ttl).toBeGreaterThan(100_000);
    expect(ttl).toBeLessThanOrEqual(120_000);
    expect(first.status).toBe(200);
    expect(first.body).toEqual(h.plaintextKey);
    expect(second.status).toBe(403);
    expect(second.body.toString()).toBe('{"error":"token_used"}');
  });

  it('passes the request to the handler as the cloud would, refusing an unknown asset with 404', async () => {
    // Prepare
    const body = JSON.stringify({ assetId: 'a0000000000000000000dead' });

    // Act
    const res = await post(tokensUrl, body, await signedHeaders(tokensUrl, body));

    // Assess
    expect(res).toEqual({ status: 404, json: { error: 'asset_not_found' } });
  });

  it.each([
    [
      'an unsigned request',
      async (body: string) => ({ 'content-type': 'application/json', 'content-length': String(body.length) }),
      'signature_missing',
    ],
    [
      'a request signed with the wrong secret key',
      (body: string) =>
        signedHeaders(`${h.keyService.endpoint}/tokens`, body, {
          credentials: { accessKeyId: stackCredentials.accessKeyId, secretAccessKey: 'not-the-secret' },
        }),
      'signature_mismatch',
    ],
    [
      'a request signed with another access key id',
      (body: string) =>
        signedHeaders(`${h.keyService.endpoint}/tokens`, body, {
          credentials: { accessKeyId: 'AKIDOTHER', secretAccessKey: stackCredentials.secretAccessKey },
        }),
      'unknown_access_key',
    ],
    [
      'a request signed for another service',
      (body: string) => signedHeaders(`${h.keyService.endpoint}/tokens`, body, { service: 'lambda' }),
      'wrong_scope',
    ],
    [
      'a signature older than 15 minutes',
      (body: string) =>
        signedHeaders(`${h.keyService.endpoint}/tokens`, body, {
          signingDate: new Date(Date.now() - 20 * 60_000),
        }),
      'signature_expired',
    ],
    [
      'a forged signature',
      async (body: string) => {
        const headers = await signedHeaders(`${h.keyService.endpoint}/tokens`, body);
        const forged = String(headers.authorization).replace(
          /Signature=[0-9a-f]{64}$/,
          `Signature=${'0'.repeat(64)}`,
        );
        return { ...headers, authorization: forged };
      },
      'signature_mismatch',
    ],
    [
      'an Authorization header that is not SigV4',
      async () => ({ 'content-type': 'application/json', authorization: 'Bearer abc' }),
      'signature_malformed',
    ],
  ])('refuses %s with 403', async (_title, headersFor, reason) => {
    // Prepare
    const body = JSON.stringify({ assetId: ASSET_ID });

    // Act
    const res = await post(tokensUrl, body, await headersFor(body));

    // Assess
    expect(res).toEqual({ status: 403, json: { message: 'Forbidden', reason } });
  });

  it('refuses a signed request whose body was changed after signing', async () => {
    // Prepare: the signature covers x-amz-content-sha256 of the original body
    const signedFor = JSON.stringify({ assetId: ASSET_ID });
    const headers = await signedHeaders(tokensUrl, signedFor);
    const tampered = JSON.stringify({ assetId: ASSET_ID, maxUses: 1000 });

    // Act
    const res = await post(tokensUrl, tampered, { ...headers, 'content-length': String(tampered.length) });

    // Assess
    expect(res).toEqual({ status: 403, json: { message: 'Forbidden', reason: 'payload_hash_mismatch' } });
  });

  it('refuses a signed request whose signed headers were changed after signing', async () => {
    // Prepare: x-amz-content-sha256 left out, so only the signature itself can catch the change
    const body = JSON.stringify({ assetId: ASSET_ID });
    const headers = await signedHeaders(tokensUrl, body);
    const { 'x-amz-content-sha256': _hash, ...rest } = headers;
    const authorization = String(rest.authorization).replace(';x-amz-content-sha256', '');

    // Act
    const res = await post(tokensUrl, body, { ...rest, authorization });

    // Assess
    expect(res).toEqual({ status: 403, json: { message: 'Forbidden', reason: 'signature_mismatch' } });
  });
});

describe('fault injection on the local key service', () => {
  let h: PlaybackHarness;
  let faulty: LocalKeyService;
  let dataDir: string;
  const faults = new FaultInjector(
    FaultInjector.parse('keyservice:GetKey:throttle@1,keyservice:GetPlaylist:internal@1+2'),
  );

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    h = await startPlaybackHarness({ assetId: ASSET_ID });
    stackCredentials = h.credentials;
    dataDir = await mkdtemp(join(tmpdir(), 'st-faulty-keyservice-'));
    faulty = await startKeyService({ dataDir, env: h.keyServiceEnv, faults });
  });

  afterAll(async () => {
    await faulty?.stop();
    await h?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('answers 503 on the scheduled calls without consuming the token, then serves normally', async () => {
    // Prepare
    const token = await faulty.issueToken(ASSET_ID);
    const keyUrl = `${faulty.keyUrl(ASSET_ID)}?token=${encodeURIComponent(token)}`;
    const playlistUrl = `${faulty.endpoint}/play/${ASSET_ID}/index.m3u8?token=${encodeURIComponent(token)}`;

    // Act
    const keys = [await fetchKey(keyUrl), await fetchKey(keyUrl), await fetchKey(keyUrl)];
    const playlists: number[] = [];
    for (let i = 0; i < 3; i += 1) playlists.push((await fetch(playlistUrl)).status);

    // Assess
    expect(keys.map((k) => k.status)).toEqual([503, 200, 403]);
    expect(keys[1]?.body).toEqual(h.plaintextKey);
    expect(playlists).toEqual([503, 503, 200]);
    expect(faults.stats()).toEqual([
      { service: 'keyservice', operation: 'GetKey', calls: 3, injected: 1 },
      { service: 'keyservice', operation: 'GetPlaylist', calls: 3, injected: 2 },
    ]);
  });
});
