/**
 * Elastic Transcoder adapter (API 2012-09-25). Works against any endpoint speaking the protocol: the embedded stack's
 * ffmpeg-backed server, or AWS for accounts that still had the service. Facts from the Elastic Transcoder API reference and developer guide.
 */
import {
  CancelJobCommand,
  CreateJobCommand,
  type ElasticTranscoderClient,
  type Job as EtJob,
  ListJobsByPipelineCommand,
  ReadJobCommand,
} from '@aws-sdk/client-elastic-transcoder';
import { elasticTranscoder as defaultClient, elasticTranscoderNoRetry } from '../clients.js';
import type { EncryptedObject, Job, JobOutput } from '../contracts.js';
import {
  isTransientSdkError,
  sdkErrorInfo,
  TranscoderRequestError,
  TranscoderThrottledError,
} from '../errors.js';
import { ELASTIC_TRANSCODER_CONTEXT } from '../kms/contexts.js';
import type { Profile } from '../profiles.js';
import { outputKeyOf } from './destination.js';
import { sanitizeUserMetadata } from './metadata.js';
import type { CancellableTranscoder, SubmitJobRequest } from './types.js';

const THROTTLED = new Set([
  'LimitExceededException',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'InternalServiceException',
]);

export function translateTranscoderError(e: unknown, what: string): Error {
  const { name, message } = sdkErrorInfo(e);
  const text = `Elastic Transcoder ${what} failed: ${name}${message && message !== name ? ` — ${message}` : ''}`;
  if (isTransientSdkError(e, THROTTLED)) {
    return new TranscoderThrottledError(text, { code: 'TRANSCODER_THROTTLED', cause: e });
  }
  return new TranscoderRequestError(text, {
    code: name === 'ResourceNotFoundException' ? 'TRANSCODER_NOT_FOUND' : 'TRANSCODER_REQUEST',
    cause: e,
  });
}

/** Elastic Transcoder's internal error codes: worth a resubmission, unlike the 3000- and 4000-series input errors. */
const INTERNAL_ERROR_CODES: ReadonlySet<string> = new Set(['9000', '9001', '9999']);

/** The leading numeric code of a StatusDetail such as "4018 …: Unable to decrypt the ciphered key". */
export function errorCodeOf(detail: string | undefined): string | undefined {
  return detail?.match(/^\s*(\d{4})\b/)?.[1];
}

export function toJobView(job: EtJob): Job {
  const prefix = job.OutputKeyPrefix ?? '';
  const outputs: JobOutput[] = (job.Outputs ?? []).map((o) => ({
    // HLS outputs are variant playlists: `<prefix><Key>.m3u8` with segments `<prefix><Key>00000.ts`.
    key: `${prefix}${o.Key ?? ''}${o.SegmentDuration ? '.m3u8' : ''}`,
    presetId: o.PresetId ?? '',
    ...(o.Status ? { status: o.Status } : {}),
    ...(o.StatusDetail ? { statusDetail: o.StatusDetail } : {}),
    durationMillis: o.DurationMillis ?? (o.Duration !== undefined ? o.Duration * 1000 : null),
    width: o.Width ?? null,
    height: o.Height ?? null,
    fileSize: o.FileSize ?? null,
  }));
  const failed = (job.Outputs ?? []).find((o) => o.Status === 'Error' && o.StatusDetail);
  const statusDetail =
    failed?.StatusDetail ?? (job.Playlists ?? []).find((p) => p.StatusDetail)?.StatusDetail;
  const errorCode = errorCodeOf(statusDetail);
  return {
    backend: 'elastictranscoder',
    id: job.Id ?? '',
    status: (job.Status ?? 'Submitted') as Job['status'],
    ...(statusDetail ? { statusDetail } : {}),
    ...(errorCode ? { errorCode } : {}),
    outputs,
    sourceDurationMillis: job.Input?.DetectedProperties?.DurationMillis ?? null,
    playlists: (job.Playlists ?? []).map((p) => ({
      key: `${prefix}${p.Name ?? ''}.m3u8`,
      format: p.Format ?? 'HLSv3',
    })),
  };
}

/**
 * Both clients are explicit so that injecting one (a test, another region) cannot quietly bring SDK retries back to
 * CreateJob: Elastic Transcoder has no client token, so a retry after a lost response would create a second job.
 */
export interface ElasticTranscoderClients {
  /** ReadJob, ListJobsByPipeline, CancelJob: idempotent, SDK retries are safe. */
  client: ElasticTranscoderClient;
  /** CreateJob only; configure it with `maxAttempts: 1` (the state machine retries SubmitJob, which looks first). */
  createClient: ElasticTranscoderClient;
}

