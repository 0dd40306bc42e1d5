import {
  BadRequestException,
  CancelJobCommand,
  CreateJobCommand,
  ForbiddenException,
  GetJobCommand,
  InternalServerErrorException,
  type Job as McJob,
  MediaConvertClient,
  NotFoundException,
  SearchJobsCommand,
  TooManyRequestsException,
} from '@aws-sdk/client-mediaconvert';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { workflowConfig } from '../../../lib/config/workflow.js';
import {
  ConfigurationError,
  TranscodeJobFailedError,
  TranscoderRequestError,
  TranscoderThrottledError,
} from '../../../lib/errors.js';
import { ELASTIC_TRANSCODER_CONTEXT, MEDIACONVERT_CONTEXT } from '../../../lib/kms/contexts.js';
import { BUILT_IN_PROFILES, getProfile } from '../../../lib/profiles.js';
import { ElasticTranscoderAdapter } from '../../../lib/transcoder/elastic-transcoder.js';
import { createTranscoder } from '../../../lib/transcoder/index.js';
import {
  CLEAR_KEY_AES_128_SYSTEM_ID,
  MediaConvertAdapter,
  PRESET_EQUIVALENTS,
} from '../../../lib/transcoder/mediaconvert.js';
import { pollJob } from '../../../lib/workflow/poll-job.js';
import { submitJob } from '../../../lib/workflow/submit-job.js';
import {
  defaultProfile,
  mediaConvertEnv,
  mediaConvertProfiles,
  mediaConvertSettings,
  mediaConvertSubmitInput,
  QUEUE_ARN,
  ROLE_ARN,
  SPEKE_URL,
  submittedMediaConvertJob,
  workflowEnv,
} from '../../support/mediaconvert.js';
import { sampleEncrypted, sampleRunningJob, sampleTranscodeConfig } from '../../support/state.js';

const mcMock = mockClient(MediaConvertClient);
const s3Mock = mockClient(S3Client);
const mc = new MediaConvertClient({ region: 'us-east-1' });
const s3 = new S3Client({ region: 'us-east-1' });

const settings = mediaConvertSettings;
const transcoder = new MediaConvertAdapter(settings, mc);
const config = sampleTranscodeConfig();
const profiles = mediaConvertProfiles;
const profile = defaultProfile;
const now = () => new Date('2026-01-01T00:10:00Z');
const submitted = submittedMediaConvertJob;
const input = mediaConvertSubmitInput;
const running = () => sampleRunningJob('mediaconvert', '1700000000000-abc123');
const env = workflowEnv;

beforeEach(() => {
  mcMock.reset();
  s3Mock.reset();
  s3Mock.on(PutObjectCommand).resolves({});
});

