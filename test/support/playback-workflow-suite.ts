/**
 * Playback end to end: a clip uploaded to the real local stack goes through the whole workflow (starter, Step
 * Functions, encrypt, KMS, the transcoder's HLS AES-128, notification), and the HLS it produced plays in headless
 * Chromium through the stack's key service — once per one-time token. One stack per process (the handlers read
 * their configuration once), so each backend has its own test file calling `describePlaybackWorkflow`. Needs
 * Debian's chromium at /usr/bin/chromium (`scripts/test.sh` installs it).
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { TranscoderBackend } from '../../lib/config/transcoder.js';
import { logger } from '../../lib/logger.js';
import { type AssetRecord, AssetRecordSchema } from '../../lib/playback/asset-record.js';
import { generateSampleClip } from '../../local/cli/sample.js';
import { type Notification, type Stack, startStack } from '../../local/stack/index.js';
import { uploadFile } from '../../local/stack/upload.js';
import {
  type Browser,
  currentTime,
  forgeToken,
  launchChromium,
  openPlayer,
  playedSeconds,
  playerStatus,
} from './browser-player.js';

const FFMPEG = process.env.FFMPEG_PATH ?? (await import('@ffmpeg-installer/ffmpeg')).default.path;
const ARTIFACTS = join(process.cwd(), 'test-artifacts');
const SOURCE_KEY = 'incoming/playback-workflow.mp4';
/** Per-test timeout of a playback file (jest's default is 5 s; a Chromium load takes several). */
export const PLAYBACK_TIMEOUT_MS = 60_000;

async function objectText(stack: Stack, key: string): Promise<string> {
  const out = await stack.s3.send(new GetObjectCommand({ Bucket: stack.config.bucket, Key: key }));
  return (await out.Body?.transformToString('utf8')) ?? '';
}

