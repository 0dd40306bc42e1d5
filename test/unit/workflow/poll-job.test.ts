import { ElasticTranscoderClient, ReadJobCommand } from '@aws-sdk/client-elastic-transcoder';
import { GetJobCommand, type Job as McJob, MediaConvertClient } from '@aws-sdk/client-mediaconvert';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  PollDeadlineExceededError,
  TranscodeJobCanceledError,
  TranscodeJobFailedError,
  TranscoderInternalError,
  TranscoderThrottledError,
} from '../../../lib/errors.js';
import { ElasticTranscoderAdapter } from '../../../lib/transcoder/elastic-transcoder.js';
import { MediaConvertAdapter } from '../../../lib/transcoder/mediaconvert.js';
import { nextWait, pollJob } from '../../../lib/workflow/poll-job.js';
import { mediaConvertSettings, ROLE_ARN } from '../../support/mediaconvert.js';
import { sampleRunningJob, sampleTranscodeConfig } from '../../support/state.js';

const etMock = mockClient(ElasticTranscoderClient);
const s3Mock = mockClient(S3Client);
const mcMock = mockClient(MediaConvertClient);
const mc = new MediaConvertClient({ region: 'us-east-1' });
const et = new ElasticTranscoderClient({ region: 'us-east-1' });
const transcoder = new ElasticTranscoderAdapter('1111111111111-abcdef', { client: et, createClient: et });
const config = sampleTranscodeConfig();

beforeEach(() => {
  etMock.reset();
  s3Mock.reset();
  s3Mock.on(PutObjectCommand).resolves({});
});

describe('pollJob', () => {
  const running = () => sampleRunningJob('elastictranscoder', '1700000000000-abcdef');
  const now = () => new Date('2026-01-01T00:10:00Z');

  it('returns Complete with output details', async () => {
    // Prepare
    etMock.on(ReadJobCommand).resolves({
      Job: {
        Id: '1700000000000-abcdef',
        Status: 'Complete',
        OutputKeyPrefix: 'outputs/x/',
        Outputs: [
          {
            Key: 'hls-400k',
            PresetId: '1351620000001-200050',
            SegmentDuration: '6',
            Status: 'Complete',
            DurationMillis: 4000,
            Width: 400,
            Height: 224,
            FileSize: 1234,
          },
        ],
        Playlists: [{ Name: 'index', Format: 'HLSv3' }],
      },
    });
    // Act
    const { job } = await pollJob(running(), { transcoder, config, now });
    // Assess
    expect(job.status).toBe('Complete');
    expect(job.outputs[0]).toMatchObject({
      key: 'outputs/x/hls-400k.m3u8',
      width: 400,
      durationMillis: 4000,
    });
    expect(job.playlists).toEqual([{ key: 'outputs/x/index.m3u8', format: 'HLSv3' }]);
  });

  it('backs off with jitter up to the cap while the job runs', async () => {
    // Prepare
    etMock.on(ReadJobCommand).resolves({ Job: { Id: '1700000000000-abcdef', Status: 'Progressing' } });
    // Act
    const { poll } = await pollJob(running(), { transcoder, config, now, random: () => 1 });
    // Assess
    expect(poll).toEqual({ attempt: 1, waitSeconds: 10, deadline: '2026-01-01T01:00:00.000Z' });
    expect(nextWait(20, 5, 60, () => 1)).toBe(60);
    expect(nextWait(3, 5, 60, () => 0)).toBe(20);
  });

  it('throws TranscodeJobFailedError carrying the service error code', async () => {
    // Prepare
    etMock.on(ReadJobCommand).resolves({
      Job: {
        Id: '1700000000000-abcdef',
        Status: 'Error',
        Outputs: [
          {
            Key: 'a',
            Status: 'Error',
            StatusDetail: '4018 1700000000000-abcdef: Unable to decrypt the ciphered key',
          },
        ],
      },
    });
    // Act
    const p = pollJob(running(), { transcoder, config, now });
    // Assess
    await expect(p).rejects.toThrow(TranscodeJobFailedError);
    await expect(p).rejects.toThrow(/code 4018/);
  });

  it('throws TranscodeJobCanceledError for Canceled', async () => {
    // Prepare
    etMock.on(ReadJobCommand).resolves({ Job: { Id: '1700000000000-abcdef', Status: 'Canceled' } });
    // Act
    const p = pollJob(running(), { transcoder, config, now });
    // Assess
    await expect(p).rejects.toThrow(TranscodeJobCanceledError);
  });

  it('throws PollDeadlineExceededError instead of polling forever', async () => {
    // Prepare
    etMock.on(ReadJobCommand).resolves({ Job: { Id: '1700000000000-abcdef', Status: 'Progressing' } });
    // Act
    const p = pollJob(running(), { transcoder, config, now: () => new Date('2026-01-01T02:00:00Z') });
    // Assess
    await expect(p).rejects.toThrow(PollDeadlineExceededError);
  });

  it('treats a reset connection the SDK wraps as a plain Error as transient', async () => {
    // Prepare
    etMock
      .on(ReadJobCommand)
      .rejects(
        Object.assign(new Error('AWS SDK error wrapper for TimeoutError: socket hang up'), { $metadata: {} }),
      );
    // Act
    const p = pollJob(running(), { transcoder, config, now });
    // Assess
    await expect(p).rejects.toThrow(TranscoderThrottledError);
  });

  it('retries throttled ReadJob calls through the state machine (TranscoderThrottledError)', async () => {
    // Prepare
    etMock.on(ReadJobCommand).rejects(
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 429 },
      }),
    );
    const spy = jest.fn();
    // Act
    const p = pollJob(running(), { transcoder, config, now }).catch((e: Error) => {
      spy(e.name);
      throw e;
    });
    // Assess
    await expect(p).rejects.toThrow(TranscoderThrottledError);
    expect(spy).toHaveBeenCalledWith('TranscoderThrottledError');
  });
});

