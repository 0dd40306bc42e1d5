import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GenerateDataKeyCommand, KMSClient, ReEncryptCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ELASTIC_TRANSCODER_CONTEXT,
  keyServiceContext,
  spekeKeyProviderContext,
} from '../../../lib/kms/contexts.js';
import { logger } from '../../../lib/logger.js';
import { type AssetRecord, writeAssetRecord } from '../../../lib/playback/asset-record.js';
import { runPlayCommand } from '../../../local/cli/play.js';
import { runTokenCommand } from '../../../local/cli/token.js';
import { startKeyService } from '../../../local/playback/index.js';
import { UnsafeDataDirError } from '../../../local/private-dir.js';
import { captureIo } from '../../support/cli-io.js';
import {
  BUCKET,
  type PlaybackHarness,
  REGION,
  startPlaybackHarness,
} from '../../support/playback-harness.js';

const ASSET_ID = 'a00000000000000000000001';

async function fetchKey(url: string): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

describe('local key service over HTTP (fauxqs S3, local KMS, dynalite)', () => {
  let h: PlaybackHarness;

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    // A generous per-token budget, so the concurrency test measures the token table, not the throttle.
    h = await startPlaybackHarness({ assetId: ASSET_ID, env: { THROTTLE_TOKEN_BURST: '100' } });
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('gives exactly one of 20 parallel key fetches with a one-time token the key', async () => {
    // Prepare
    const token = await h.keyService.issueToken(ASSET_ID);
    const url = `${h.keyService.keyUrl(ASSET_ID)}?token=${encodeURIComponent(token)}`;

    // Act
    const results = await Promise.all(Array.from({ length: 20 }, () => fetchKey(url)));

    // Assess
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(winners[0]?.body).toEqual(h.plaintextKey);
    expect(winners[0]?.headers.get('content-type')).toBe('application/octet-stream');
    expect(winners[0]?.headers.get('cache-control')).toBe('no-store');
    const losers = results.filter((r) => r.status !== 200);
    expect(losers.map((r) => r.status)).toEqual(Array(19).fill(403));
    expect(new Set(losers.map((r) => r.body.toString()))).toEqual(new Set(['{"error":"token_used"}']));
  });

  it('honours maxUses for players that re-fetch keys', async () => {
    // Prepare
    const token = await h.keyService.issueToken(ASSET_ID, { maxUses: 3 });
    const url = `${h.keyService.keyUrl(ASSET_ID)}?token=${encodeURIComponent(token)}`;

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await fetchKey(url)).status);

    // Assess
    expect(statuses).toEqual([200, 200, 200, 403, 403]);
  });

  it('refuses to start on a token secret that others can rewrite (they could mint tokens with it)', async () => {
    // Prepare
    const dataDir = await mkdtemp(join(tmpdir(), 'st-loose-secret-'));
    await writeFile(join(dataDir, 'token-secret'), `${'s'.repeat(44)}\n`, { mode: 0o600 });
    await chmod(join(dataDir, 'token-secret'), 0o666);

    // Act
    const started = startKeyService({ dataDir, env: h.keyServiceEnv });

    // Assess
    await expect(started).rejects.toThrow(UnsafeDataDirError);
    await expect(started).rejects.toThrow(/token-secret is writable by group or others \(mode 0666\)/);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('remembers a used token across a restart of the key service', async () => {
    // Prepare
    const token = await h.keyService.issueToken(ASSET_ID);
    expect(
      (await fetchKey(`${h.keyService.keyUrl(ASSET_ID)}?token=${encodeURIComponent(token)}`)).status,
    ).toBe(200);

    // Act
    await h.restartKeyService();
    const again = await fetchKey(`${h.keyService.keyUrl(ASSET_ID)}?token=${encodeURIComponent(token)}`);

    // Assess
    expect(again.status).toBe(403);
    expect(again.body.toString()).toBe('{"error":"token_used"}');
    expect((await stat(join(h.dataDir, 'token-secret'))).mode & 0o777).toBe(0o600);
  });

  it('serves rewritten playlists without consuming the token, with segments reachable through signed URLs', async () => {
    // Prepare
    const token = await h.keyService.issueToken(ASSET_ID);
    const q = `?token=${encodeURIComponent(token)}`;

    // Act
    const master = await (await fetch(`${h.keyService.endpoint}/play/${ASSET_ID}/index.m3u8${q}`)).text();
    const variantRes = await fetch(`${h.keyService.endpoint}/play/${ASSET_ID}/hls_400k.m3u8${q}`);
    const variant = await variantRes.text();
    const segmentUrl = variant.split('\n').find((l) => l.includes('hls_400k00000.ts')) ?? '';
    const segment = await fetchKey(segmentUrl);
    const unsigned = await fetch(segmentUrl.split('?')[0] ?? '');
    const otherObject = await fetch(segmentUrl.replace('hls_400k00000.ts', 'hls_400k.m3u8'));
    const relayed = await fetch(segmentUrl.replace('/s3/', '/s3//127.0.0.1:9/'));
    const key = await fetchKey(`${h.keyService.keyUrl(ASSET_ID)}${q}`);

    // Assess
    expect(master).toContain(`${h.keyService.endpoint}/play/${ASSET_ID}/hls_400k.m3u8${q}`);
    expect(variantRes.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(variant).toContain(`#EXT-X-KEY:METHOD=AES-128,URI="${h.keyService.keyUrl(ASSET_ID)}${q}"`);
    expect(segmentUrl).toMatch(
      new RegExp(
        `^${h.keyService.endpoint}/s3/${ASSET_ID}/${BUCKET}/outputs/${ASSET_ID}/clip/hls_400k00000\\.ts\\?.*X-Amz-Signature=`,
      ),
    );
    expect(segment.status).toBe(200);
    expect(segment.body).toEqual(h.objects.get('hls_400k00000.ts'));
    expect(unsigned.status).toBe(403);
    expect(otherObject.status).toBe(403);
    expect(relayed.status).toBe(403);
    expect(await relayed.json()).toEqual({ error: 'malformed_path' });
    expect(key.status).toBe(200);
  });

  it('refuses a record carrying a re-wrapped source key, and the refusal consumes no token', async () => {
    // Prepare: a workflow role turning a source key into a playback key, with everything it could do when one KMS key
    // and context covered both data keys — a source key (workflow key, Elastic Transcoder context) ReEncrypted into
    // this asset's key-service context and published in its asset record (the record's own checks pass: they are not
    // the defence).
    const assetId = 'a00000000000000000000002';
    const kms = new KMSClient({
      region: REGION,
      credentials: { ...h.credentials },
      endpoint: h.kmsServer.endpoint,
    });
    const source = await kms.send(
      new GenerateDataKeyCommand({
        KeyId: h.workflowKeyId,
        KeySpec: 'AES_128',
        EncryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT },
      }),
    );
    const rewrap = async (service: Record<string, string>) =>
      Buffer.from(
        (
          await kms.send(
            new ReEncryptCommand({
              CiphertextBlob: source.CiphertextBlob,
              SourceEncryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT },
              DestinationKeyId: h.workflowKeyId,
              DestinationEncryptionContext: service,
            }),
          )
        ).CiphertextBlob ?? new Uint8Array(),
      ).toString('base64');
    const where = { s3: h.s3, bucket: BUCKET, assetPrefix: 'assets/' };
    const forged: AssetRecord = {
      ...h.record,
      assetId,
      playbackKey: {
        wrappedKey: await rewrap({ ...keyServiceContext(assetId) }),
        kmsKeyId: h.workflowKeyId,
        encryptionContext: { ...keyServiceContext(assetId) },
      },
      spekeKey: {
        wrappedKey: await rewrap({ ...spekeKeyProviderContext(assetId) }),
        kmsKeyId: h.workflowKeyId,
        encryptionContext: { ...spekeKeyProviderContext(assetId) },
      },
    };
    await writeAssetRecord(where, forged);
    const token = await h.keyService.issueToken(assetId);
    const url = `${h.keyService.keyUrl(assetId)}?token=${encodeURIComponent(token)}`;

    // Act
    const refused = await fetchKey(url);
    // The genuine playback key (generated under the playback key for this asset) replaces the forged one …
    const genuine = await kms.send(
      new GenerateDataKeyCommand({
        KeyId: h.playbackKeyId,
        KeySpec: 'AES_128',
        EncryptionContext: { ...keyServiceContext(assetId) },
      }),
    );
    await writeAssetRecord(where, {
      ...forged,
      playbackKey: {
        wrappedKey: Buffer.from(genuine.CiphertextBlob ?? new Uint8Array()).toString('base64'),
        kmsKeyId: h.playbackKeyId,
        encryptionContext: { ...keyServiceContext(assetId) },
      },
    });
    // … and the same one-time token still fetches it.
    const served = await fetchKey(url);
    kms.destroy();

    // Assess
    expect(refused.status).toBe(500);
    expect(refused.headers.get('cache-control')).toBe('no-store');
    expect(refused.body.includes(Buffer.from(source.Plaintext ?? new Uint8Array()))).toBe(false);
    expect(refused.body.toString('base64')).not.toContain(
      Buffer.from(source.Plaintext ?? []).toString('base64'),
    );
    expect(served.status).toBe(200);
    expect(served.body).toEqual(Buffer.from(genuine.Plaintext ?? new Uint8Array()));
  });

  it('refuses a non-canonical spelling of a token signature without consuming the token', async () => {
    // Prepare: '=' padding decodes to the same MAC bytes.
    const token = await h.keyService.issueToken(ASSET_ID);
    const url = (t: string) => `${h.keyService.keyUrl(ASSET_ID)}?token=${encodeURIComponent(t)}`;

    // Act
    const padded = await fetchKey(url(`${token}=`));
    const canonical = await fetchKey(url(token));

    // Assess
    expect(padded.status).toBe(403);
    expect(padded.body.toString()).toBe('{"error":"token_invalid"}');
    expect(canonical.status).toBe(200);
    expect(canonical.body).toEqual(h.plaintextKey);
  });

  it.each([
    ['a malformed percent-encoding in the asset id', '/keys/%E0%A4%A', 400, 'bad_request'],
    ['a malformed percent-encoding in a playlist', `/play/${ASSET_ID}/%zz.m3u8`, 400, 'bad_request'],
    ['an unknown route', '/nothing/here', 404, 'not_found'],
  ])('answers %s with its status and no-store', async (_what, path, status, error) => {
    // Act
    const res = await fetch(`${h.keyService.endpoint}${path}`);

    // Assess
    expect(res.status).toBe(status);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.json()).toEqual({ error });
  });

  it('issues tokens from the CLI against the stack described by endpoints.json', async () => {
    // Prepare
    await writeFile(
      join(h.dataDir, 'endpoints.json'),
      JSON.stringify({
        region: REGION,
        credentials: h.credentials,
        endpoints: { s3: h.s3Endpoint, kms: h.kmsServer.endpoint, keyService: h.keyService.endpoint },
        bucket: BUCKET,
        player: `${h.keyService.endpoint}/player/`,
      }),
    );
    const token = captureIo();
    const play = captureIo();
    const missing = captureIo();

    // Act
    const tokenExit = await runTokenCommand(
      [ASSET_ID, '--json', '--uses', '2', '--data-dir', h.dataDir],
      token.io,
    );
    const playExit = await runPlayCommand([ASSET_ID, '--data-dir', h.dataDir], play.io);
    const missingExit = await runTokenCommand(['a-no-such-asset', '--data-dir', h.dataDir], missing.io);

    // Assess
    expect(tokenExit).toBe(0);
    const issued = JSON.parse(token.out());
    expect([(await fetchKey(issued.keyUrl)).status, (await fetchKey(issued.keyUrl)).status]).toEqual([
      200, 200,
    ]);
    expect((await fetchKey(issued.keyUrl)).status).toBe(403);
    expect(playExit).toBe(0);
    expect(play.out().trim()).toMatch(
      new RegExp(`^${h.keyService.endpoint}/player/\\?asset=${ASSET_ID}&token=[\\w.-]+$`),
    );
    expect(missingExit).toBe(1);
    expect(missing.err()).toContain('Asset a-no-such-asset not found');
  });
});