export function describePlaybackWorkflow(backend: TranscoderBackend): void {
  describe(`playback of real workflow outputs in headless Chromium (${backend})`, () => {
    let work: string;
    let stack: Stack;
    let browser: Browser;
    let notification: Notification;
    let assetId: string;
    let record: AssetRecord;

    beforeAll(async () => {
      logger.setLogLevel('SILENT');
      work = await mkdtemp(join(tmpdir(), 'st-playback-workflow-'));
      const clip = join(work, 'clip.mp4');
      await generateSampleClip(FFMPEG, clip, 6, '320x180');
      stack = await startStack({
        dataDir: join(work, 'data'),
        backend,
        fast: true,
        quiet: true,
        ffmpegPath: FFMPEG,
      });
      browser = await launchChromium();

      const since = Date.now();
      await uploadFile(stack.s3, {
        bucket: stack.config.bucket,
        key: SOURCE_KEY,
        body: await readFile(clip),
      });
      const execution = await stack.waitForExecution(SOURCE_KEY, 40_000, since);
      notification = await stack.waitForNotification(execution.name, 10_000);
      assetId = notification.playback?.assetId ?? '';
      record = AssetRecordSchema.parse(JSON.parse(await objectText(stack, `assets/${assetId}.json`)));
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await stack?.stop();
      if (work) await rm(work, { recursive: true, force: true });
    });

    it('has produced AES-128 HLS whose key URI is the stack key service', async () => {
      // Act
      const variants = await Promise.all(
        record.playlists.map((p) => objectText(stack, `${record.outputKeyPrefix}${p}`)),
      );

      // Assess
      expect(notification.status).toBe('SUCCEEDED');
      expect(notification).toMatchObject({ job: { backend } });
      expect(assetId).toMatch(/^[a-f0-9]{24}$/);
      // The record's keys are the playback KMS key's two consumer copies, bound to this asset.
      expect(record.playbackKey.encryptionContext).toEqual({
        service: 'key-service.secure-transcode',
        assetId,
      });
      expect(record.spekeKey.encryptionContext).toEqual({
        service: 'speke-key-provider.secure-transcode',
        assetId,
      });
      expect(record.playbackKey.kmsKeyId).toBe(stack.config.playbackKmsKeyArn);
      expect(record.playlists.length).toBeGreaterThan(0);
      for (const text of variants) {
        expect(text).toContain(
          `#EXT-X-KEY:METHOD=AES-128,URI="${stack.config.endpoints.keyService}/keys/${assetId}"`,
        );
      }
    });

    it('plays with a fresh token and a single key fetch, then refuses the same token and a forged one', async () => {
      // Prepare
      const token = await stack.issueToken(assetId);
      const playerUrl = stack.playerUrl(assetId, token);
      const kms = new KMSClient({
        region: stack.config.region,
        credentials: stack.config.credentials,
        endpoint: stack.config.endpoints.kms,
      });
      const playbackKey = await kms.send(
        new DecryptCommand({
          CiphertextBlob: Buffer.from(record.playbackKey.wrappedKey, 'base64'),
          EncryptionContext: record.playbackKey.encryptionContext,
        }),
      );
      kms.destroy();

      // Act
      const first = await openPlayer(browser.context, playerUrl);
      await mkdir(ARTIFACTS, { recursive: true });
      await first.page.screenshot({ path: join(ARTIFACTS, `playback-workflow-${backend}.png`) });
      const firstStatus = await playerStatus(first.page);
      const firstTime = await currentTime(first.page);
      const firstPlayed = await playedSeconds(first.page);
      await first.page.close();

      const reused = await openPlayer(browser.context, playerUrl);
      const reusedStatus = await playerStatus(reused.page);
      const reusedTime = await currentTime(reused.page);
      await reused.page.close();

      const forged = await openPlayer(browser.context, stack.playerUrl(assetId, forgeToken(token)));
      const forgedStatus = await playerStatus(forged.page);
      await forged.page.close();

      // Assess: the first load plays past 3 s, with one 200 key fetch (the workflow's playback key) and no fatal error;
      // the segments were encrypted with the transcoder's copy of the key (Elastic Transcoder's wrapped key, or
      // MediaConvert's from the SPEKE provider), so playing them with the key decrypted from the record's key-service
      // blob shows both copies hold the same key
      expect(firstTime).toBeGreaterThan(3);
      // …by playing, not seeking: playback starts at the first frame (about 0.1 s), so allow that much
      expect(firstPlayed).toBeGreaterThan(firstTime - 0.5);
      expect(firstStatus.fatal).toBeNull();
      expect(firstStatus.errors.filter((e) => e.fatal)).toEqual([]);
      expect(first.keyResponses.map((r) => r.status)).toEqual([200]);
      expect(first.keyResponses[0]?.body).toEqual(Buffer.from(playbackKey.Plaintext ?? new Uint8Array()));
      expect(firstStatus.keyLoads).toEqual([{ ok: true }]);
      expect(first.segmentStatuses.length).toBeGreaterThan(0);
      expect(first.segmentStatuses.every((s) => s === 200)).toBe(true);

      // the used token still opens the playlists, but the key fetch fails with a key-load error and 403 token_used
      expect(reused.playlistStatuses.length).toBeGreaterThan(0);
      expect(reused.playlistStatuses.every((s) => s === 200)).toBe(true);
      expect(reusedStatus.fatal).toBe('keyLoadError');
      expect(reused.keyResponses.length).toBeGreaterThan(0);
      expect(new Set(reused.keyResponses.map((r) => `${r.status} ${r.body.toString()}`))).toEqual(
        new Set(['403 {"error":"token_used"}']),
      );
      expect(reusedStatus.keyLoads.length).toBeGreaterThan(0);
      expect(reusedStatus.keyLoads.every((k) => !k.ok && k.status === 403)).toBe(true);
      expect(reusedTime).toBe(0);

      // a forged token gets nothing: 403 on its first request, a fatal error, no key
      expect(forgedStatus.fatal).not.toBeNull();
      expect(forged.playlistStatuses[0]).toBe(403);
      expect(forged.keyResponses.filter((r) => r.status === 200)).toEqual([]);

      // the stack hands its fault injector to the key service, which counts every key request (none injected here)
      const keyRequests = [first, reused, forged].reduce((n, o) => n + o.keyResponses.length, 0);
      expect(stack.faults.stats()).toContainEqual({
        service: 'keyservice',
        operation: 'GetKey',
        calls: keyRequests,
        injected: 0,
      });
    });

    it('refuses a forged token on the key request itself with a key-load error and a 403', async () => {
      // Prepare: the playlists are fetched with a genuine token; the key request carries a forgery of it
      const token = await stack.issueToken(assetId);
      await browser.context.route('**/keys/**', (route) => {
        const url = new URL(route.request().url());
        url.searchParams.set('token', forgeToken(token));
        return route.continue({ url: url.toString() });
      });

      // Act
      const observed = await openPlayer(browser.context, stack.playerUrl(assetId, token)).finally(() =>
        browser.context.unrouteAll(),
      );
      const status = await playerStatus(observed.page);
      const time = await currentTime(observed.page);
      await observed.page.close();

      // Assess
      expect(status.fatal).toBe('keyLoadError');
      expect(observed.keyResponses.length).toBeGreaterThan(0);
      expect(new Set(observed.keyResponses.map((r) => `${r.status} ${r.body.toString()}`))).toEqual(
        new Set(['403 {"error":"token_invalid"}']),
      );
      expect(status.keyLoads.length).toBeGreaterThan(0);
      expect(status.keyLoads.every((k) => !k.ok && k.status === 403)).toBe(true);
      expect(time).toBe(0);
    });
  });
}
