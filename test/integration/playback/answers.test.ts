/**
 * What every answer of the local key service carries, over real HTTP: each route with each method (preflight
 * included), refusals, the player page and its script, and the `/s3` proxy. And the player page, which answers the
 * same for an asset that exists and one that does not.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { logger } from '../../../lib/logger.js';
import { type PlaybackHarness, startPlaybackHarness } from '../../support/playback-harness.js';

const ASSET_ID = 'a00000000000000000000021';
const MISSING = 'a00000000000000000000029';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];
const ORIGIN_HEADERS = { origin: 'http://evil.example', 'access-control-request-method': 'GET' };

describe('answers of the local key service over HTTP', () => {
  let h: PlaybackHarness;
  let token: string;

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    h = await startPlaybackHarness({ assetId: ASSET_ID });
    token = await h.keyService.issueToken(ASSET_ID, { maxUses: 1000 });
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('carries Cache-Control: no-store and X-Content-Type-Options: nosniff on every route and method', async () => {
    // Prepare
    const q = `?token=${encodeURIComponent(token)}`;
    const paths = [
      `/keys/${ASSET_ID}${q}`,
      `/keys/${MISSING}${q}`,
      `/keys/${ASSET_ID}`,
      `/play/${ASSET_ID}/index.m3u8${q}`,
      `/play/${ASSET_ID}/hls_400k.m3u8${q}`,
      `/play/${ASSET_ID}/nothing.m3u8${q}`,
      '/tokens',
      `/player/?asset=${ASSET_ID}&token=${encodeURIComponent(token)}`,
      `/player/?asset=${MISSING}`,
      '/player/hls.min.js',
      `/s3/${ASSET_ID}/media/outputs/${ASSET_ID}/clip/hls_400k00000.ts`,
      '/license',
      '/nothing/here',
      '/keys/%E0%A4%A',
      '/',
    ];

    // Act
    const answers: Array<{
      call: string;
      status: number;
      cacheControl: string | null;
      nosniff: string | null;
    }> = [];
    for (const path of paths) {
      for (const method of METHODS) {
        const res = await fetch(`${h.keyService.endpoint}${path}`, {
          method,
          headers: method === 'OPTIONS' ? ORIGIN_HEADERS : {},
        });
        await res.arrayBuffer();
        answers.push({
          call: `${method} ${path.split('?')[0]} → ${res.status}`,
          status: res.status,
          cacheControl: res.headers.get('cache-control'),
          nosniff: res.headers.get('x-content-type-options'),
        });
      }
    }

    // Assess: the sweep met successes, refusals and preflights alike
    const statuses = new Set(answers.map((a) => a.status));
    for (const status of [200, 204, 400, 403, 404]) expect(statuses).toContain(status);
    expect(answers.filter((a) => a.cacheControl !== 'no-store' || a.nosniff !== 'nosniff')).toEqual([]);
  });

  it('keeps both headers on a proxied segment, which alone may be cached privately for a minute', async () => {
    // Prepare
    const variant = await (
      await fetch(
        `${h.keyService.endpoint}/play/${ASSET_ID}/hls_400k.m3u8?token=${encodeURIComponent(token)}`,
      )
    ).text();
    const segmentUrl = variant.split('\n').find((l) => l.includes('hls_400k00000.ts')) ?? '';

    // Act
    const res = await fetch(segmentUrl);
    await res.arrayBuffer();

    // Assess
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('private, max-age=60');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it.each([
    ['without a token', ''],
    ['with a forged token', `&token=${'x'.repeat(43)}.${'y'.repeat(43)}`],
  ])(
    'answers the player page alike for an asset that exists and one that does not, %s',
    async (_what, query) => {
      // Act
      const page = async (asset: string) => {
        const res = await fetch(`${h.keyService.endpoint}/player/?asset=${asset}${query}`);
        return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
      };
      const existing = await page(ASSET_ID);
      const missing = await page(MISSING);

      // Assess: the same status and the same bytes, but for the asset id itself
      expect(existing.status).toBe(200);
      expect(missing.status).toBe(existing.status);
      expect(missing.type).toBe(existing.type);
      expect(missing.body.replaceAll(MISSING, ASSET_ID)).toBe(existing.body);
    },
  );

  it('points the player page of a genuine token at the master playlist the record names', async () => {
    // Act
    const res = await fetch(h.keyService.playerUrl(ASSET_ID, token));
    const body = await res.text();

    // Assess
    expect(res.status).toBe(200);
    expect(body).toContain(`/play/${ASSET_ID}/${h.record.masterPlaylist}?token=${encodeURIComponent(token)}`);
  });
});
