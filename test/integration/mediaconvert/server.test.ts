import { execFile } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EncryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  CancelJobCommand,
  ConflictException,
  CreateJobCommand,
  GetJobCommand,
  MediaConvertClient,
  NotFoundException,
} from '@aws-sdk/client-mediaconvert';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import type { Job } from '../../../lib/contracts.js';
import {
  ELASTIC_TRANSCODER_CONTEXT,
  MEDIACONVERT_CONTEXT,
  spekeKeyProviderContext,
} from '../../../lib/kms/contexts.js';
import { getProfile, loadProfiles } from '../../../lib/profiles.js';
import { MediaConvertAdapter } from '../../../lib/transcoder/mediaconvert.js';
import { TERMINAL_STATUSES } from '../../../lib/transcoder/types.js';
import { generateSampleClip } from '../../../local/cli/sample.js';
import type { JobProgress } from '../../../local/engine/index.js';
import { type LocalEventBridge, startLocalEventBridge } from '../../../local/eventbridge/index.js';
import { type KmsServer, startKmsServer } from '../../../local/kms/index.js';
import {
  type MediaConvertServer,
  SpekeClient,
  startMediaConvertServer,
} from '../../../local/mediaconvert/index.js';
import { type SpekeServer, startSpekeServer } from '../../../local/speke/index.js';
import { awsCliEnv } from '../../support/credentials.js';
import { sampleAsset, sampleEncrypted, sampleKeys, sampleTranscoderKey } from '../../support/state.js';

const run = promisify(execFile);
const region = 'us-east-1';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local-secret' };
const bucket = 'media';
const ROLE = 'arn:aws:iam::000000000000:role/secure-transcode-mediaconvert';
const KEY_SERVICE = 'https://keys.example.test';
const SOURCE_KEY = randomBytes(16);
const SOURCE_IV = randomBytes(16);
const profile = getProfile('mobile', loadProfiles(undefined));
const encrypted = () => ({
  ...sampleEncrypted(),
  bucket,
  key: 'encrypted/clip.mp4.enc',
  mode: 'aes-cbc-pkcs7' as const,
  initializationVector: SOURCE_IV.toString('base64'),
});
const transcoderKey = (wrappedKey: string) => ({
  ...sampleTranscoderKey(),
  wrappedKey,
  encryptionContext: { ...MEDIACONVERT_CONTEXT },
  reEncrypted: true,
});

