import { describe, expect, it } from '@jest/globals';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import {
  isLoopbackHost,
  loopbackBindAddress,
  NonLoopbackBindError,
} from '../../../../local/http/request-guard.js';
import { createSigV4Verifier } from '../../../../local/http/sigv4-verifier.js';

const credentials = { accessKeyId: 'AKIAEXAMPLEEXAMPLE00', secretAccessKey: 'x'.repeat(40) };
const signer = (service: string, secret = credentials.secretAccessKey) =>
  new SignatureV4({
    credentials: { ...credentials, secretAccessKey: secret },
    region: 'us-east-1',
    service,
    sha256: Hash.bind(null, 'sha256'),
    // As the SQS client signs: no x-amz-content-sha256 header, so the body's own hash is in the signature.
    applyChecksum: false,
  });

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1:4566', 'localhost:4566', '[::1]:4566', 'LocalHost:4566'])('accepts %s', (host) => {
    expect(isLoopbackHost(host, 4566)).toBe(true);
  });

  it.each([
    'attacker.example:4566',
    '127.0.0.1:4567',
    '127.0.0.1',
    'localhost.:4566',
    '127.0.0.1.nip.io:4566',
    'sqs.us-east-1.localhost:4566',
    '',
    undefined,
  ])('refuses %s', (host) => {
    expect(isLoopbackHost(host, 4566)).toBe(false);
  });
});

describe('loopbackBindAddress', () => {
  it('defaults to 127.0.0.1 and keeps other loopback addresses', () => {
    expect([
      loopbackBindAddress(undefined),
      loopbackBindAddress('127.0.0.2'),
      loopbackBindAddress('::1'),
    ]).toEqual(['127.0.0.1', '127.0.0.2', '::1']);
  });

  it.each(['0.0.0.0', '::', '192.168.1.20', 'localhost'])('refuses to bind %s', (host) => {
    expect(() => loopbackBindAddress(host)).toThrow(NonLoopbackBindError);
  });
});

describe('createSigV4Verifier', () => {
  const verifier = createSigV4Verifier({ credentials, region: 'us-east-1', services: ['sqs'] });
  const body = '{"QueueName":"a b+c"}';
  const request = {
    method: 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    path: '/',
    query: {},
    headers: { host: '127.0.0.1:4566', 'content-type': 'application/x-amz-json-1.0' },
    body,
  };

  it('accepts a header-signed request over its body and refuses the same signature over another body', async () => {
    // Prepare
    const signed = await signer('sqs').sign(request);

    // Act
    const good = await verifier.verify({
      method: 'POST',
      path: '/',
      rawQuery: '',
      headers: signed.headers,
      body: Buffer.from(body),
    });
    const swapped = await verifier.verify({
      method: 'POST',
      path: '/',
      rawQuery: '',
      headers: signed.headers,
      body: Buffer.from('{"QueueName":"other"}'),
    });

    // Assess
    expect(good).toMatchObject({ ok: true, service: 'sqs', presigned: false });
    expect(swapped).toMatchObject({ ok: false, reason: 'signature_mismatch' });
  });

  it('accepts a presigned query with a plus sign and refuses it once a parameter is added', async () => {
    // Prepare
    const presigned = await signer('sqs').presign(
      {
        ...request,
        method: 'GET',
        headers: { host: '127.0.0.1:4566' },
        query: { Action: 'GetQueueUrl', QueueName: 'a+b c' },
        body: undefined,
      },
      { expiresIn: 60 },
    );
    const rawQuery = Object.entries(presigned.query ?? {})
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const check = (q: string) =>
      verifier.verify({
        method: 'GET',
        path: '/',
        rawQuery: q,
        headers: { host: '127.0.0.1:4566' },
        body: undefined,
      });

    // Act
    const good = await check(rawQuery);
    const extended = await check(`${rawQuery}&Attribute=x`);

    // Assess
    expect(good).toMatchObject({ ok: true, presigned: true });
    expect(extended).toMatchObject({ ok: false, reason: 'signature_mismatch' });
  });

  it('refuses a signature for another service, a wrong secret and an unknown key id', async () => {
    // Prepare
    const verify = async (s: SignatureV4) => {
      const signed = await s.sign(request);
      return verifier.verify({
        method: 'POST',
        path: '/',
        rawQuery: '',
        headers: signed.headers,
        body: Buffer.from(body),
      });
    };
    const stranger = new SignatureV4({
      credentials: { accessKeyId: 'AKIAOTHER', secretAccessKey: credentials.secretAccessKey },
      region: 'us-east-1',
      service: 'sqs',
      sha256: Hash.bind(null, 'sha256'),
    });

    // Act
    const results = await Promise.all([
      verify(signer('kms')),
      verify(signer('sqs', 'wrong')),
      verify(stranger),
    ]);

    // Assess
    expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual([
      'wrong_scope',
      'signature_mismatch',
      'unknown_access_key',
    ]);
  });
});