describe('MediaConvertAdapter.submit', () => {
  it('creates a job that decrypts the input with the wrapped key and encrypts HLS through SPEKE', async () => {
    // Prepare
    mcMock.on(SearchJobsCommand).resolves({ Jobs: [] });
    mcMock.on(CreateJobCommand).resolves({ Job: submitted() });
    const i = input();
    // Act
    const { job } = await submitJob(i, { transcoder, config, s3, now });
    // Assess
    expect(job).toMatchObject({ backend: 'mediaconvert', id: '1700000000000-abc123', status: 'Submitted' });
    const req = mcMock.commandCalls(CreateJobCommand)[0]?.args[0].input;
    expect(req?.Role).toBe(ROLE_ARN);
    expect(req?.Queue).toBe(QUEUE_ARN);
    const source = req?.Settings?.Inputs?.[0];
    expect(source?.FileInput).toBe(`s3://${i.encrypted.bucket}/${i.encrypted.key}`);
    expect(source?.DecryptionSettings).toEqual({
      DecryptionMode: 'AES_CBC',
      EncryptedDecryptionKey: i.transcoderKey.wrappedKey,
      InitializationVector: i.encrypted.initializationVector,
    });
    const group = req?.Settings?.OutputGroups?.[0]?.OutputGroupSettings?.HlsGroupSettings;
    expect(group?.Destination).toBe(`s3://${i.asset.outputBucket}/${i.asset.outputKeyPrefix}index`);
    expect(group?.SegmentLength).toBe(profile.segmentDurationSeconds);
    expect(group?.Encryption).toEqual({
      EncryptionMethod: 'AES128',
      Type: 'SPEKE',
      InitializationVectorInManifest: 'INCLUDE',
      SpekeKeyProvider: {
        Url: SPEKE_URL,
        ResourceId: i.asset.assetId,
        SystemIds: [CLEAR_KEY_AES_128_SYSTEM_ID],
      },
    });
  });

  it('sets no constant IV, so each segment is encrypted under its own segment number, named in the playlist', async () => {
    // Prepare
    mcMock.on(SearchJobsCommand).resolves({ Jobs: [] });
    mcMock.on(CreateJobCommand).resolves({ Job: submitted() });
    // Act
    await submitJob(input(), { transcoder, config, s3, now });
    // Assess
    const request = mcMock.commandCalls(CreateJobCommand)[0]?.args[0].input;
    const encryption =
      request?.Settings?.OutputGroups?.[0]?.OutputGroupSettings?.HlsGroupSettings?.Encryption;
    expect(encryption).toBeDefined();
    expect(encryption).not.toHaveProperty('ConstantInitializationVector');
    expect(encryption?.InitializationVectorInManifest).toBe('INCLUDE');
    expect(JSON.stringify(request)).not.toMatch(/ConstantInitializationVector/);
  });

  it('writes the outputs with SSE-S3, which CloudFront reads without a grant on the workflow key', async () => {
    // Prepare
    mcMock.on(SearchJobsCommand).resolves({ Jobs: [] });
    mcMock.on(CreateJobCommand).resolves({ Job: submitted() });
    // Act
    await submitJob(input(), { transcoder, config, s3, now });
    // Assess
    const request = mcMock.commandCalls(CreateJobCommand)[0]?.args[0].input;
    const group = request?.Settings?.OutputGroups?.[0]?.OutputGroupSettings?.HlsGroupSettings;
    expect(group?.DestinationSettings).toEqual({
      S3Settings: { Encryption: { EncryptionType: 'SERVER_SIDE_ENCRYPTION_S3' } },
    });
  });

  it('puts no plaintext key, static key or playback key anywhere in the request', async () => {
    // Prepare
    mcMock.on(CreateJobCommand).resolves({ Job: submitted() });
    const i = input();
    // Act
    await transcoder.submit({
      executionName: i.execution.name,
      asset: i.asset,
      encrypted: i.encrypted,
      transcoderKey: i.transcoderKey,
      playbackKey: i.transcoderPlaybackKey,
      profile,
      keyUrl: 'https://keys.example.com/keys/a',
      userMetadata: {},
    });
    // Assess
    const request = mcMock.commandCalls(CreateJobCommand)[0]?.args[0].input;
    const json = JSON.stringify(request);
    expect(json).not.toMatch(/StaticKey/);
    // A plaintext AES-128 key in MediaConvert's settings is 32 hex characters (StaticKeyValue): none may appear.
    expect(JSON.stringify(request?.Settings)).not.toMatch(/(?<![0-9A-Fa-f])[0-9A-Fa-f]{32}(?![0-9A-Fa-f])/);
    expect(json).not.toContain(i.keys.playback.wrappedKey);
    expect(json).not.toContain(i.transcoderPlaybackKey.wrappedKey);
    expect(json).not.toContain(i.keys.speke.wrappedKey);
    // The only key material is the KMS ciphertext MediaConvert decrypts itself, once.
    expect(json.split(i.transcoderKey.wrappedKey).length - 1).toBe(1);
  });

  it('tags the job with the execution, asset, profile and a sanitized source name', async () => {
    // Prepare
    mcMock.on(SearchJobsCommand).resolves({ Jobs: [] });
    mcMock.on(CreateJobCommand).resolves({ Job: submitted() });
    const i = input();
    // Act
    await submitJob(i, { transcoder, config, s3, now });
    // Assess
    const meta = mcMock.commandCalls(CreateJobCommand)[0]?.args[0].input.UserMetadata;
    expect(meta).toEqual({
      execution: i.execution.name,
      assetId: i.asset.assetId,
      profile: profile.name,
      source: expect.stringMatching(/^incoming\/show\/ep 1 _ e_*\.mp4$/),
    });
  });

  it('maps each Elastic Transcoder system preset of the profile to an H.264/AAC output', async () => {
    // Prepare
    mcMock.on(CreateJobCommand).resolves({ Job: submitted() });
    const i = input(getProfile('mobile', profiles));
    // Act
    await transcoder.submit({
      ...i,
      executionName: i.execution.name,
      playbackKey: i.keys.playback,
      keyUrl: 'https://k/a',
      userMetadata: {},
    });
    // Assess
    const outputs =
      mcMock.commandCalls(CreateJobCommand)[0]?.args[0].input.Settings?.OutputGroups?.[0]?.Outputs ?? [];
    expect(outputs.map((o) => o.NameModifier)).toEqual(['_hls-600k', '_hls-400k']);
    expect(outputs[1]?.VideoDescription).toMatchObject({
      Width: 400,
      Height: 288,
      CodecSettings: { Codec: 'H_264', H264Settings: { RateControlMode: 'CBR', Bitrate: 336_000 } },
    });
    expect(outputs[1]?.AudioDescriptions?.[0]?.CodecSettings).toMatchObject({
      Codec: 'AAC',
      AacSettings: { Bitrate: 64_000 },
    });
    const segment =
      mcMock.commandCalls(CreateJobCommand)[0]?.args[0].input.Settings?.OutputGroups?.[0]?.OutputGroupSettings
        ?.HlsGroupSettings?.SegmentLength;
    expect(segment).toBe(4);
  });

  it('decrypts an AES-CTR source with AES_CTR', async () => {
    // Prepare
    mcMock.on(CreateJobCommand).resolves({ Job: submitted() });
    const i = input();
    // Act
    await transcoder.submit({
      ...i,
      encrypted: { ...i.encrypted, mode: 'aes-ctr' },
      executionName: i.execution.name,
      playbackKey: i.keys.playback,
      keyUrl: 'https://k/a',
      userMetadata: {},
    });
    // Assess
    const decryption =
      mcMock.commandCalls(CreateJobCommand)[0]?.args[0].input.Settings?.Inputs?.[0]?.DecryptionSettings;
    expect(decryption?.DecryptionMode).toBe('AES_CTR');
  });

  it('refuses a custom preset it has no equivalent for', async () => {
    // Prepare
    const custom = { ...profile, outputs: [{ key: 'custom', presetId: '1700000000000-zzzzzz' }] };
    const i = input(custom);
    // Act
    const p = transcoder.submit({
      ...i,
      executionName: i.execution.name,
      playbackKey: i.keys.playback,
      keyUrl: 'https://k/a',
      userMetadata: {},
    });
    // Assess
    await expect(p).rejects.toThrow(ConfigurationError);
    expect(mcMock).not.toHaveReceivedCommand(CreateJobCommand);
  });
});

