/**
 * Drives the local player page in Debian's headless Chromium (playwright-core, no bundled browser) and records what
 * the network and the page's `window.__player` saw: key responses with their bodies, playlist and segment statuses.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface PlayerStatus {
  state: string;
  fatal: string | null;
  errors: { fatal: boolean; details: string; status?: number }[];
  keyLoads: { ok: boolean; status?: number }[];
}

export interface ObservedPlayback {
  page: Page;
  keyResponses: { status: number; body: Buffer }[];
  playlistStatuses: number[];
  segmentStatuses: number[];
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A persistent context in a fresh profile directory, so no cache or cookie survives from another run. */
export async function launchChromium(): Promise<Browser> {
  const profileDir = await mkdtemp(join(tmpdir(), 'st-chromium-'));
  const context = await chromium
    .launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
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
    })
    .catch(async (e: unknown) => {
      await rm(profileDir, { recursive: true, force: true });
      throw e;
    });
  return {
    context,
    async close() {
      await context.close();
      await rm(profileDir, { recursive: true, force: true });
    },
  };
}

/** Opens `url` and waits until the video passes 3 s or the player reports a fatal error. */
export async function openPlayer(context: BrowserContext, url: string): Promise<ObservedPlayback> {
  const page = await context.newPage();
  const observed: ObservedPlayback = { page, keyResponses: [], playlistStatuses: [], segmentStatuses: [] };
  const pending: Promise<unknown>[] = [];
  page.on('response', (response) => {
    const path = new URL(response.url()).pathname;
    if (path.startsWith('/keys/')) {
      pending.push(
        response.body().then((body) => observed.keyResponses.push({ status: response.status(), body })),
      );
    } else if (path.startsWith('/play/')) observed.playlistStatuses.push(response.status());
    else if (path.startsWith('/s3/')) observed.segmentStatuses.push(response.status());
  });
  await page.goto(url);
  await page.waitForFunction(
    () => {
      const p = (window as unknown as { __player?: PlayerStatus }).__player;
      const video = document.querySelector('video');
      return Boolean(p?.fatal) || (video !== null && video.currentTime > 3);
    },
    undefined,
    { timeout: 40_000 },
  );
  await Promise.all(pending);
  return observed;
}

export const playerStatus = (page: Page) =>
  page.evaluate(() => (window as unknown as { __player: PlayerStatus }).__player);

export const currentTime = (page: Page) =>
  page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);

/** Seconds of media actually played (the sum of `video.played`), which a seek past 3 s would not fake. */
export const playedSeconds = (page: Page) =>
  page.evaluate(() => {
    const played = document.querySelector('video')?.played;
    let total = 0;
    for (let i = 0; i < (played?.length ?? 0); i += 1)
      total += (played?.end(i) ?? 0) - (played?.start(i) ?? 0);
    return total;
  });

/** The token with its signature replaced: same claims, so only the HMAC check can refuse it. */
export const forgeToken = (token: string) => `${token.slice(0, token.indexOf('.') + 1)}${'A'.repeat(43)}`;
