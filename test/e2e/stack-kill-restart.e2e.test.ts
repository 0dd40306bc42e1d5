/**
 * The embedded stack SIGKILLed — its whole process group, ffmpeg included — while jobs are in flight, then started
 * again on the same data directory, as a user would after a crash. Whatever the stack acknowledged must still be
 * there byte for byte (but a job's upload, which SOURCE_RETENTION=delete removes once the job succeeds), every job
 * must end with exactly one notification, and no playback key or decrypted media may be left on disk. The stack runs as the CLI (`secure-transcode up --fast`) in its own process group.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectVersionsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { generateClip } from '../../bench/chaos/corpus.js';
import type { EndpointsJson, Notification } from '../../local/stack/index.js';
import { uploadFile } from '../../local/stack/upload.js';
import { FFMPEG } from '../support/ffmpeg.js';
import { exited, startUp, stopUp, until } from '../support/stack-process.js';

jest.setTimeout(300_000);

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Files that would hold a playback key or decrypted media, anywhere under `dir`. */
function secretsUnder(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/^(key|keyinfo|input\.dec)$/.test(entry.name)) found.push(path);
    }
  };
  walk(dir);
  return found;
}

describe('a stack killed mid-job and started again', () => {
  let work: string;
  let dataDir: string;
  let child: ChildProcess | undefined;
  const acknowledged = new Map<string, string>();
  const jobs: string[] = [];
  let notifications: Notification[] = [];
  let config: EndpointsJson;
  let stateAtKill: string[] = [];
  let sourcesLeft: string[] = [];

  const connect = async () => {
    const endpointsPath = join(dataDir, 'endpoints.json');
    await until('endpoints.json', 60_000, () => (existsSync(endpointsPath) ? true : undefined));
    config = JSON.parse(readFileSync(endpointsPath, 'utf8')) as EndpointsJson;
    const common = { region: config.region, credentials: config.credentials };
    return {
      s3: new S3Client({ ...common, endpoint: config.endpoints.s3, forcePathStyle: true }),
      sfn: new SFNClient({ ...common, endpoint: config.endpoints.sfn }),
    };
  };

  beforeAll(async () => {
    // Prepare: three jobs and a few plain objects, all acknowledged before the kill.
    work = mkdtempSync(join(tmpdir(), 'st-kill-'));
    dataDir = join(work, 'data');
    const clipFile = join(work, 'clip.mp4');
    await generateClip(FFMPEG, clipFile, 4);
    const clip = readFileSync(clipFile);
    child = startUp(dataDir, { FFMPEG_PATH: FFMPEG });
    const first = await connect();
    for (const [key, body] of [
      ['plain/zero-byte', Buffer.alloc(0)],
      ['plain/small.bin', randomBytes(1234)],
      ['plain/multipart.bin', randomBytes(13 * MiB)],
    ] as const) {
      if (body.length > 8 * MiB) await uploadFile(first.s3, { bucket: config.bucket, key, body });
      else await first.s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body }));
      acknowledged.set(key, sha256(body));
    }
    for (const n of [1, 2, 3]) {
      const key = `incoming/kill/clip-${n}.mp4`;
      // A job's source is not read back: SOURCE_RETENTION=delete removes it once the job succeeds.
      await first.s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: clip }));
      jobs.push(key);
    }
    // Act: kill the whole group once every job has started and some are still running.
    stateAtKill = await until('a job in flight', 120_000, async () => {
      const list = await first.sfn.send(
        new ListExecutionsCommand({ stateMachineArn: config.stateMachineArn }),
      );
      const described = await Promise.all(
        (list.executions ?? []).map((e) =>
          first.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn })),
        ),
      );
      const running = described.filter((d) => d.status === 'RUNNING');
      return running.length > 0 && described.length === jobs.length
        ? running.map((d) => d.executionArn ?? '')
        : undefined;
    });
    process.kill(-(child.pid ?? 0), 'SIGKILL');
    await exited(child);
    first.s3.destroy();
    first.sfn.destroy();

    child = startUp(dataDir, { FFMPEG_PATH: FFMPEG });
    const second = await connect();
    const file = config.notificationsFile;
    notifications = await until('a notification for every job', 240_000, () => {
      if (!existsSync(file)) return undefined;
      const all = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Notification);
      return jobs.every((k) => all.some((n) => n.source.key === k)) ? all : undefined;
    });
    // Let anything still queued arrive, so a duplicate would be seen.
    await sleep(3000);
    notifications = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Notification);
    for (const [key, digest] of acknowledged) {
      const got = await second.s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
      const bytes = (await got.Body?.transformToByteArray()) ?? new Uint8Array();
      acknowledged.set(key, sha256(bytes) === digest ? 'identical' : `differs (${bytes.length} bytes)`);
    }
    const versions = await second.s3.send(
      new ListObjectVersionsCommand({ Bucket: config.bucket, Prefix: 'incoming/kill/' }),
    );
    sourcesLeft = [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].map((v) => v.Key ?? '');
    second.s3.destroy();
    second.sfn.destroy();
  });

  afterAll(async () => {
    await stopUp(child);
    rmSync(work, { recursive: true, force: true });
  });

  it('kills the stack while jobs are still running', () => {
    // Assess
    expect(stateAtKill.length).toBeGreaterThan(0);
  });

  it('reads back every acknowledged object byte for byte', () => {
    // Assess
    expect(Object.fromEntries(acknowledged)).toEqual(
      Object.fromEntries([...acknowledged.keys()].map((k) => [k, 'identical'])),
    );
  });

  it('ends every job with exactly one notification, a success: interrupted executions resume', () => {
    // Assess
    const perJob = Object.fromEntries(
      jobs.map((k) => [k, notifications.filter((n) => n.source.key === k).map((n) => n.status)]),
    );
    expect(perJob).toEqual(Object.fromEntries(jobs.map((k) => [k, ['SUCCEEDED']])));
  });

  it("deletes each job's source version once it succeeded, a resumed job included, and lays no delete marker", () => {
    // Assess
    expect(sourcesLeft).toEqual([]);
    for (const key of jobs) {
      const n = notifications.find((x) => x.source.key === key);
      expect({ key, retention: n?.source.retention }).toEqual({
        key,
        retention: { policy: 'delete', deleted: true, versionId: n?.source.versionId },
      });
    }
  });

  it('leaves no playback key or decrypted media on disk', () => {
    // Assess
    expect(secretsUnder(dataDir)).toEqual([]);
    expect(readdirSync(join(dataDir, 'transcoder', 'work'))).toEqual([]);
  });
});