export class ElasticTranscoderAdapter implements CancellableTranscoder {
  readonly backend = 'elastictranscoder' as const;
  readonly encryptionContext = ELASTIC_TRANSCODER_CONTEXT;

  private readonly client: ElasticTranscoderClient;
  private readonly createClient: ElasticTranscoderClient;

  constructor(
    private readonly pipelineId: string,
    clients: ElasticTranscoderClients = { client: defaultClient, createClient: elasticTranscoderNoRetry },
    /** How many pages of the pipeline's newest jobs to search for an earlier submission. */
    private readonly lookupPages = 5,
  ) {
    this.client = clients.client;
    this.createClient = clients.createClient;
  }

  playlistNames(profile: Profile): { master: string; variants: string[] } {
    // Variant playlists are `<OutputKeyPrefix><Output.Key>.m3u8`, the master `<OutputKeyPrefix><Playlist.Name>.m3u8`.
    return {
      master: `${profile.masterPlaylistName}.m3u8`,
      variants: profile.outputs.map((o) => `${o.key}.m3u8`),
    };
  }

  isInternalError(errorCode: string): boolean {
    return INTERNAL_ERROR_CODES.has(errorCode);
  }

  /** CreateJob has no client token: the job is found by the execution marker in its metadata. */
  async findByExecution(executionName: string, _input?: EncryptedObject): Promise<Job | undefined> {
    const marker = sanitizeUserMetadata({ execution: executionName }).execution;
    let pageToken: string | undefined;
    for (let page = 0; page < this.lookupPages; page++) {
      const out = await this.client
        .send(
          new ListJobsByPipelineCommand({
            PipelineId: this.pipelineId,
            Ascending: 'false',
            PageToken: pageToken,
          }),
        )
        .catch((e: unknown) => {
          throw translateTranscoderError(e, 'ListJobsByPipeline');
        });
      const hit = (out.Jobs ?? []).find((j) => j.UserMetadata?.execution === marker);
      if (hit) return toJobView(hit);
      pageToken = out.NextPageToken;
      if (!pageToken) return undefined;
    }
    return undefined;
  }

  async submit(req: SubmitJobRequest): Promise<Job> {
    const { encrypted, transcoderKey, playbackKey, profile, asset } = req;
    const out = await this.createClient
      .send(
        new CreateJobCommand({
          PipelineId: this.pipelineId,
          Input: {
            Key: encrypted.key,
            Encryption: {
              Mode: encrypted.mode,
              Key: transcoderKey.wrappedKey,
              KeyMd5: transcoderKey.keyMd5,
              InitializationVector: encrypted.initializationVector,
            },
          },
          OutputKeyPrefix: outputKeyOf(asset),
          Outputs: profile.outputs.map((o) => ({
            Key: o.key,
            PresetId: o.presetId,
            SegmentDuration: String(profile.segmentDurationSeconds),
          })),
          Playlists: [
            {
              Name: profile.masterPlaylistName,
              Format: profile.playlistFormat,
              OutputKeys: profile.outputs.map((o) => o.key),
              HlsContentProtection: {
                Method: 'aes-128',
                Key: playbackKey.wrappedKey,
                KeyMd5: playbackKey.keyMd5,
                KeyStoragePolicy: 'NoStore',
                LicenseAcquisitionUrl: req.keyUrl,
              },
            },
          ],
          UserMetadata: sanitizeUserMetadata({ ...req.userMetadata, execution: req.executionName }),
        }),
      )
      .catch((e: unknown) => {
        throw translateTranscoderError(e, 'CreateJob');
      });
    if (!out.Job)
      throw new TranscoderRequestError('Elastic Transcoder CreateJob returned no job', {
        code: 'TRANSCODER_REQUEST',
      });
    return toJobView(out.Job);
  }

  async read(jobId: string): Promise<Job> {
    const out = await this.client.send(new ReadJobCommand({ Id: jobId })).catch((e: unknown) => {
      throw translateTranscoderError(e, 'ReadJob');
    });
    if (!out.Job)
      throw new TranscoderRequestError(`Elastic Transcoder ReadJob returned no job for ${jobId}`, {
        code: 'TRANSCODER_REQUEST',
      });
    return toJobView(out.Job);
  }

  async cancel(jobId: string): Promise<boolean> {
    try {
      await this.client.send(new CancelJobCommand({ Id: jobId }));
      return true;
    } catch {
      // ResourceInUse (already Progressing/finished) or gone: nothing more to do.
      return false;
    }
  }
}
