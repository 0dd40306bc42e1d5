import {
  CreateJobCommand,
  ElasticTranscoderClient,
  ListJobsByPipelineCommand,
  ReadJobCommand,
  ValidationException,
} from '@aws-sdk/client-elastic-transcoder';
import {
  CreateJobCommand as McCreateJobCommand,
  MediaConvertClient,
  SearchJobsCommand,
} from '@aws-sdk/client-mediaconvert';
import { DeleteObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  TranscodeJobFailedError,
  TranscoderInternalError,
  TranscoderRequestError,
  TranscoderThrottledError,
} from '../../../lib/errors.js';
import { keyMd5 } from '../../../lib/kms/keys.js';
import { BUILT_IN_PROFILES } from '../../../lib/profiles.js';
import { ElasticTranscoderAdapter } from '../../../lib/transcoder/elastic-transcoder.js';
import { MediaConvertAdapter } from '../../../lib/transcoder/mediaconvert.js';
import { pollJob } from '../../../lib/workflow/poll-job.js';
import { submitJob } from '../../../lib/workflow/submit-job.js';
import {
  mediaConvertSettings,
  mediaConvertSubmitInput,
  submittedMediaConvertJob,
} from '../../support/mediaconvert.js';
import {
  sampleAsset,
  sampleExecution,
  sampleSubmitInput,
  sampleTranscodeConfig,
  sampleTranscoderPlaybackKey,
} from '../../support/state.js';

const etMock = mockClient(ElasticTranscoderClient);
const mcMock = mockClient(MediaConvertClient);
const mc = new MediaConvertClient({ region: 'us-east-1' });
const s3Mock = mockClient(S3Client);
const et = new ElasticTranscoderClient({ region: 'us-east-1' });
const s3 = new S3Client({ region: 'us-east-1' });
const transcoder = new ElasticTranscoderAdapter('1111111111111-abcdef', { client: et, createClient: et });
const config = sampleTranscodeConfig();
const [profile] = BUILT_IN_PROFILES;
if (!profile) throw new Error('no built-in profile');
const input = () => sampleSubmitInput(profile);

beforeEach(() => {
  etMock.reset();
  s3Mock.reset();
  s3Mock.on(PutObjectCommand).resolves({});
});

