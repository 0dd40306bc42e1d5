import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import {
  collectWrappedKeys,
  scanBuffer,
  scanTree,
  withKeyServiceContexts,
} from '../../../../bench/chaos/leaks.js';

describe('chaos leak scan', () => {
  const key = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

  it.each([
    ['raw', (k: Buffer) => Buffer.concat([randomBytes(7), k, randomBytes(3)])],
    ['hex', (k: Buffer) => Buffer.from(`{"x":"${k.toString('hex')}"}`)],
    ['HEX', (k: Buffer) => Buffer.from(`KEY=${k.toString('hex').toUpperCase()};`)],
    ['base64', (k: Buffer) => Buffer.from(`"${k.toString('base64')}"`)],
    [
      'base64',
      (k: Buffer) =>
        Buffer.from(Buffer.concat([Buffer.from('a'), k, Buffer.from('tail')]).toString('base64')),
    ],
    ['base64', (k: Buffer) => Buffer.from(Buffer.concat([Buffer.from('ab'), k]).toString('base64'))],
    [
      'base64url',
      (k: Buffer) => Buffer.from(Buffer.concat([Buffer.from([0xff, 0xfe]), k]).toString('base64url')),
    ],
  ])('finds a key written in %s form', (form, write) => {
    // Act
    const hits = scanBuffer('file', write(key), [key]);

    // Assess
    expect(hits.map((h) => h.form)).toContain(form);
    expect(hits.every((h) => h.keyIndex === 0 && h.where === 'file')).toBe(true);
  });

  it('reports nothing for data that holds no key', () => {
    expect(
      scanBuffer(
        'file',
        Buffer.concat([randomBytes(4096), Buffer.from(randomBytes(64).toString('base64'))]),
        [key],
      ),
    ).toEqual([]);
  });

  it('walks a directory tree and names the file that leaks', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'st-leaks-'));
    writeFileSync(join(dir, 'clean.json'), '{"wrappedKey":"AQID"}');
    writeFileSync(
      join(dir, 'history.jsonl'),
      `{"output":"{\\"plaintext\\":\\"${key.toString('base64')}\\"}"}\n`,
    );

    // Act
    const result = scanTree(dir, [key]);
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(result.files).toBe(2);
    expect([...new Set(result.hits.map((h) => h.where))]).toEqual(['history.jsonl']);
  });

  it('collects wrapped keys from nested state, JSON strings, transcoder jobs and S3 metadata', () => {
    // Prepare
    const blob = (n: number) => Buffer.alloc(40, n).toString('base64');
    const event = {
      stateExitedEventDetails: {
        output: JSON.stringify({
          keys: { source: { wrappedKey: blob(1) }, playback: { wrappedKey: blob(2) } },
        }),
      },
    };
    const job = {
      Input: { Encryption: { Key: blob(3) } },
      Playlists: [{ HlsContentProtection: { Key: blob(4) } }],
      Outputs: [{ Key: 'hls-400k' }],
    };
    const metadata = { 'st-wrapped-key': blob(5), 'st-iv': 'AAAAAAAAAAAAAAAAAAAAAA==' };
    const record = { assetId: 'a1', playbackKey: { wrappedKey: blob(6) }, spekeKey: { wrappedKey: blob(7) } };

    // Act
    const found = collectWrappedKeys([event, job, metadata, record]);

    // Assess
    expect([...found].sort()).toEqual([1, 2, 3, 4, 5, 6, 7].map(blob).sort());
  });

  it("unwraps with the transcoder's context and both playback-key contexts of every asset", () => {
    // Act
    const contexts = withKeyServiceContexts({ service: 'elastictranscoder.amazonaws.com' }, [
      'a1',
      'a1',
      'b2',
    ]);

    // Assess
    expect(contexts).toEqual([
      { service: 'elastictranscoder.amazonaws.com' },
      { service: 'key-service.secure-transcode', assetId: 'a1' },
      { service: 'speke-key-provider.secure-transcode', assetId: 'a1' },
      { service: 'key-service.secure-transcode', assetId: 'b2' },
      { service: 'speke-key-provider.secure-transcode', assetId: 'b2' },
    ]);
  });
});