describe('pollJob on MediaConvert job error codes', () => {
  const transcoder = new MediaConvertAdapter(mediaConvertSettings, mc);
  const running = () => sampleRunningJob('mediaconvert', '1700000000000-abc123');
  const now = () => new Date('2026-01-01T00:10:00Z');

  beforeEach(() => {
    mcMock.reset();
  });

  const failed = (code: number, message: string): McJob => ({
    Id: '1700000000000-abc123',
    Role: ROLE_ARN,
    Settings: { Inputs: [] },
    Status: 'ERROR',
    ErrorCode: code,
    ErrorMessage: message,
  });

  it.each([
    [1999, 'Unknown error'],
    [1550, 'Acceleration fault'],
  ])('resubmits after internal error %i', async (code, message) => {
    // Prepare
    mcMock.on(GetJobCommand).resolves({ Job: failed(code, message) });
    // Act
    const p = pollJob(running(), { transcoder, config, now });
    // Assess
    await expect(p).rejects.toThrow(TranscoderInternalError);
  });

  it.each([
    [1091, 'Unable to call SPEKE', /execute-api:Invoke/],
    [1401, 'Access denied', /lacks a permission/],
    [1404, 'Unable to open input file', /not found/],
    [1432, 'Unable to assume role', /trust policy/],
    [1434, 'Role not found', /cannot be passed/],
    [1021, 'No audio', /no audio track/],
  ])('fails the asset on permanent error %i and says what to fix', async (code, message, hint) => {
    // Prepare
    mcMock.on(GetJobCommand).resolves({ Job: failed(code, message) });
    // Act
    const p = pollJob(running(), { transcoder, config, now });
    // Assess
    await expect(p).rejects.toThrow(TranscodeJobFailedError);
    await expect(p).rejects.toThrow(hint);
    await expect(p).rejects.toThrow(`code ${code}`);
  });

  it('does not treat Elastic Transcoder codes as MediaConvert internal errors', async () => {
    // Prepare
    mcMock.on(GetJobCommand).resolves({ Job: failed(9000, 'not a MediaConvert code') });
    // Act
    const p = pollJob(running(), { transcoder, config, now });
    // Assess
    await expect(p).rejects.toThrow(TranscodeJobFailedError);
  });
});