describe('local MediaConvert and SPEKE key provider', () => {
  let work: string;
  let fauxqs: FauxqsServer;
  let kmsServer: KmsServer;
  let eventBridge: LocalEventBridge;
  let speke: SpekeServer;
  let mediaconvert: MediaConvertServer;
  let s3: S3Client;
  let kms: KMSClient;
  let mc: MediaConvertClient;
  let adapter: MediaConvertAdapter;
  let playbackKey: Buffer;
  let sourceBlob: string;
  let completed: Job;
  const progress: JobProgress[] = [];
  const assetId = sampleAsset().assetId;

  const submit = (executionName: string, overrides: { wrappedKey?: string; assetId?: string } = {}) =>
    adapter.submit({
      executionName,
      asset: {
        ...sampleAsset(),
        assetId: overrides.assetId ?? assetId,
        outputBucket: bucket,
        outputKeyPrefix: `outputs/${overrides.assetId ?? assetId}/${executionName}/`,
      },
      encrypted: encrypted(),
      transcoderKey: transcoderKey(overrides.wrappedKey ?? sourceBlob),
      playbackKey: sampleKeys().playback,
      profile,
      keyUrl: `${KEY_SERVICE}/keys/${assetId}`,
      userMetadata: { assetId },
    });

  async function finished(jobId: string, deadlineMs = 60_000): Promise<Job> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      const job = await adapter.read(jobId);
      if (TERMINAL_STATUSES.has(job.status)) return job;
      if (Date.now() > end) throw new Error(`job ${jobId} still ${job.status} after ${deadlineMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const object = async (key: string) => {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(
      await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'st-mediaconvert-'));
    fauxqs = await startFauxqs({ port: 0, logger: false });
    const s3Endpoint = `http://127.0.0.1:${fauxqs.port}`;
    fauxqs.createBucket(bucket);
    kmsServer = await startKmsServer({ dataDir: work, auth: { credentials, region } });
    const { arn: workflowKey } = await kmsServer.createKey('workflow');
    const { arn: playbackKmsKey } = await kmsServer.createKey('playback');
    eventBridge = await startLocalEventBridge({
      eventsFile: join(work, 'events.jsonl'),
      region,
      auth: { credentials, region },
    });
    speke = await startSpekeServer({
      s3: { endpoint: s3Endpoint },
      kms: { endpoint: kmsServer.endpoint },
      credentials,
      bucket,
      assetPrefix: 'assets/',
      keyServiceUrl: KEY_SERVICE,
      playbackKmsKeyId: playbackKmsKey,
    });
    mediaconvert = await startMediaConvertServer({
      dataDir: work,
      s3: { endpoint: s3Endpoint },
      kms: { endpoint: kmsServer.endpoint },
      eventbridge: { endpoint: eventBridge.endpoint },
      credentials,
    });
    const config = { region, credentials, maxAttempts: 1 };
    s3 = new S3Client({ ...config, endpoint: s3Endpoint, forcePathStyle: true });
    kms = new KMSClient({ ...config, endpoint: kmsServer.endpoint });
    mc = new MediaConvertClient({ ...config, endpoint: mediaconvert.endpoint });
    adapter = new MediaConvertAdapter({ roleArn: ROLE, spekeUrl: speke.url }, mc);

    const clip = join(work, 'clip.mp4');
    await generateSampleClip(ffmpegInstaller.path, clip, 3, '320x180');
    const enc = createCipheriv('aes-128-cbc', SOURCE_KEY, SOURCE_IV);
    const plain = await readFile(clip);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'encrypted/clip.mp4.enc',
        Body: Buffer.concat([enc.update(plain), enc.final()]),
      }),
    );
    const wrapped = await kms.send(
      new EncryptCommand({
        KeyId: workflowKey,
        Plaintext: SOURCE_KEY,
        EncryptionContext: { ...MEDIACONVERT_CONTEXT },
      }),
    );
    sourceBlob = Buffer.from(wrapped.CiphertextBlob ?? []).toString('base64');
    const data = await kms.send(
      new GenerateDataKeyCommand({
        KeyId: playbackKmsKey,
        KeySpec: 'AES_128',
        EncryptionContext: { ...spekeKeyProviderContext(assetId) },
      }),
    );
    playbackKey = Buffer.from(data.Plaintext ?? []);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `assets/${assetId}.json`,
        Body: JSON.stringify({
          assetId,
          spekeKey: {
            wrappedKey: Buffer.from(data.CiphertextBlob ?? []).toString('base64'),
            kmsKeyId: playbackKmsKey,
            encryptionContext: spekeKeyProviderContext(assetId),
          },
        }),
      }),
    );
    mediaconvert.onProgress((p) => progress.push(p));
    const created = await submit('exec-1');
    completed = await finished(created.id);
  }, 120_000);

  afterAll(async () => {
    mc?.destroy();
    s3?.destroy();
    kms?.destroy();
    await mediaconvert?.stop();
    await speke?.stop();
    await eventBridge?.stop();
    await kmsServer?.stop();
    await fauxqs?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it("runs the adapter's job to COMPLETE and writes files named as MediaConvert names them", async () => {
    // Assess
    expect(completed.status).toBe('Complete');
    const prefix = `outputs/${assetId}/exec-1/`;
    expect(completed.outputs.map((o) => o.key)).toEqual(
      adapter.playlistNames(profile).variants.map((v) => `${prefix}${v}`),
    );
    const master = (await object(`${prefix}index.m3u8`)).toString();
    expect(master).toContain('index_hls-600k.m3u8');
    const variant = (await object(`${prefix}index_hls-400k.m3u8`)).toString();
    expect(variant).toContain('index_hls-400k_00001.ts');
  });

  it("reports the running job's jobPercentComplete and each rendition's progress to its listeners", () => {
    // Assess: the same shape as the local Elastic Transcoder's, so `secure-transcode run` shows either backend
    const ofJob = progress.filter((p) => p.jobId === completed.id);
    expect(ofJob.length).toBeGreaterThan(0);
    expect(ofJob.every((p) => p.userMetadata.execution === 'exec-1')).toBe(true);
    expect(ofJob[0]?.outputKeys).toEqual(completed.outputs.map((o) => o.key));
    expect(ofJob.every((p) => p.renditions.length === completed.outputs.length)).toBe(true);
    const percents = ofJob.map((p) => p.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(percents.every((p) => p >= 0 && p <= 90)).toBe(true);
    expect(ofJob.at(-1)?.renditions.every((r) => r > 0)).toBe(true);
  });

  it('encrypts segments with the key the SPEKE provider returns and names the key service as the key URI', async () => {
    // Prepare
    const prefix = `outputs/${assetId}/exec-1/`;
    const variant = (await object(`${prefix}index_hls-400k.m3u8`)).toString();
    const keyLine = variant.split('\n').find((l) => l.startsWith('#EXT-X-KEY:')) ?? '';
    const iv = Buffer.from(/IV=0x([0-9a-fA-F]{32})/.exec(keyLine)?.[1] ?? '', 'hex');
    const segment = await object(`${prefix}index_hls-400k_00001.ts`);
    // Act
    const decipher = createDecipheriv('aes-128-cbc', playbackKey, iv);
    const plain = Buffer.concat([decipher.update(segment), decipher.final()]);
    // Assess
    expect(keyLine).toContain(`URI="${KEY_SERVICE}/keys/${assetId}"`);
    expect(plain[0]).toBe(0x47);
    expect(plain.length % 188).toBe(0);
  });

  it('keeps every key out of GetJob, ListJobs and the events, and sends job state changes', async () => {
    // Act
    const job = JSON.stringify((await mc.send(new GetJobCommand({ Id: completed.id }))).Job);
    const events = await readFile(join(work, 'events.jsonl'), 'utf8');
    // Assess
    for (const text of [job, events]) {
      expect(text).not.toContain(playbackKey.toString('base64'));
      expect(text.toLowerCase()).not.toContain(playbackKey.toString('hex'));
      expect(text).not.toContain(SOURCE_KEY.toString('base64'));
      expect(text.toLowerCase()).not.toContain(SOURCE_KEY.toString('hex'));
    }
    const mine = events
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((e) => e.detail.jobId === completed.id);
    expect(mine.map((e) => [e.source, e['detail-type'], e.detail.status])).toEqual([
      ['aws.mediaconvert', 'MediaConvert Job State Change', 'PROGRESSING'],
      ['aws.mediaconvert', 'MediaConvert Job State Change', 'COMPLETE'],
    ]);
    expect(mine[1].detail.outputGroupDetails[0].playlistFilePaths).toEqual([
      `s3://${bucket}/outputs/${assetId}/exec-1/index.m3u8`,
    ]);
  });

  it('returns the first job for a repeated ClientRequestToken and finds it again by its input file', async () => {
    // Prepare
    const request = adapter.createJobRequest({
      executionName: 'exec-1',
      asset: { ...sampleAsset(), outputBucket: bucket, outputKeyPrefix: `outputs/${assetId}/exec-1/` },
      encrypted: encrypted(),
      transcoderKey: transcoderKey(sourceBlob),
      playbackKey: sampleKeys().playback,
      profile,
      keyUrl: '',
      userMetadata: {},
    });
    // Act
    const again = await mc.send(new CreateJobCommand(request));
    const found = await adapter.findByExecution('exec-1', encrypted());
    // Assess
    expect(again.Job?.Id).toBe(completed.id);
    expect(found?.id).toBe(completed.id);
  });

  it('serves local jobs to the official AWS CLI', async () => {
    // Prepare
    const cliHome = await mkdtemp(join(tmpdir(), 'st-mc-cli-'));
    const env = awsCliEnv(cliHome, credentials, region);
    const aws = async (...args: string[]) =>
      JSON.parse(
        (
          await run(
            '/usr/bin/aws',
            ['mediaconvert', ...args, '--endpoint-url', mediaconvert.endpoint, '--output', 'json'],
            { env },
          )
        ).stdout,
      );
    // Act
    const got = await aws('get-job', '--id', completed.id);
    const listed = await aws('list-jobs', '--max-results', '20');
    await rm(cliHome, { recursive: true, force: true });
    // Assess
    expect(got.Job).toMatchObject({ Id: completed.id, Status: 'COMPLETE', Role: ROLE });
    expect(got.Job.Settings.OutputGroups[0].Outputs[0].NameModifier).toBe('_hls-600k');
    expect(listed.Jobs.map((j: { Id: string }) => j.Id)).toContain(completed.id);
  });

  it('ends a job whose input key is not wrapped under the MediaConvert context in ERROR 1401', async () => {
    // Prepare
    const { arn } = await kmsServer.createKey('other');
    const wrongContext = await kms.send(
      new EncryptCommand({
        KeyId: arn,
        Plaintext: SOURCE_KEY,
        EncryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT },
      }),
    );
    // Act
    const created = await submit('exec-wrong-context', {
      wrappedKey: Buffer.from(wrongContext.CiphertextBlob ?? []).toString('base64'),
    });
    const job = await finished(created.id);
    // Assess
    expect(job).toMatchObject({ status: 'Error', errorCode: '1401' });
  });

  it("ends a job whose input does not decrypt to media in ERROR 1010, in MediaConvert's own words", async () => {
    // Prepare
    const { arn } = await kmsServer.createKey('not-the-source-key');
    const otherKey = await kms.send(
      new EncryptCommand({
        KeyId: arn,
        Plaintext: Buffer.alloc(16, 0x5a),
        EncryptionContext: { ...MEDIACONVERT_CONTEXT },
      }),
    );
    // Act
    const created = await submit('exec-wrong-key', {
      wrappedKey: Buffer.from(otherKey.CiphertextBlob ?? []).toString('base64'),
    });
    const job = await finished(created.id);
    // Assess
    expect(job).toMatchObject({ status: 'Error', errorCode: '1010' });
    expect(job.statusDetail).toMatch(/decrypt/);
    expect(job.statusDetail).not.toMatch(/Elastic Transcoder/);
  });

  it('refuses an unsigned request as the service does', async () => {
    // Act
    const res = await fetch(`${mediaconvert.endpoint}/2017-08-29/jobs/${completed.id}`);
    // Assess
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
  });

  it('refuses to cancel a finished job and reports an unknown one', async () => {
    // Act
    const cancel = mc.send(new CancelJobCommand({ Id: completed.id }));
    const missing = mc.send(new GetJobCommand({ Id: '1700000000000-nosuch' }));
    // Assess
    await expect(cancel).rejects.toThrow(ConflictException);
    await expect(missing).rejects.toThrow(NotFoundException);
  });

  describe('SPEKE endpoint', () => {
    it('gives a SigV4-signed CPIX request the same 16 bytes the asset record holds', async () => {
      // Act
      const answer = await new SpekeClient({ region, credentials }).keyFor(speke.url, assetId);
      // Assess
      expect(answer.key).toEqual(playbackKey);
      expect(answer.uri).toBe(`${KEY_SERVICE}/keys/${assetId}`);
    });

    it('refuses an unsigned request and one signed with other credentials', async () => {
      // Act
      const unsigned = await fetch(speke.url, { method: 'POST', body: '<cpix:CPIX/>' });
      const stranger = new SpekeClient({
        region,
        credentials: { accessKeyId: 'other', secretAccessKey: 'x' },
        attempts: 1,
      });
      // Assess
      expect(unsigned.status).toBe(403);
      await expect(stranger.keyFor(speke.url, assetId)).rejects.toMatchObject({ code: 1091 });
    });
  });
});