describe('MediaConvertAdapter.findByExecution', () => {
  it('finds the job an earlier attempt created on a later page instead of creating a second one', async () => {
    // Prepare
    const i = input();
    mcMock
      .on(SearchJobsCommand)
      .resolvesOnce({
        Jobs: [
          {
            Id: 'other-1',
            Status: 'PROGRESSING',
            Role: ROLE_ARN,
            Settings: { Inputs: [] },
            UserMetadata: { execution: 'someone-else' },
          },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        Jobs: [
          {
            Id: 'mine-1',
            Status: 'PROGRESSING',
            Role: ROLE_ARN,
            Settings: { Inputs: [] },
            UserMetadata: { execution: i.execution.name },
          },
        ],
      });
    // Act
    const { job } = await submitJob(i, { transcoder, config, s3, now });
    // Assess
    expect(job).toMatchObject({ id: 'mine-1', status: 'Progressing', backend: 'mediaconvert' });
    expect(mcMock).not.toHaveReceivedCommand(CreateJobCommand);
    expect(mcMock).toHaveReceivedCommandWith(SearchJobsCommand, {
      InputFile: `s3://${i.encrypted.bucket}/${i.encrypted.key}`,
      Order: 'DESCENDING',
      Queue: 'secure-transcode',
      NextToken: 'page-2',
    });
  });

  it('stops after the configured number of pages', async () => {
    // Prepare
    mcMock.on(SearchJobsCommand).resolves({ Jobs: [], NextToken: 'more' });
    const adapter = new MediaConvertAdapter(settings, mc, 3);
    // Act
    const found = await adapter.findByExecution('never-submitted', sampleEncrypted());
    // Assess
    expect(found).toBeUndefined();
    expect(mcMock).toHaveReceivedCommandTimes(SearchJobsCommand, 3);
  });

  it('searches the Default queue when no queue is configured, so IAM checks a queue ARN', async () => {
    // Prepare
    mcMock.on(SearchJobsCommand).resolves({ Jobs: [] });
    const adapter = new MediaConvertAdapter({ roleArn: ROLE_ARN, spekeUrl: SPEKE_URL }, mc, 1);
    // Act
    await adapter.findByExecution('never-submitted', sampleEncrypted());
    // Assess
    expect(mcMock).toHaveReceivedCommandWith(SearchJobsCommand, { Queue: 'Default' });
  });
});

describe('MediaConvertAdapter.read', () => {
  const job = (extra: Partial<McJob>): McJob => ({
    Id: '1700000000000-abc123',
    Role: ROLE_ARN,
    Settings: { Inputs: [] },
    Status: 'PROGRESSING',
    ...extra,
  });

  it.each([
    ['SUBMITTED', 'Submitted'],
    ['PROGRESSING', 'Progressing'],
    ['COMPLETE', 'Complete'],
    ['CANCELED', 'Canceled'],
    ['ERROR', 'Error'],
  ] as const)('maps status %s to %s', async (status, expected) => {
    // Prepare
    mcMock.on(GetJobCommand, { Id: '1700000000000-abc123' }).resolves({ Job: job({ Status: status }) });
    // Act
    const view = await transcoder.read('1700000000000-abc123');
    // Assess
    expect(view.status).toBe(expected);
  });

  it('carries ErrorCode and ErrorMessage into the failure PollJob throws', async () => {
    // Prepare
    mcMock.on(GetJobCommand).resolves({
      Job: job({ Status: 'ERROR', ErrorCode: 1010, ErrorMessage: 'Unable to decrypt input: bad key' }),
    });
    // Act
    const view = await transcoder.read('1700000000000-abc123');
    const p = pollJob(running(), { transcoder, config, now });
    // Assess
    expect(view).toMatchObject({
      status: 'Error',
      errorCode: '1010',
      statusDetail: 'Unable to decrypt input: bad key',
    });
    await expect(p).rejects.toThrow(TranscodeJobFailedError);
    await expect(p).rejects.toThrow(/code 1010.*Unable to decrypt input/);
  });

  it('reports the variant and master playlists with duration and frame size', async () => {
    // Prepare
    mcMock.on(GetJobCommand).resolves({
      Job: job({
        Status: 'COMPLETE',
        Settings: {
          Inputs: [],
          OutputGroups: [
            {
              OutputGroupSettings: {
                Type: 'HLS_GROUP_SETTINGS',
                HlsGroupSettings: { Destination: 's3://media-bucket/outputs/x/id/index' },
              },
              Outputs: [{ NameModifier: '_hls-600k' }, { NameModifier: '_hls-400k' }],
            },
          ],
        },
        OutputGroupDetails: [
          {
            OutputDetails: [
              { DurationInMs: 4000, VideoDetails: { WidthInPx: 480, HeightInPx: 270 } },
              { DurationInMs: 4000, VideoDetails: { WidthInPx: 400, HeightInPx: 224 } },
            ],
          },
        ],
      }),
    });
    // Act
    const view = await transcoder.read('1700000000000-abc123');
    // Assess
    expect(view.outputs).toEqual([
      expect.objectContaining({
        key: 'outputs/x/id/index_hls-600k.m3u8',
        durationMillis: 4000,
        width: 480,
        height: 270,
      }),
      expect.objectContaining({
        key: 'outputs/x/id/index_hls-400k.m3u8',
        durationMillis: 4000,
        width: 400,
        height: 224,
      }),
    ]);
    expect(view.playlists).toEqual([{ key: 'outputs/x/id/index.m3u8', format: 'HLSv3' }]);
  });
});

describe('MediaConvert error translation', () => {
  it.each([
    [
      'TooManyRequestsException',
      () => new TooManyRequestsException({ message: 'slow down', $metadata: { httpStatusCode: 429 } }),
    ],
    [
      'InternalServerErrorException',
      () => new InternalServerErrorException({ message: 'oops', $metadata: { httpStatusCode: 500 } }),
    ],
    [
      'a 503 of any name',
      () =>
        Object.assign(new Error('unavailable'), {
          name: 'ServiceUnavailable',
          $metadata: { httpStatusCode: 503 },
        }),
    ],
    ['a connection reset', () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
  ])('turns %s into the retryable TranscoderThrottledError', async (_name, error) => {
    // Prepare
    mcMock.on(GetJobCommand).rejects(error());
    // Act
    const p = pollJob(running(), { transcoder, config, now });
    // Assess
    await expect(p).rejects.toThrow(TranscoderThrottledError);
  });

  it.each([
    [
      'BadRequestException',
      () => new BadRequestException({ message: 'invalid settings', $metadata: { httpStatusCode: 400 } }),
    ],
    [
      'ForbiddenException',
      () => new ForbiddenException({ message: 'no', $metadata: { httpStatusCode: 403 } }),
    ],
    [
      'NotFoundException',
      () => new NotFoundException({ message: 'gone', $metadata: { httpStatusCode: 404 } }),
    ],
  ])('turns %s into the permanent TranscoderRequestError', async (_name, error) => {
    // Prepare
    mcMock.on(SearchJobsCommand).resolves({ Jobs: [] });
    mcMock.on(CreateJobCommand).rejects(error());
    // Act
    const p = submitJob(input(), { transcoder, config, s3, now });
    // Assess
    await expect(p).rejects.toThrow(TranscoderRequestError);
  });
});

describe('MediaConvertAdapter.cancel', () => {
  it('cancels a job that is still PROGRESSING', async () => {
    // Prepare
    mcMock
      .on(GetJobCommand)
      .resolves({ Job: { Id: 'j1', Role: ROLE_ARN, Settings: { Inputs: [] }, Status: 'PROGRESSING' } });
    mcMock.on(CancelJobCommand).resolves({});
    // Act
    const canceled = await transcoder.cancel('j1');
    // Assess
    expect(canceled).toBe(true);
    expect(mcMock).toHaveReceivedCommandWith(CancelJobCommand, { Id: 'j1' });
  });

  it('leaves a finished job alone', async () => {
    // Prepare
    mcMock
      .on(GetJobCommand)
      .resolves({ Job: { Id: 'j1', Role: ROLE_ARN, Settings: { Inputs: [] }, Status: 'COMPLETE' } });
    // Act
    const canceled = await transcoder.cancel('j1');
    // Assess
    expect(canceled).toBe(false);
    expect(mcMock).not.toHaveReceivedCommand(CancelJobCommand);
  });
});

describe('MediaConvert configuration', () => {
  it('fails at start-up without a SPEKE URL, explaining that a static key would expose the plaintext', () => {
    // Prepare
    const { MEDIACONVERT_SPEKE_URL: _omit, ...withoutSpeke } = mediaConvertEnv();
    // Act
    const load = () => workflowConfig(withoutSpeke);
    // Assess
    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(/MEDIACONVERT_SPEKE_URL is required.*plaintext key/);
  });

  it('refuses to build the adapter without a SPEKE URL', () => {
    // Act
    const build = () =>
      createTranscoder({ ...workflowConfig(mediaConvertEnv()), mediaConvertSpekeUrl: undefined });
    // Assess
    expect(build).toThrow(ConfigurationError);
  });

  it('requires the job role for MediaConvert', () => {
    // Prepare
    const { MEDIACONVERT_ROLE_ARN: _omit, ...withoutRole } = mediaConvertEnv();
    // Act
    const load = () => workflowConfig(withoutRole);
    // Assess
    expect(load).toThrow(/MEDIACONVERT_ROLE_ARN is required/);
  });

  it('picks the MediaConvert adapter without needing a pipeline id', () => {
    // Act
    const c = workflowConfig(mediaConvertEnv());
    const adapter = createTranscoder(c);
    // Assess
    expect(adapter).toBeInstanceOf(MediaConvertAdapter);
    expect(c.pipelineId).toBeUndefined();
    expect(c.transcoderEncryptionContext).toEqual(MEDIACONVERT_CONTEXT);
    expect(adapter.encryptionContext).toEqual(c.transcoderEncryptionContext);
  });

  it('keeps Elastic Transcoder the default, ignoring empty MediaConvert parameters', () => {
    // Act
    const c = workflowConfig(
      env({ PIPELINE_ID: '1111111111111-abcdef', MEDIACONVERT_SPEKE_URL: '', MEDIACONVERT_ROLE_ARN: '' }),
    );
    // Assess
    expect(c.transcoderBackend).toBe('elastictranscoder');
    expect(c.transcoderEncryptionContext).toEqual(ELASTIC_TRANSCODER_CONTEXT);
    expect(createTranscoder(c)).toBeInstanceOf(ElasticTranscoderAdapter);
  });

  it('has an equivalent for every HLS system preset the built-in profiles use', () => {
    // Assess
    for (const o of BUILT_IN_PROFILES.flatMap((p) => p.outputs))
      expect(PRESET_EQUIVALENTS).toHaveProperty([o.presetId]);
  });
});

describe('MediaConvert file naming', () => {
  it('names the variants the same way in the job request and the asset record', () => {
    // Prepare
    const i = input();
    // Act
    const request = transcoder.createJobRequest({
      executionName: i.execution.name,
      asset: i.asset,
      encrypted: i.encrypted,
      transcoderKey: i.transcoderKey,
      playbackKey: i.transcoderPlaybackKey,
      profile,
      keyUrl: 'https://keys.example.com/keys/a',
      userMetadata: {},
    });
    // Assess
    const group = request.Settings?.OutputGroups?.[0];
    const destination = group?.OutputGroupSettings?.HlsGroupSettings?.Destination ?? '';
    const base = destination.slice(destination.lastIndexOf('/') + 1);
    const written = (group?.Outputs ?? []).map((o) => `${base}${o.NameModifier}.m3u8`);
    expect(written).toEqual(transcoder.playlistNames(profile).variants);
  });
});

describe('MediaConvert ClientRequestToken', () => {
  const tokenFor = (executionName: string) => {
    const i = input();
    return transcoder.createJobRequest({
      executionName,
      asset: i.asset,
      encrypted: i.encrypted,
      transcoderKey: i.transcoderKey,
      playbackKey: i.transcoderPlaybackKey,
      profile,
      keyUrl: 'https://keys.example.com/keys/a',
      userMetadata: {},
    }).ClientRequestToken;
  };

  it('sends the same token for a retry of the same submission and a new one for a resubmission', () => {
    // Act
    const first = tokenFor('exec-1');
    const retry = tokenFor('exec-1');
    const resubmission = tokenFor('exec-1.r1');
    // Assess
    expect(first).toBe(retry);
    expect(resubmission).not.toBe(first);
    expect(first).toMatch(/^[\x21-\x7e]{1,64}$/);
  });
});
