/**
 * Encrypted HLS plays in a real headless Chromium through the local key service, and only once per one-time token.
 * Needs Debian's chromium at /usr/bin/chromium (`.ci/run` installs it). Fixtures: a 6 s testsrc clip encrypted by
 * ffmpeg with a KMS data key (see test/support/playback-harness.ts); the coordinator will later point this at the
 * outputs of the real local workflow.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { logger } from '../../lib/logger.js';
import { type PlaybackHarness, startPlaybackHarness } from '../support/playback-harness.js';

jest.setTimeout(120_000);

const ASSET_ID = 'a0000000000000000000b0b0';
const ARTIFACTS = join(process.cwd(), 'test-artifacts');

interface PlayerStatus {
  state: string;
  fatal: string | null;
  errors: { fatal: boolean; details: string; status?: number }[];
  keyLoads: { ok: boolean; status?: number }[];
}

interface Observed {
  page: Page;
  keyResponses: { status: number; body: string }[];
  manifestStatuses: number[];
}

async function openPlayer(context: BrowserContext, url: string): Promise<Observed> {
  const page = await context.newPage();
  const observed: Observed = { page, keyResponses: [], manifestStatuses: [] };
  const pending: Promise<unknown>[] = [];
  page.on('response', (response) => {
    const path = new URL(response.url()).pathname;
    if (path.startsWith('/keys/')) {
      pending.push(
        response.text().then((body) => observed.keyResponses.push({ status: response.status(), body })),
      );
    }
    if (path.startsWith('/play/')) observed.manifestStatuses.push(response.status());
  });
  await page.goto(url);
  await page.waitForFunction(
    () => {
      const p = (window as unknown as { __player?: PlayerStatus }).__player;
      const video = document.querySelector('video');
      return Boolean(p?.fatal) || (video !== null && video.currentTime > 3);
    },
    undefined,
    { timeout: 60_000 },
  );
  await Promise.all(pending);
  return observed;
}

const playerStatus = (page: Page) =>
  page.evaluate(() => (window as unknown as { __player: PlayerStatus }).__player);
const currentTime = (page: Page) => page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);

describe('encrypted HLS playback in headless Chromium', () => {
  let h: PlaybackHarness;
  let context: BrowserContext;
  let profileDir: string;

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    h = await startPlaybackHarness({ assetId: ASSET_ID, media: true });
    profileDir = await mkdtemp(join(tmpdir(), 'st-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-quic',
        '--disable-sync',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
  });

  afterAll(async () => {
    await context?.close();
    await h?.stop();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
  });

  it('plays with a fresh token, then refuses the same token and a forged one', async () => {
    // Prepare
    const token = await h.keyService.issueToken(ASSET_ID);
    const playerUrl = h.keyService.playerUrl(ASSET_ID, token);
    const forged = `${token.slice(0, token.indexOf('.') + 1)}${'A'.repeat(43)}`;

    // Act
    const first = await openPlayer(context, playerUrl);
    await mkdir(ARTIFACTS, { recursive: true });
    await first.page.screenshot({ path: join(ARTIFACTS, 'playback.png') });
    const firstStatus = await playerStatus(first.page);
    const firstTime = await currentTime(first.page);
    await first.page.close();

    const reused = await openPlayer(context, playerUrl);
    const reusedStatus = await playerStatus(reused.page);
    const reusedTime = await currentTime(reused.page);
    await reused.page.close();

    const forgedPage = await openPlayer(context, h.keyService.playerUrl(ASSET_ID, forged));
    const forgedStatus = await playerStatus(forgedPage.page);
    await forgedPage.page.close();

    // Assess: the first load plays past 3 s with one successful key fetch and no fatal error
    expect(firstTime).toBeGreaterThan(3);
    expect(firstStatus.fatal).toBeNull();
    expect(firstStatus.errors.filter((e) => e.fatal)).toEqual([]);
    expect(first.keyResponses.map((r) => r.status)).toEqual([200]);
    expect(firstStatus.keyLoads).toEqual([{ ok: true }]);

    // the used token still opens the playlists but the key fetch fails with 403 token_used
    expect(reused.manifestStatuses.every((s) => s === 200)).toBe(true);
    expect(reusedStatus.fatal).toBe('keyLoadError');
    // (hls.js may ask again before giving up; every answer is the same refusal)
    expect(reused.keyResponses.length).toBeGreaterThan(0);
    expect(new Set(reused.keyResponses.map((r) => `${r.status} ${r.body}`))).toEqual(
      new Set(['403 {"error":"token_used"}']),
    );
    expect(reusedStatus.keyLoads.length).toBeGreaterThan(0);
    expect(reusedStatus.keyLoads.every((k) => !k.ok && k.status === 403)).toBe(true);
    expect(reusedTime).toBe(0);

    // a forged token gets nothing: 403 token_invalid on its first request, fatal error, no key
    expect(forgedStatus.fatal).not.toBeNull();
    expect(forgedPage.manifestStatuses[0]).toBe(403);
    expect(forgedPage.keyResponses.filter((r) => r.status === 200)).toEqual([]);
  });

  it('refuses a forged token on the key request itself with a key-load error and a 403', async () => {
    // Prepare: the playlists are fetched with a genuine token; the key request carries a forgery of it
    const token = await h.keyService.issueToken(ASSET_ID);
    const forged = `${token.slice(0, token.indexOf('.') + 1)}${'A'.repeat(43)}`;
    await context.route('**/keys/**', (route) => {
      const url = new URL(route.request().url());
      url.searchParams.set('token', forged);
      return route.continue({ url: url.toString() });
    });

    // Act
    const observed = await openPlayer(context, h.keyService.playerUrl(ASSET_ID, token));
    const status = await playerStatus(observed.page);
    await observed.page.close();
    await context.unrouteAll();

    // Assess
    expect(status.fatal).toBe('keyLoadError');
    expect(observed.keyResponses.length).toBeGreaterThan(0);
    expect(new Set(observed.keyResponses.map((r) => `${r.status} ${r.body}`))).toEqual(
      new Set(['403 {"error":"token_invalid"}']),
    );
    expect(status.keyLoads.length).toBeGreaterThan(0);
    expect(status.keyLoads.every((k) => !k.ok && k.status === 403)).toBe(true);
  });
});
