/**
 * SOURCE_RETENTION from the environment of `secure-transcode up`, as a user sets it: `keep` leaves the processed
 * source version in the bucket after a successful job and says so in the notification; a misspelt value stops `up`
 * before anything starts. (The default, `delete`, is covered by the workflow suite.)
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HeadObjectCommand, ListObjectVersionsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { generateClip } from '../../bench/chaos/corpus.js';
import type { EndpointsJson, Notification } from '../../local/stack/index.js';
import { FFMPEG } from '../support/ffmpeg.js';
import { startUp, stopUp, until } from '../support/stack-process.js';

jest.setTimeout(180_000);

const ROOT = resolve('.');
const KEY = 'incoming/keep/clip.mp4';

describe('SOURCE_RETENTION=keep in the environment of secure-transcode up', () => {
  let work: string;
  let child: ChildProcess | undefined;
  let s3: S3Client;
  let config: EndpointsJson;
  let clip: Buffer;
  let notification: Notification;
  let uploadedVersion: string;

  beforeAll(async () => {
    // Prepare
    work = mkdtempSync(join(tmpdir(), 'st-keep-'));
    const dataDir = join(work, 'data');
    await generateClip(FFMPEG, join(work, 'clip.mp4'), 1);
    clip = readFileSync(join(work, 'clip.mp4'));
    child = startUp(dataDir, { FFMPEG_PATH: FFMPEG, SOURCE_RETENTION: 'keep' });
    const endpointsPath = join(dataDir, 'endpoints.json');
    await until('endpoints.json', 60_000, () => (existsSync(endpointsPath) ? true : undefined));
    config = JSON.parse(readFileSync(endpointsPath, 'utf8')) as EndpointsJson;
    s3 = new S3Client({
      region: config.region,
      credentials: config.credentials,
      endpoint: config.endpoints.s3,
      forcePathStyle: true,
    });

    // Act
    const put = await s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: KEY, Body: clip }));
    uploadedVersion = put.VersionId ?? '';
    notification = await until('the notification', 120_000, () => {
      if (!existsSync(config.notificationsFile)) return undefined;
      return readFileSync(config.notificationsFile, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Notification)
        .find((n) => n.source.key === KEY);
    });
  });

  afterAll(async () => {
    s3?.destroy();
    await stopUp(child);
    rmSync(work, { recursive: true, force: true });
  });

  it('leaves the processed source version in the bucket after a successful job, and says so', async () => {
    // Act
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: config.bucket, Key: KEY, VersionId: uploadedVersion }),
    );
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: config.bucket, Prefix: KEY }));

    // Assess
    expect(notification.status).toBe('SUCCEEDED');
    expect(notification.source.retention).toEqual({
      policy: 'keep',
      deleted: false,
      versionId: uploadedVersion,
    });
    expect(head.ContentLength).toBe(clip.length);
    expect((versions.Versions ?? []).map((v) => v.VersionId)).toEqual([uploadedVersion]);
    expect(versions.DeleteMarkers ?? []).toEqual([]);
  });

  it('refuses to start with a misspelt value, naming the variable and its values', async () => {
    // Act
    const result = await new Promise<{ code: number | null; stderr: string }>((done, reject) => {
      const up = spawn(
        process.execPath,
        [join(ROOT, 'bin/secure-transcode.js'), 'up', '--data-dir', join(work, 'other')],
        { env: { ...process.env, SOURCE_RETENTION: 'Keep' }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      up.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      up.once('error', reject);
      up.once('close', (code) => done({ code, stderr }));
    });

    // Assess
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('Environment variable SOURCE_RETENTION is invalid');
    expect(result.stderr).toContain('SOURCE_RETENTION is delete or keep');
    expect(existsSync(join(work, 'other', 'endpoints.json'))).toBe(false);
  });
});
