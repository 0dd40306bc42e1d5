/**
 * Asset binding over real HTTP: the key service signs, and its `/s3` proxy serves, only objects under the asset's own
 * `outputs/<assetId>/` prefix, whatever the asset record or a playlist says. The records below are what the workflow
 * wrote for an upload named `incoming/../<victim>/clip.mp4` (its transcoder writes that key literally), and what an
 * attacker holding the stack's credentials could write by hand.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keyServiceContext, spekeKeyProviderContext } from '../../../lib/kms/contexts.js';
import { logger } from '../../../lib/logger.js';
import type { AssetRecord } from '../../../lib/playback/asset-record.js';
import { S3PresignedUrlSigner } from '../../../lib/playback/signed-urls.js';
import { BUCKET, type PlaybackHarness, startPlaybackHarness } from '../../support/playback-harness.js';

const VICTIM = 'a00000000000000000000011';
const ATTACKER = 'a00000000000000000000012';

describe('asset binding of the key service over HTTP', () => {
  let h: PlaybackHarness;
  /** The attacker's token for their own asset, issued while its record was sound (the play route consumes none). */
  let token: string;

  /** Publishes a record for the attacker's asset as raw JSON: the record schema is not what is being tested. */
  async function plantRecord(overrides: Partial<AssetRecord>): Promise<void> {
    const record = {
      ...h.record,
      assetId: ATTACKER,
      playbackKey: { ...h.record.playbackKey, encryptionContext: { ...keyServiceContext(ATTACKER) } },
      spekeKey: { ...h.record.spekeKey, encryptionContext: { ...spekeKeyProviderContext(ATTACKER) } },
      ...overrides,
    };
    await h.s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: `assets/${ATTACKER}.json`, Body: JSON.stringify(record) }),
    );
  }

  async function play(playlist: string): Promise<{ status: number; body: string }> {
    const res = await fetch(
      `${h.keyService.endpoint}/play/${ATTACKER}/${playlist}?token=${encodeURIComponent(token)}`,
    );
    return { status: res.status, body: await res.text() };
  }

  const victimPrefix = () => h.record.outputKeyPrefix;

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    h = await startPlaybackHarness({ assetId: VICTIM });
    await plantRecord({ outputKeyPrefix: `outputs/${ATTACKER}/clip/` });
    token = await h.keyService.issueToken(ATTACKER);
  });

  afterAll(async () => {
    await h?.stop();
  });

  it("plays the victim's own asset (the harness is sound)", async () => {
    // Act
    const own = await h.keyService.issueToken(VICTIM);
    const res = await fetch(`${h.keyService.endpoint}/play/${VICTIM}/hls_400k.m3u8?token=${own}`);

    // Assess
    expect(victimPrefix()).toBe(`outputs/${VICTIM}/clip/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`/${victimPrefix()}hls_400k00000.ts?`);
  });

  it.each([
    ['climbs out with ..', `outputs/${ATTACKER}/../${VICTIM}/clip/`],
    ['has a . segment', `outputs/${ATTACKER}/./../${VICTIM}/clip/`],
    ['has an empty segment', `outputs/${ATTACKER}//../${VICTIM}/clip/`],
    ["is the victim's own prefix", `outputs/${VICTIM}/clip/`],
    ['lies under no asset', 'outputs/clip/'],
  ])('signs nothing for a record whose output prefix %s', async (_what, outputKeyPrefix) => {
    // Prepare
    await plantRecord({ outputKeyPrefix });

    // Act
    const variant = await play('hls_400k.m3u8');
    const master = await play('index.m3u8');

    // Assess: no answer names the victim's objects or carries a signature
    for (const answer of [variant, master]) {
      expect(answer.status).toBe(500);
      expect(answer.body).toBe('{"error":"internal"}');
    }
  });

  it('signs nothing when a playlist of the asset itself references another asset through a dot segment', async () => {
    // Prepare: the attacker's own outputs, whose variant playlist names a victim segment by a path that normalises
    // to it from the attacker's prefix
    const own = `outputs/${ATTACKER}/clip/`;
    const climb = `../../${VICTIM}/clip/hls_400k00000.ts`;
    const sneak = `sub/../${climb}`;
    for (const [name, body] of [
      ['index.m3u8', '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=400000\nhls_400k.m3u8\n'],
      ['hls_400k.m3u8', `#EXTM3U\n#EXTINF:2.0,\n${sneak}\n#EXT-X-ENDLIST\n`],
      ['dot.m3u8', '#EXTM3U\n#EXTINF:2.0,\n./hls_400k00000.ts\n#EXT-X-ENDLIST\n'],
    ]) {
      await h.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${own}${name}`, Body: body }));
    }
    await plantRecord({ outputKeyPrefix: own, playlists: ['hls_400k.m3u8', 'dot.m3u8'] });

    // Act
    const variant = await play('hls_400k.m3u8');
    const dotted = await play('dot.m3u8');

    // Assess
    expect(variant).toEqual({ status: 500, body: '{"error":"internal"}' });
    expect(dotted).toEqual({ status: 500, body: '{"error":"internal"}' });
  });

  it("does not proxy a victim's segment through another asset's /s3 path, even with a good presignature", async () => {
    // Prepare: the attacker's record names the victim's prefix; the presignature is made with the stack's credentials
    await plantRecord({ outputKeyPrefix: victimPrefix() });
    const presigned = new URL(
      await new S3PresignedUrlSigner(h.s3).sign(
        BUCKET,
        `${victimPrefix()}hls_400k00000.ts`,
        new Date(Date.now() + 60_000),
      ),
    );
    const through = (asset: string) =>
      fetch(`${h.keyService.endpoint}/s3/${asset}${presigned.pathname}${presigned.search}`);

    // Act
    const viaAttacker = await through(ATTACKER);
    const viaVictim = await through(VICTIM);

    // Assess
    expect(viaAttacker.status).toBe(403);
    expect(await viaAttacker.json()).toEqual({ error: 'not_asset_output' });
    expect(viaVictim.status).toBe(200);
    expect(Buffer.from(await viaVictim.arrayBuffer())).toEqual(h.objects.get('hls_400k00000.ts'));
  });
});
