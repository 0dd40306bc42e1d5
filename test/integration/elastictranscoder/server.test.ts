import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CancelJobCommand,
  CreateJobCommand,
  type CreateJobRequest,
  CreatePipelineCommand,
  ElasticTranscoderClient,
  type Job,
  LimitExceededException,
  ListJobsByPipelineCommand,
  ListJobsByStatusCommand,
  ListPresetsCommand,
  ReadJobCommand,
  ReadPipelineCommand,
  ReadPresetCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ValidationException,
} from '@aws-sdk/client-elastic-transcoder';
import { EncryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { ELASTIC_TRANSCODER_CONTEXT } from '../../../lib/kms/contexts.js';
import { generateSampleClip } from '../../../local/cli/sample.js';
import { startTranscoderServer, type TranscoderServer } from '../../../local/elastictranscoder/index.js';
import { runFfmpeg } from '../../../local/engine/index.js';
import { FaultInjector } from '../../../local/faults.js';
import { type KmsServer, startKmsServer } from '../../../local/kms/index.js';
import { dataDirCredentials } from '../../support/credentials.js';
import { opensslDecrypt, opensslEncrypt } from '../../support/openssl.js';

const region = 'us-east-1';
// The transcoder and KMS accept only these, read from a data directory as the stack reads its own.
const { dataDir: credentialsDir, credentials, auth } = dataDirCredentials();
afterAll(() => rm(credentialsDir, { recursive: true, force: true }));
const bucket = 'media';
const context = { ...ELASTIC_TRANSCODER_CONTEXT };
// The Elastic Transcoder tutorial's vector: key `keykeykeykeykeyk`, IV `1234567890123456`.
const SOURCE_KEY = Buffer.from('keykeykeykeykeyk');
const SOURCE_IV = Buffer.from('1234567890123456');
const LICENSE_URL = 'https://keys.example.test/assets/a1/key';
const PRESET_400K = '1351620000001-200050';
const PRESET_600K = '1351620000001-200040';
const TERMINAL = new Set(['Complete', 'Error', 'Canceled']);

const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('base64');

async function body(s3: S3Client, key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(
    await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

function isMpegTs(bytes: Buffer): boolean {
  if (bytes.length === 0 || bytes.length % 188 !== 0) return false;
  for (let i = 0; i < bytes.length; i += 188) if (bytes[i] !== 0x47) return false;
  return true;
}

describe('local Elastic Transcoder server', () => {
  let work: string;
  let fauxqs: FauxqsServer;
  let kmsServer: KmsServer;
  let transcoder: TranscoderServer;
  let et: ElasticTranscoderClient;
  let s3: S3Client;
  let kms: KMSClient;
  let sqs: SQSClient;
  let queueUrl: string;
  let pipelineId: string;
  let wrappedSourceKey: string;
  let playback: { key: Buffer; wrapped: string };
  const notifications: Record<string, unknown>[] = [];
  const faults = new FaultInjector();

  function transcoderOptions(endpoint: string) {
    return {
      dataDir: work,
      s3: { endpoint },
      kms: { endpoint: kmsServer.endpoint },
      sns: { endpoint },
      credentials,
      faults,
    };
  }

  function jobRequest(overrides: Partial<CreateJobRequest> = {}): CreateJobRequest {
    return {
      PipelineId: pipelineId,
      Input: {
        Key: 'encrypted/clip.mp4.enc',
        Encryption: {
          Mode: 'aes-cbc-pkcs7',
          Key: wrappedSourceKey,
          KeyMd5: md5(Buffer.from(wrappedSourceKey, 'base64')),
          InitializationVector: SOURCE_IV.toString('base64'),
        },
      },
      OutputKeyPrefix: `outputs/clip/${randomBytes(4).toString('hex')}/`,
      Outputs: [
        { Key: 'hls/400k', PresetId: PRESET_400K, SegmentDuration: '2' },
        { Key: 'hls/600k', PresetId: PRESET_600K, SegmentDuration: '2' },
      ],
      Playlists: [
        {
          Name: 'index',
          Format: 'HLSv3',
          OutputKeys: ['hls/400k', 'hls/600k'],
          HlsContentProtection: {
            Method: 'aes-128',
            Key: playback.wrapped,
            KeyMd5: md5(Buffer.from(playback.wrapped, 'base64')),
            InitializationVector: randomBytes(16).toString('base64'),
            LicenseAcquisitionUrl: LICENSE_URL,
            KeyStoragePolicy: 'NoStore',
          },
        },
      ],
      UserMetadata: { assetId: 'a1' },
      ...overrides,
    };
  }

  /** Polls ReadJob until a terminal status; a job that never finishes fails the test at the deadline. */
  async function finished(jobId: string, deadlineMs = 30_000): Promise<Job> {
    const end = Date.now() + deadlineMs;
    for (;;) {
      const { Job: job } = await et.send(new ReadJobCommand({ Id: jobId }));
      if (job?.Status && TERMINAL.has(job.Status)) return job;
      if (Date.now() > end) throw new Error(`job ${jobId} still ${job?.Status} after ${deadlineMs} ms`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  async function runJob(request: CreateJobRequest): Promise<Job> {
    const { Job: created } = await et.send(new CreateJobCommand(request));
    return finished(created?.Id ?? '');
  }

  /** Reads the pipeline topic's queue until the notification for this job and state has arrived. */
  async function notification(jobId: string, state: string): Promise<Record<string, unknown>> {
    const end = Date.now() + 10_000;
    for (;;) {
      const found = notifications.find((n) => n.jobId === jobId && n.state === state);
      if (found) return found;
      if (Date.now() > end) throw new Error(`no ${state} notification for ${jobId}`);
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      for (const m of Messages) notifications.push(JSON.parse(JSON.parse(m.Body ?? '{}').Message));
    }
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'st-transcoder-'));
    fauxqs = await startFauxqs({ port: 0, logger: false });
    const endpoint = `http://127.0.0.1:${fauxqs.port}`;
    fauxqs.createBucket(bucket);
    const { topicArn } = fauxqs.createTopic('transcoder-events');
    ({ queueUrl } = fauxqs.createQueue('transcoder-events'));
    fauxqs.subscribe({ topic: 'transcoder-events', queue: 'transcoder-events' });
    kmsServer = await startKmsServer({ dataDir: work, auth });
    const { arn: kmsKeyArn } = await kmsServer.createKey('transcoder test');
    transcoder = await startTranscoderServer(transcoderOptions(endpoint));

    const clientConfig = { region, credentials, maxAttempts: 1 };
    et = new ElasticTranscoderClient({ ...clientConfig, endpoint: transcoder.endpoint });
    s3 = new S3Client({ ...clientConfig, endpoint, forcePathStyle: true });
    kms = new KMSClient({ ...clientConfig, endpoint: kmsServer.endpoint });
    sqs = new SQSClient({ ...clientConfig, endpoint });

    const clip = join(work, 'clip.mp4');
    await generateSampleClip(ffmpegInstaller.path, clip, 4, '320x180', false);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'encrypted/clip.mp4.enc',
        Body: opensslEncrypt('aes-cbc-pkcs7', SOURCE_KEY, SOURCE_IV, await readFile(clip)),
      }),
    );

    const wrapped = await kms.send(
      new EncryptCommand({ KeyId: kmsKeyArn, Plaintext: SOURCE_KEY, EncryptionContext: context }),
    );
    wrappedSourceKey = Buffer.from(wrapped.CiphertextBlob ?? []).toString('base64');
    const dataKey = await kms.send(
      new GenerateDataKeyCommand({ KeyId: kmsKeyArn, KeySpec: 'AES_128', EncryptionContext: context }),
    );
    playback = {
      key: Buffer.from(dataKey.Plaintext ?? []),
      wrapped: Buffer.from(dataKey.CiphertextBlob ?? []).toString('base64'),
    };

    const { Pipeline } = await et.send(
      new CreatePipelineCommand({
        Name: 'secure-transcode',
        InputBucket: bucket,
        OutputBucket: bucket,
        Role: 'arn:aws:iam::000000000000:role/Elastic_Transcoder_Default_Role',
        AwsKmsKeyArn: kmsKeyArn,
        Notifications: { Progressing: '', Completed: topicArn, Warning: '', Error: topicArn },
      }),
    );
    pipelineId = Pipeline?.Id ?? '';
  });

  afterAll(async () => {
    for (const client of [et, s3, kms, sqs]) client.destroy();
    await transcoder.stop();
    await kmsServer.stop();
    await fauxqs.stop();
    await rm(work, { recursive: true, force: true });
  });

  describe('a job on an encrypted clip with AES-128 HLS playlists', () => {
    let request: CreateJobRequest;
    let submitted: Job | undefined;
    let job: Job;

    beforeAll(async () => {
      request = jobRequest();
      ({ Job: submitted } = await et.send(new CreateJobCommand(request)));
      job = await finished(submitted?.Id ?? '');
    });

    it('answers CreateJob with a Submitted job in the service id format', () => {
      // Assess
      expect(submitted?.Id).toMatch(/^\d{13}-\w{6}$/);
      expect(submitted).toMatchObject({
        Status: 'Submitted',
        PipelineId: pipelineId,
        Timing: { SubmitTimeMillis: expect.any(Number) },
      });
      expect(submitted?.Outputs?.map((o) => [o.Id, o.Status])).toEqual([
        ['1', 'Submitted'],
        ['2', 'Submitted'],
      ]);
    });

    it('completes with output durations, sizes, detected properties and timing', () => {
      // Assess
      expect(job.Status).toBe('Complete');
      for (const output of job.Outputs ?? []) {
        expect(output).toMatchObject({ Status: 'Complete', Width: 320, Height: 180, Duration: 4 });
        expect(output.DurationMillis).toBeGreaterThan(3500);
        expect(output.FileSize).toBeGreaterThan(10_000);
      }
      expect(job.Input?.DetectedProperties).toMatchObject({ Width: 320, Height: 180, FrameRate: '25' });
      expect(job.Input?.DetectedProperties?.DurationMillis).toBeGreaterThan(3900);
      expect(job.Playlists?.[0]?.Status).toBe('Complete');
      const { SubmitTimeMillis = 0, StartTimeMillis = 0, FinishTimeMillis = 0 } = job.Timing ?? {};
      expect(SubmitTimeMillis).toBeLessThanOrEqual(StartTimeMillis);
      expect(StartTimeMillis).toBeLessThanOrEqual(FinishTimeMillis);
    });

    it('writes a master playlist with one relative variant entry per output', async () => {
      // Act
      const master = (await body(s3, `${request.OutputKeyPrefix}index.m3u8`)).toString();

      // Assess
      expect(master.split('\n').filter((l) => l.startsWith('#EXT-X-STREAM-INF:'))).toEqual([
        // x264's baseline sets constraint_set0 and set1 (Constrained Baseline, 0xc0): what the segments carry.
        expect.stringMatching(
          /^#EXT-X-STREAM-INF:BANDWIDTH=\d+,RESOLUTION=320x180,CODECS="avc1\.42c01e,mp4a\.40\.2"$/,
        ),
        expect.stringMatching(
          /^#EXT-X-STREAM-INF:BANDWIDTH=\d+,RESOLUTION=320x180,CODECS="avc1\.42c01e,mp4a\.40\.2"$/,
        ),
      ]);
      expect(master).toContain('\nhls/400k.m3u8\n');
      expect(master).toContain('\nhls/600k.m3u8\n');
    });

    it('encrypts the segments under the playlist key with the license URL as EXT-X-KEY URI', async () => {
      // Prepare
      const variant = (await body(s3, `${request.OutputKeyPrefix}hls/400k.m3u8`)).toString();
      const iv = /#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)",IV=0x([0-9a-fA-F]{32})/.exec(variant);
      const segment = await body(s3, `${request.OutputKeyPrefix}hls/400k00000.ts`);

      // Act
      const plain = opensslDecrypt('aes-cbc-pkcs7', playback.key, Buffer.from(iv?.[2] ?? '', 'hex'), segment);
      await writeFile(join(work, 'segment.ts'), plain);

      // Assess
      expect(iv?.[1]).toBe(LICENSE_URL);
      expect(iv?.[2]?.toLowerCase()).toBe(
        Buffer.from(
          request.Playlists?.[0]?.HlsContentProtection?.InitializationVector ?? '',
          'base64',
        ).toString('hex'),
      );
      expect(variant).toContain('\n400k00000.ts\n');
      expect(isMpegTs(segment)).toBe(false);
      expect(isMpegTs(plain)).toBe(true);
      const { stderr } = await runFfmpeg(ffmpegInstaller.path, ['-i', join(work, 'segment.ts')]);
      expect(stderr).toMatch(/Video: h264 \(Constrained Baseline\)[^\n]*320x180/);
      expect(stderr).toMatch(/Audio: aac \(LC\)/);
    });

    it('publishes the Completed notification in the documented shape without key material', async () => {
      // Act
      const message = await notification(job.Id ?? '', 'COMPLETED');

      // Assess
      expect(message).toMatchObject({
        version: '2012-09-25',
        pipelineId,
        outputKeyPrefix: request.OutputKeyPrefix,
        input: { key: 'encrypted/clip.mp4.enc', encryption: { mode: 'aes-cbc-pkcs7' } },
        outputs: [
          { id: '1', key: 'hls/400k', presetId: PRESET_400K, status: 'Complete', width: 320, height: 180 },
          { id: '2', key: 'hls/600k', presetId: PRESET_600K, status: 'Complete' },
        ],
        playlists: [
          { name: 'index', status: 'Complete', hlsContentProtection: { licenseAcquisitionUrl: LICENSE_URL } },
        ],
        userMetadata: { assetId: 'a1' },
      });
      const text = JSON.stringify(message);
      expect(text).not.toContain(wrappedSourceKey);
      expect(text).not.toContain(playback.wrapped);
      expect(text).not.toContain(playback.key.toString('base64'));
    });

    it('refuses to cancel a job that is no longer Submitted', async () => {
      // Act
      const result = et.send(new CancelJobCommand({ Id: job.Id }));

      // Assess
      await expect(result).rejects.toThrow(ResourceInUseException);
    });
  });

  it('decrypts an aes-ctr input and writes an unprotected segmented output', async () => {
    // Prepare
    const clip = join(work, 'clip.mp4');
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'encrypted/clip.mp4.ctr',
        Body: opensslEncrypt('aes-ctr', SOURCE_KEY, SOURCE_IV, await readFile(clip)),
      }),
    );
    const base = jobRequest();
    const request = jobRequest({
      Input: {
        ...base.Input,
        Key: 'encrypted/clip.mp4.ctr',
        Encryption: { ...base.Input?.Encryption, Mode: 'aes-ctr' },
      },
      Outputs: [{ Key: 'audio', PresetId: '1351620000001-200071', SegmentDuration: '2' }],
      Playlists: [],
    });

    // Act
    const job = await runJob(request);

    // Assess
    expect(job.Status).toBe('Complete');
    expect(job.Outputs?.[0]).toMatchObject({ Status: 'Complete', Duration: 4 });
    expect(job.Outputs?.[0]?.Width).toBeUndefined();
    expect(isMpegTs(await body(s3, `${request.OutputKeyPrefix}audio00000.ts`))).toBe(true);
  });

  describe('failing jobs', () => {
    it('ends in Error 4018 when KeyMd5 is not the MD5 of the wrapped key', async () => {
      // Prepare
      const request = jobRequest();
      // The classic mistake: the MD5 of the plaintext key instead of the ciphertext blob (tutorial: tNUOedzRVo2ZuD6uq6u6Xw==).
      (request.Input as { Encryption: { KeyMd5: string } }).Encryption.KeyMd5 = md5(SOURCE_KEY);

      // Act
      const job = await runJob(request);

      // Assess
      expect(job.Status).toBe('Error');
      expect(job.Outputs?.[0]?.StatusDetail).toMatch(
        /^4018 [0-9a-f-]{36}: Unable to decrypt the ciphered key with MD5=tNUOedzRVo2ZuD6uq6u6Xw==/,
      );
      expect(job.Playlists?.[0]?.Status).toBe('Error');
      expect(await notification(job.Id ?? '', 'ERROR')).toMatchObject({
        errorCode: 4018,
        outputs: [{ status: 'Error' }, { status: 'Error' }],
      });
    });

    it('ends in Error 4018 when the key was wrapped without the Elastic Transcoder encryption context', async () => {
      // Prepare
      const { CiphertextBlob } = await kms.send(
        new EncryptCommand({
          KeyId: (await et.send(new ReadPipelineCommand({ Id: pipelineId }))).Pipeline?.AwsKmsKeyArn,
          Plaintext: SOURCE_KEY,
        }),
      );
      const blob = Buffer.from(CiphertextBlob ?? []);
      const request = jobRequest();
      Object.assign((request.Input as { Encryption: object }).Encryption, {
        Key: blob.toString('base64'),
        KeyMd5: md5(blob),
      });

      // Act
      const job = await runJob(request);

      // Assess
      expect(job.Status).toBe('Error');
      expect(job.Outputs?.map((o) => o.StatusDetail?.slice(0, 4))).toEqual(['4018', '4018']);
    });

    it('ends in Error 4016 when the encrypted input was truncated', async () => {
      // Prepare
      const encrypted = await body(s3, 'encrypted/clip.mp4.enc');
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'encrypted/truncated.enc',
          Body: encrypted.subarray(0, encrypted.length - 7),
        }),
      );

      // Act
      const job = await runJob(
        jobRequest({ Input: { ...jobRequest().Input, Key: 'encrypted/truncated.enc' } }),
      );

      // Assess
      expect(job.Status).toBe('Error');
      expect(job.Outputs?.[0]?.StatusDetail).toMatch(/^4016 /);
    });

    it('ends in Error 4000 when the decrypted input is not media', async () => {
      // Prepare
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'encrypted/noise.enc',
          Body: opensslEncrypt('aes-cbc-pkcs7', SOURCE_KEY, SOURCE_IV, randomBytes(64 * 1024)),
        }),
      );

      // Act
      const job = await runJob(jobRequest({ Input: { ...jobRequest().Input, Key: 'encrypted/noise.enc' } }));

      // Assess
      expect(job.Status).toBe('Error');
      expect(job.Outputs?.[0]?.StatusDetail).toMatch(/^4000 /);
    });

    it('ends in Error 3001 when the input object does not exist', async () => {
      // Act
      const job = await runJob(
        jobRequest({ Input: { ...jobRequest().Input, Key: 'encrypted/missing.enc' } }),
      );

      // Assess
      expect(job.Outputs?.[0]?.StatusDetail).toMatch(/^3001 .*key=encrypted\/missing\.enc/);
    });
  });

  describe('request validation', () => {
    it('rejects an unknown preset or pipeline with ResourceNotFoundException', async () => {
      // Act
      const unknownPreset = et.send(
        new CreateJobCommand(
          jobRequest({ Outputs: [{ Key: 'x', PresetId: '1351620000001-999999' }], Playlists: [] }),
        ),
      );
      await expect(unknownPreset).rejects.toThrow(ResourceNotFoundException);
      const unknownPipeline = et.send(
        new CreateJobCommand(jobRequest({ PipelineId: '1111111111111-abcdef' })),
      );

      // Assess
      await expect(unknownPipeline).rejects.toThrow(ResourceNotFoundException);
    });

    it('rejects an IV or KeyMd5 that is not base64 of 16 bytes with ValidationException', async () => {
      // Prepare
      const shortIv = jobRequest();
      (shortIv.Input as { Encryption: { InitializationVector: string } }).Encryption.InitializationVector =
        randomBytes(12).toString('base64');
      const longMd5 = jobRequest();
      longMd5.Playlists = [
        {
          ...longMd5.Playlists?.[0],
          HlsContentProtection: {
            ...longMd5.Playlists?.[0]?.HlsContentProtection,
            KeyMd5: randomBytes(20).toString('base64'),
          },
        },
      ];

      // Act
      const ivResult = et.send(new CreateJobCommand(shortIv));
      await expect(ivResult).rejects.toThrow(ValidationException);
      const md5Result = et.send(new CreateJobCommand(longMd5));

      // Assess
      await expect(md5Result).rejects.toThrow(ValidationException);
    });

    it('rejects more than 30 outputs and more than 10 user metadata pairs', async () => {
      // Prepare
      const outputs = Array.from({ length: 31 }, (_, i) => ({ Key: `o${i}`, PresetId: PRESET_400K }));
      const metadata = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']));

      // Act
      const tooManyOutputs = et.send(new CreateJobCommand(jobRequest({ Outputs: outputs, Playlists: [] })));
      await expect(tooManyOutputs).rejects.toThrow(ValidationException);
      const tooMuchMetadata = et.send(new CreateJobCommand(jobRequest({ UserMetadata: metadata })));

      // Assess
      await expect(tooMuchMetadata).rejects.toThrow(ValidationException);
    });
  });

  describe('presets, listings and restarts', () => {
    it('lists the system HLS presets with realistic settings', async () => {
      // Act
      const { Presets = [] } = await et.send(new ListPresetsCommand({}));
      const { Preset } = await et.send(new ReadPresetCommand({ Id: PRESET_400K }));

      // Assess
      expect(Presets.map((p) => p.Id)).toEqual(
        expect.arrayContaining([
          '1351620000001-200010',
          '1351620000001-200015',
          '1351620000001-200060',
          '1351620000001-200071',
          '1351620000001-500020',
        ]),
      );
      expect(Preset).toMatchObject({
        Container: 'ts',
        Type: 'System',
        Video: {
          Codec: 'H.264',
          CodecOptions: { Profile: 'baseline', Level: '3.0' },
          BitRate: '336',
          MaxWidth: '400',
          MaxHeight: '288',
          SizingPolicy: 'ShrinkToFit',
        },
        Audio: { Codec: 'AAC', BitRate: '64' },
      });
    });

    it('answers 429 LimitExceededException when the fault injector throttles a call', async () => {
      // Prepare
      faults.add({ service: 'transcoder', operation: 'ReadPreset', kind: 'throttle', schedule: [1] });

      // Act
      const throttled = et.send(new ReadPresetCommand({ Id: PRESET_400K }));
      await expect(throttled).rejects.toThrow(LimitExceededException);
      const retried = await et.send(new ReadPresetCommand({ Id: PRESET_400K }));

      // Assess
      expect(retried.Preset?.Id).toBe(PRESET_400K);
      expect(faults.stats()).toContainEqual({
        service: 'transcoder',
        operation: 'ReadPreset',
        calls: 3,
        injected: 1,
      });
      faults.clear();
    });

    it('keeps pipelines and jobs across a restart', async () => {
      // Prepare
      const { Jobs: before = [] } = await et.send(new ListJobsByPipelineCommand({ PipelineId: pipelineId }));
      await transcoder.stop();
      et.destroy();

      // Act
      transcoder = await startTranscoderServer(transcoderOptions(`http://127.0.0.1:${fauxqs.port}`));
      et = new ElasticTranscoderClient({
        region,
        credentials,
        maxAttempts: 1,
        endpoint: transcoder.endpoint,
      });
      const { Pipeline } = await et.send(new ReadPipelineCommand({ Id: pipelineId }));
      const { Jobs: after = [] } = await et.send(new ListJobsByPipelineCommand({ PipelineId: pipelineId }));
      const { Jobs: complete = [] } = await et.send(new ListJobsByStatusCommand({ Status: 'Complete' }));

      // Assess
      expect(Pipeline).toMatchObject({
        Id: pipelineId,
        Status: 'Active',
        InputBucket: bucket,
        OutputBucket: bucket,
      });
      expect(after.map((j) => [j.Id, j.Status])).toEqual(before.map((j) => [j.Id, j.Status]));
      const completeBefore = before.filter((j) => j.Status === 'Complete').map((j) => j.Id);
      expect(completeBefore).toHaveLength(2);
      expect(complete.map((j) => j.Id)).toEqual(completeBefore);
    });
  });
});
