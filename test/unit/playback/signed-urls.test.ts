import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CloudFrontUrlSigner } from '../../../lib/playback/signed-urls.js';

const run = promisify(execFile);

/** CloudFront's URL-safe base64: '+' → '-', '=' → '_', '/' → '~'. */
const fromCloudFrontBase64 = (s: string) =>
  Buffer.from(s.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');

describe('CloudFront signed URLs', () => {
  let dir: string;
  let privateKey: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'st-cf-'));
    await run('openssl', ['genrsa', '-out', join(dir, 'private.pem'), '2048']);
    await run('openssl', ['rsa', '-pubout', '-in', join(dir, 'private.pem'), '-out', join(dir, 'pub.pem')]);
    privateKey = await readFile(join(dir, 'private.pem'), 'utf8');
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('signs a custom policy for exactly the object and expiry, verifiable with openssl', async () => {
    // Prepare
    const signer = new CloudFrontUrlSigner({
      domain: 'd111111abcdef8.cloudfront.net',
      keyPairId: 'K2JCJMDEHXQW5F',
      privateKey,
    });
    const expiresAt = new Date(Date.UTC(2030, 0, 1, 12, 0, 0));

    // Act
    const signed = new URL(await signer.sign('media-out', 'outputs/my clip/a1/hls_1000k00000.ts', expiresAt));

    // Assess
    const policyText = fromCloudFrontBase64(signed.searchParams.get('Policy') ?? '').toString('utf8');
    const policy = JSON.parse(policyText);
    expect(signed.origin + signed.pathname).toBe(
      'https://d111111abcdef8.cloudfront.net/outputs/my%20clip/a1/hls_1000k00000.ts',
    );
    expect(signed.searchParams.get('Key-Pair-Id')).toBe('K2JCJMDEHXQW5F');
    expect(signed.searchParams.has('Expires')).toBe(false);
    expect(policy.Statement).toEqual([
      {
        Resource: 'https://d111111abcdef8.cloudfront.net/outputs/my%20clip/a1/hls_1000k00000.ts',
        Condition: { DateLessThan: { 'AWS:EpochTime': expiresAt.getTime() / 1000 } },
      },
    ]);
    await writeFile(join(dir, 'policy.json'), policyText);
    await writeFile(join(dir, 'sig.bin'), fromCloudFrontBase64(signed.searchParams.get('Signature') ?? ''));
    const verified = await run('openssl', [
      'dgst',
      '-sha1',
      '-verify',
      join(dir, 'pub.pem'),
      '-signature',
      join(dir, 'sig.bin'),
      join(dir, 'policy.json'),
    ]);
    expect(verified.stdout.trim()).toBe('Verified OK');
  });

  it('produces a signature that openssl rejects for a policy with another expiry', async () => {
    // Prepare
    const signer = new CloudFrontUrlSigner({
      domain: 'd111111abcdef8.cloudfront.net',
      keyPairId: 'K2JCJMDEHXQW5F',
      privateKey,
    });
    const signed = new URL(await signer.sign('media-out', 'seg.ts', new Date(Date.UTC(2030, 0, 1))));
    const policyText = fromCloudFrontBase64(signed.searchParams.get('Policy') ?? '').toString('utf8');

    // Act
    await writeFile(
      join(dir, 'extended.json'),
      policyText.replace(/"AWS:EpochTime":\d+/, '"AWS:EpochTime":4102444800'),
    );
    await writeFile(join(dir, 'sig2.bin'), fromCloudFrontBase64(signed.searchParams.get('Signature') ?? ''));

    // Assess
    await expect(
      run('openssl', [
        'dgst',
        '-sha1',
        '-verify',
        join(dir, 'pub.pem'),
        '-signature',
        join(dir, 'sig2.bin'),
        join(dir, 'extended.json'),
      ]),
    ).rejects.toMatchObject({ code: 1, stdout: expect.stringMatching(/Verification failure/i) });
  });
});