describe('submitJob', () => {
  it('creates the job with the encrypted input, a separate playback key and the key-service URL', async () => {
    // Prepare
    etMock.on(ListJobsByPipelineCommand).resolves({ Jobs: [] });
    etMock.on(CreateJobCommand).resolves({ Job: { Id: '1700000000000-abcdef', Status: 'Submitted' } });
    const i = input();
    // Act
    const { job, poll } = await submitJob(i, {
      transcoder,
      config,
      s3,
      now: () => new Date('2026-01-01T00:00:00Z'),
    });
    // Assess
    expect(job).toMatchObject({
      id: '1700000000000-abcdef',
      status: 'Submitted',
      backend: 'elastictranscoder',
    });
    expect(poll).toEqual({ attempt: 0, waitSeconds: 5, deadline: '2026-01-01T01:00:00.000Z' });
    const req = etMock.commandCalls(CreateJobCommand)[0]?.args[0].input;
    expect(req?.Input?.Encryption).toEqual({
      Mode: 'aes-cbc-pkcs7',
      Key: i.transcoderKey.wrappedKey,
      KeyMd5: i.transcoderKey.keyMd5,
      InitializationVector: i.encrypted.initializationVector,
    });
    const protection = req?.Playlists?.[0]?.HlsContentProtection;
    expect(protection).toMatchObject({
      Method: 'aes-128',
      KeyStoragePolicy: 'NoStore',
      Key: i.transcoderPlaybackKey.wrappedKey,
      KeyMd5: i.transcoderPlaybackKey.keyMd5,
    });
    expect(protection?.Key).not.toBe(i.transcoderKey.wrappedKey);
    expect(protection?.LicenseAcquisitionUrl).toBe(`https://keys.example.com/keys/${i.asset.assetId}`);
    expect(req?.OutputKeyPrefix).toBe(i.asset.outputKeyPrefix);
    expect(req?.Outputs?.map((o) => o.PresetId)).toEqual(profile.outputs.map((o) => o.presetId));
    expect(Object.values(req?.UserMetadata ?? {}).every((v) => /^[A-Za-z0-9 _.:/=+\-@]*$/.test(v))).toBe(
      true,
    );
    expect(req?.UserMetadata?.execution).toBe(i.execution.name);
  });

  it('writes the asset record with the key service and SPEKE copies of the playback key only, before creating the job', async () => {
    // Prepare
    etMock.on(ListJobsByPipelineCommand).resolves({ Jobs: [] });
    etMock.on(CreateJobCommand).resolves({ Job: { Id: '1700000000000-abcdef', Status: 'Submitted' } });
    const i = input();
    // Act
    await submitJob(i, { transcoder, config, s3 });
    // Assess
    const put = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put?.Key).toBe(i.asset.assetRecordKey);
    const record = JSON.parse(String(put?.Body));
    expect(record.playbackKey).toEqual({
      wrappedKey: i.keys.playback.wrappedKey,
      kmsKeyId: i.keys.playback.kmsKeyId,
      encryptionContext: { service: 'key-service.secure-transcode', assetId: i.asset.assetId },
    });
    expect(record.spekeKey).toEqual({
      wrappedKey: i.keys.speke.wrappedKey,
      kmsKeyId: i.keys.speke.kmsKeyId,
      encryptionContext: { service: 'speke-key-provider.secure-transcode', assetId: i.asset.assetId },
    });
    expect(record).not.toHaveProperty('keyMd5');
    expect(JSON.stringify(record)).not.toContain(i.keys.source.wrappedKey);
    // No transcoder copy reaches the record, neither the source key's nor the playback key's.
    expect(JSON.stringify(record)).not.toContain(i.transcoderKey.wrappedKey);
    expect(JSON.stringify(record)).not.toContain(i.transcoderPlaybackKey.wrappedKey);
    expect(JSON.stringify(record)).not.toContain('elastictranscoder.amazonaws.com');
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(1);
    expect(etMock).toHaveReceivedCommand(CreateJobCommand);
  });

  it('hands the transcoder the playback key WrapKey re-wrapped for its KMS key', async () => {
    // Prepare
    etMock.on(ListJobsByPipelineCommand).resolves({ Jobs: [] });
    etMock.on(CreateJobCommand).resolves({ Job: { Id: '1700000000000-abcdef', Status: 'Submitted' } });
    const rewrapped = Buffer.from('kms-blob:playback-under-transcoder-key').toString('base64');
    const i = {
      ...input(),
      transcoderPlaybackKey: {
        ...sampleTranscoderPlaybackKey(),
        wrappedKey: rewrapped,
        keyMd5: keyMd5(rewrapped),
        kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/99999999-2222-3333-4444-555555555555',
        reEncrypted: true,
      },
    };
    // Act
    await submitJob(i, { transcoder, config, s3 });
    // Assess
    const protection =
      etMock.commandCalls(CreateJobCommand)[0]?.args[0].input.Playlists?.[0]?.HlsContentProtection;
    expect(protection).toMatchObject({ Key: rewrapped, KeyMd5: keyMd5(rewrapped) });
    expect(JSON.stringify(etMock.commandCalls(CreateJobCommand)[0]?.args[0].input)).not.toContain(
      i.keys.playback.wrappedKey,
    );
  });

  it('refuses to write an asset record whose playback key is under the transcoder context', async () => {
    // Prepare
    etMock.on(ListJobsByPipelineCommand).resolves({ Jobs: [] });
    const i = input();
    const keys = { ...i.keys, playback: { ...i.keys.source } };
    // Act
    const p = submitJob({ ...i, keys }, { transcoder, config, s3 });
    // Assess
    await expect(p).rejects.toThrow(/key-service context/);
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
    expect(etMock).not.toHaveReceivedCommand(CreateJobCommand);
  });

  it('refuses to write an asset record whose playback key is bound to another asset', async () => {
    // Prepare
    etMock.on(ListJobsByPipelineCommand).resolves({ Jobs: [] });
    const i = input();
    const keys = {
      ...i.keys,
      playback: {
        ...i.keys.playback,
        encryptionContext: { service: 'key-service.secure-transcode', assetId: 'b0123456789abcdef012345' },
      },
    };
    // Act
    const p = submitJob({ ...i, keys }, { transcoder, config, s3 });
    // Assess
    await expect(p).rejects.toThrow(/key-service context/);
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('refuses to write an asset record whose SPEKE copy is not in the SPEKE key provider context', async () => {
    // Prepare
    etMock.on(ListJobsByPipelineCommand).resolves({ Jobs: [] });
    const i = input();
    const keys = { ...i.keys, speke: { ...i.keys.playback } };
    // Act
    const p = submitJob({ ...i, keys }, { transcoder, config, s3 });
    // Assess
    await expect(p).rejects.toThrow(/SPEKE key provider context/);
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('finds the job an earlier attempt created instead of creating a second one', async () => {
    // Prepare
    const i = input();
    etMock.on(ListJobsByPipelineCommand).resolves({
      Jobs: [
        { Id: '1700000000000-other1', Status: 'Progressing', UserMetadata: { execution: 'someone-else' } },
        { Id: '1700000000000-mine01', Status: 'Progressing', UserMetadata: { execution: i.execution.name } },
      ],
    });
    // Act
    const { job } = await submitJob(i, { transcoder, config, s3 });
    // Assess
    expect(job.id).toBe('1700000000000-mine01');
    expect(etMock).not.toHaveReceivedCommand(CreateJobCommand);
  });

  it('translates a 429 into the retryable TranscoderThrottledError', async () => {
    // Prepare
    etMock.on(ListJobsByPipelineCommand).resolves({ Jobs: [] });
    etMock.on(CreateJobCommand).rejects(
      Object.assign(new Error('slow down'), {
        name: 'LimitExceededException',
        $metadata: { httpStatusCode: 429 },
      }),
    );
    // Act
    const p = submitJob(input(), { transcoder, config, s3 });
    // Assess
    await expect(p).rejects.toThrow(TranscoderThrottledError);
  });

  it('translates ValidationException into the permanent TranscoderRequestError', async () => {
    // Prepare
    etMock.on(ListJobsByPipelineCommand).resolves({ Jobs: [] });
    etMock
      .on(CreateJobCommand)
      .rejects(new ValidationException({ message: 'bad iv', $metadata: { httpStatusCode: 400 } }));
    // Act
    const p = submitJob(input(), { transcoder, config, s3 });
    // Assess
    await expect(p).rejects.toThrow(TranscoderRequestError);
  });
});

describe('resubmission after an internal transcoder error', () => {
  const failed = {
    backend: 'elastictranscoder' as const,
    id: '1700000000000-failed',
    status: 'Progressing' as const,
    outputs: [],
    playlists: [],
  };
  const caught = { Error: 'TranscoderInternalError', Cause: 'internal error 9000' };

  it('clears the failed attempt’s outputs and submits under a new marker, keeping the original deadline', async () => {
    // Prepare
    etMock.on(ListJobsByPipelineCommand).resolves({ Jobs: [] });
    etMock.on(CreateJobCommand).resolves({ Job: { Id: '1700000000000-again1', Status: 'Submitted' } });
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: `${sampleAsset().outputKeyPrefix}hls-400k00000.ts` }],
      IsTruncated: false,
    });
    s3Mock.on(DeleteObjectsCommand).resolves({});
    const deadline = '2026-01-01T05:00:00.000Z';
    // Act
    const out = await submitJob(
      {
        ...input(),
        job: failed,
        submitAttempt: 0,
        transcoderError: caught,
        poll: { attempt: 4, waitSeconds: 40, deadline },
      },
      { transcoder, config, s3 },
    );
    // Assess
    expect(out).toMatchObject({
      submitAttempt: 1,
      job: { id: '1700000000000-again1' },
      poll: { attempt: 0, deadline },
    });
    expect(s3Mock).toHaveReceivedCommandWith(DeleteObjectsCommand, {
      Delete: { Objects: [{ Key: `${sampleAsset().outputKeyPrefix}hls-400k00000.ts` }], Quiet: true },
    });
    expect(etMock.commandCalls(CreateJobCommand)[0]?.args[0].input.UserMetadata?.execution).toBe(
      `${sampleExecution().name}.r1`,
    );
  });

  it('gives up with TranscodeJobFailedError once the resubmissions are spent', async () => {
    // Act
    const p = submitJob(
      { ...input(), job: failed, submitAttempt: 2, transcoderError: caught },
      { transcoder, config, s3 },
    );
    // Assess
    await expect(p).rejects.toThrow(TranscodeJobFailedError);
    expect(etMock).not.toHaveReceivedCommand(CreateJobCommand);
  });

  it('turns a 9000 job error into TranscoderInternalError, and a 4000 into TranscodeJobFailedError', async () => {
    // Prepare
    const running = {
      job: { ...failed, id: '1700000000000-abcdef' },
      poll: { attempt: 0, waitSeconds: 5, deadline: '2999-01-01T00:00:00.000Z' },
    };
    etMock
      .on(ReadJobCommand)
      .resolvesOnce({
        Job: {
          Id: '1700000000000-abcdef',
          Status: 'Error',
          Outputs: [
            { Key: 'a', Status: 'Error', StatusDetail: '9000 1700000000000-abcdef: KMS is unavailable' },
          ],
        },
      })
      .resolvesOnce({
        Job: {
          Id: '1700000000000-abcdef',
          Status: 'Error',
          Outputs: [
            { Key: 'a', Status: 'Error', StatusDetail: '4000 1700000000000-abcdef: unsupported input' },
          ],
        },
      });
    // Act
    const internal = pollJob(running, { transcoder, config });
    await expect(internal).rejects.toThrow(TranscoderInternalError);
    const input4000 = pollJob(running, { transcoder, config });
    // Assess
    await expect(input4000).rejects.toThrow(TranscodeJobFailedError);
  });
});

describe('submitJob with MediaConvert', () => {
  const transcoder = new MediaConvertAdapter(mediaConvertSettings, mc);
  const input = mediaConvertSubmitInput;
  const submitted = submittedMediaConvertJob;
  const now = () => new Date('2026-01-01T00:10:00Z');

  beforeEach(() => {
    mcMock.reset();
  });

  it('lists the variant playlists under the names MediaConvert writes in the asset record', async () => {
    // Prepare
    mcMock.on(SearchJobsCommand).resolves({ Jobs: [] });
    mcMock.on(McCreateJobCommand).resolves({ Job: submitted() });
    // Act
    await submitJob(input(), { transcoder, config, s3, now });
    // Assess
    const body = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input.Body;
    const record = JSON.parse(String(body)) as { masterPlaylist: string; playlists: string[] };
    expect(record.masterPlaylist).toBe('index.m3u8');
    expect(record.playlists).toEqual(['index_hls-2000k.m3u8', 'index_hls-1000k.m3u8', 'index_hls-400k.m3u8']);
  });
});
