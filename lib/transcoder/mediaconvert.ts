/**
 * AWS Elemental MediaConvert adapter (API 2017-08-29), the live replacement for Elastic Transcoder. Same contract as
 * the Elastic Transcoder adapter, with the differences the workflow sees:
 * - the source key must be wrapped under MediaConvert's encryption context (WrapKey targets
 *   `transcoderEncryptionContext('mediaconvert')`), and there is no KeyMd5 field;
 * - HLS AES-128 keys come from a SPEKE key server: our own SPEKE key provider (functions/speke-key-provider), which
 *   answers with the asset's playback key, the key the key service gives players. A StaticKeyProvider would put the
 *   plaintext key into the job spec, so it is never used;
 * - variant playlists are named `<master><NameModifier>.m3u8` (`index_hls-2000k.m3u8`), not `<output key>.m3u8`;
 * - a job is found again by its input file (SearchJobs) and CreateJob carries a ClientRequestToken.
 */
import { createHash } from 'node:crypto';
import {
  CancelJobCommand,
  CreateJobCommand,
  type CreateJobRequest,
  GetJobCommand,
  type Job as McJob,
  type MediaConvertClient,
  type Output,
  type OutputGroup,
  SearchJobsCommand,
} from '@aws-sdk/client-mediaconvert';
import { mediaConvert as defaultClient } from '../clients.js';
import { requireMediaConvertSettings } from '../config/transcoder.js';
import type { EncryptedObject, EncryptionMode, Job, JobOutput } from '../contracts.js';
import {
  ConfigurationError,
  isTransientSdkError,
  sdkErrorInfo,
  TranscoderRequestError,
  TranscoderThrottledError,
} from '../errors.js';
import { MEDIACONVERT_CONTEXT } from '../kms/contexts.js';
import type { Profile } from '../profiles.js';
import { outputKeyOf } from './destination.js';
import { sanitizeUserMetadata } from './metadata.js';
import type { CancellableTranscoder, SubmitJobRequest } from './types.js';

/** The SPEKE "clear key" system id: what HLS AES-128 asks the key server for (SPEKE specification). */
export const CLEAR_KEY_AES_128_SYSTEM_ID = '81376844-f976-481e-a84e-cc25d39b0b33';

const THROTTLED = new Set(['TooManyRequestsException', 'InternalServerErrorException']);

/** Job error codes that are MediaConvert's own fault (unknown error, acceleration fault): worth a resubmission. */
const INTERNAL_ERROR_CODES: ReadonlySet<string> = new Set(['1999', '1550']);

/**
 * What the permanent job error codes mean for this workflow, appended to the job's message so the failure
 * notification says what to fix (MediaConvert's messages name the symptom, not our setting).
 */
export const JOB_ERROR_HINTS: Readonly<Record<string, string>> = Object.freeze({
  '1021': 'the source has no audio track but the profile asks for audio renditions; use a video-only profile',
  '1091': 'the job role cannot invoke the SPEKE key provider API (execute-api:Invoke on its route)',
  '1401':
    'the job role lacks a permission (S3 read of the encrypted source, S3 write of outputs or kms:Decrypt)',
  '1404': 'the encrypted source object was not found',
  '1432': 'the job role cannot be assumed by MediaConvert (trust policy)',
  '1433': 'the job role cannot be assumed by MediaConvert (trust policy)',
  '1434': 'the job role does not exist or cannot be passed',
});

/** The S3 URL MediaConvert reads: also what SearchJobs filters on. */
export function inputFileOf(encrypted: Pick<EncryptedObject, 'bucket' | 'key'>): string {
  return `s3://${encrypted.bucket}/${encrypted.key}`;
}

/** `<master><NameModifier>`: the base name of one output of the HLS group (no extension). */
function variantBase(profile: Profile, output: Profile['outputs'][number]): string {
  return `${profile.masterPlaylistName}${nameModifier(output)}`;
}

function nameModifier(output: Profile['outputs'][number]): string {
  return `_${output.key}`;
}

export function translateMediaConvertError(e: unknown, what: string): Error {
  const { name, message } = sdkErrorInfo(e);
  const text = `MediaConvert ${what} failed: ${name}${message && message !== name ? ` — ${message}` : ''}`;
  if (isTransientSdkError(e, THROTTLED)) {
    return new TranscoderThrottledError(text, { code: 'TRANSCODER_THROTTLED', cause: e });
  }
  // BadRequest, NotFound, Forbidden, Conflict, UnprocessableEntity, ServiceQuotaExceeded: retrying cannot help.
  return new TranscoderRequestError(text, {
    code: name === 'NotFoundException' ? 'TRANSCODER_NOT_FOUND' : 'TRANSCODER_REQUEST',
    cause: e,
  });
}

// ---- Elastic Transcoder system presets → H.264/AAC settings --------------------------------------------------------

export interface RenditionSettings {
  /** Bounding box; the picture is scaled to fit it without upscaling, as the system presets' "max" sizes did. */
  video?: { width: number; height: number; bitrate: number };
  audio?: { bitrate: number };
}

const VIDEO = {
  '2M': { width: 1024, height: 768, bitrate: 1_872_000 },
  '1.5M': { width: 960, height: 640, bitrate: 1_372_000 },
  '1M': { width: 640, height: 432, bitrate: 872_000 },
  '600k': { width: 480, height: 320, bitrate: 536_000 },
  '400k': { width: 400, height: 288, bitrate: 336_000 },
} as const;

/**
 * The Elastic Transcoder HLS system presets (lib/profiles.ts) mapped to equivalent inline MediaConvert settings
 * (maximum frame size and bitrates of each preset). `-2000x5` are the video-only variants; `-200060/71` audio-only.
 */
/** Every AAC rendition is asked for at 48 kHz, MediaConvert's usual rate. */
export const AAC_SAMPLE_RATE = 48_000;

export const PRESET_EQUIVALENTS: Readonly<Record<string, RenditionSettings>> = Object.freeze({
  '1351620000001-200010': { video: VIDEO['2M'], audio: { bitrate: 128_000 } },
  '1351620000001-200015': { video: VIDEO['2M'] },
  '1351620000001-200020': { video: VIDEO['1.5M'], audio: { bitrate: 128_000 } },
  '1351620000001-200025': { video: VIDEO['1.5M'] },
  '1351620000001-200030': { video: VIDEO['1M'], audio: { bitrate: 128_000 } },
  '1351620000001-200035': { video: VIDEO['1M'] },
  '1351620000001-200040': { video: VIDEO['600k'], audio: { bitrate: 64_000 } },
  '1351620000001-200045': { video: VIDEO['600k'] },
  '1351620000001-200050': { video: VIDEO['400k'], audio: { bitrate: 64_000 } },
  '1351620000001-200055': { video: VIDEO['400k'] },
  '1351620000001-200060': { audio: { bitrate: 160_000 } },
  '1351620000001-200071': { audio: { bitrate: 64_000 } },
});

function toOutput(o: Profile['outputs'][number]): Output {
  const r = PRESET_EQUIVALENTS[o.presetId];
  if (!r) {
    throw new ConfigurationError(
      `Preset ${o.presetId} (output "${o.key}") has no MediaConvert equivalent; use one of ${Object.keys(PRESET_EQUIVALENTS).join(', ')}`,
      { code: 'UNMAPPED_PRESET' },
    );
  }
  return {
    // Variant playlists are `<master><NameModifier>.m3u8`, e.g. `index_hls-400k.m3u8`.
    NameModifier: nameModifier(o),
    ContainerSettings: { Container: 'M3U8' },
    // An audio-only preset was a variant of its own in Elastic Transcoder, not an alternate rendition.
    ...(r.video ? {} : { OutputSettings: { HlsSettings: { AudioTrackType: 'AUDIO_ONLY_VARIANT_STREAM' } } }),
    ...(r.video
      ? {
          VideoDescription: {
            Width: r.video.width,
            Height: r.video.height,
            ScalingBehavior: 'FIT_NO_UPSCALE',
            CodecSettings: {
              Codec: 'H_264',
              H264Settings: {
                RateControlMode: 'CBR',
                Bitrate: r.video.bitrate,
                CodecProfile: 'MAIN',
                CodecLevel: 'AUTO',
              },
            },
          },
        }
      : {}),
    ...(r.audio
      ? {
          AudioDescriptions: [
            {
              AudioSourceName: 'Audio Selector 1',
              CodecSettings: {
                Codec: 'AAC',
                AacSettings: {
                  Bitrate: r.audio.bitrate,
                  CodingMode: 'CODING_MODE_2_0',
                  SampleRate: AAC_SAMPLE_RATE,
                },
              },
            },
          ],
        }
      : {}),
  };
}

const DECRYPTION_MODE = { 'aes-cbc-pkcs7': 'AES_CBC', 'aes-ctr': 'AES_CTR' } as const satisfies Record<
  EncryptionMode,
  string
>;

// ---- job view ------------------------------------------------------------------------------------------------------

const STATUS: Record<string, Job['status']> = {
  SUBMITTED: 'Submitted',
  PROGRESSING: 'Progressing',
  COMPLETE: 'Complete',
  CANCELED: 'Canceled',
  ERROR: 'Error',
};

/** `s3://bucket/a/b/index` → `a/b/index`. */
function keyOf(s3Uri: string | undefined): string {
  return (s3Uri ?? '').replace(/^s3:\/\/[^/]+\//, '');
}

function hlsGroupIndex(groups: OutputGroup[]): number {
  return groups.findIndex((g) => g.OutputGroupSettings?.Type === 'HLS_GROUP_SETTINGS');
}

export function toJobView(job: McJob): Job {
  const groups = job.Settings?.OutputGroups ?? [];
  const gi = hlsGroupIndex(groups);
  const group = gi >= 0 ? groups[gi] : undefined;
  const base = keyOf(group?.OutputGroupSettings?.HlsGroupSettings?.Destination);
  const details = gi >= 0 ? (job.OutputGroupDetails?.[gi]?.OutputDetails ?? []) : [];
  const outputs: JobOutput[] = (group?.Outputs ?? []).map((o, i) => ({
    key: `${base}${o.NameModifier ?? ''}.m3u8`,
    // Outputs carry inline settings mapped from the profile's Elastic Transcoder preset: there is no preset id.
    presetId: o.Preset ?? '',
    durationMillis: details[i]?.DurationInMs ?? null,
    width: details[i]?.VideoDetails?.WidthInPx ?? null,
    height: details[i]?.VideoDetails?.HeightInPx ?? null,
    fileSize: null,
  }));
  const errorCode = job.ErrorCode !== undefined && job.ErrorCode !== null ? String(job.ErrorCode) : undefined;
  const hint = errorCode ? JOB_ERROR_HINTS[errorCode] : undefined;
  const statusDetail =
    [job.ErrorMessage, hint ? `(${hint})` : undefined].filter(Boolean).join(' ') || undefined;
  return {
    backend: 'mediaconvert',
    id: job.Id ?? '',
    status: STATUS[job.Status ?? 'SUBMITTED'] ?? 'Submitted',
    ...(statusDetail ? { statusDetail } : {}),
    ...(errorCode ? { errorCode } : {}),
    outputs,
    playlists: group ? [{ key: `${base}.m3u8`, format: 'HLSv3' }] : [],
  };
}

// ---- adapter -------------------------------------------------------------------------------------------------------

export interface MediaConvertSettings {
  roleArn: string | undefined;
  queueArn?: string | undefined;
  spekeUrl: string | undefined;
  spekeCertificateArn?: string | undefined;
}

export class MediaConvertAdapter implements CancellableTranscoder {
  readonly backend = 'mediaconvert' as const;
  readonly encryptionContext = MEDIACONVERT_CONTEXT;
  private readonly roleArn: string;
  private readonly spekeUrl: string;

  constructor(
    private readonly settings: MediaConvertSettings,
    private readonly client: MediaConvertClient = defaultClient,
    /** How many SearchJobs pages (20 jobs each, newest first) to search for an earlier submission. */
    private readonly lookupPages = 5,
  ) {
    requireMediaConvertSettings(settings);
    this.roleArn = settings.roleArn as string;
    this.spekeUrl = settings.spekeUrl as string;
  }

  playlistNames(profile: Profile): { master: string; variants: string[] } {
    return {
      master: `${profile.masterPlaylistName}.m3u8`,
      variants: profile.outputs.map((o) => `${variantBase(profile, o)}.m3u8`),
    };
  }

  isInternalError(errorCode: string): boolean {
    return INTERNAL_ERROR_CODES.has(errorCode);
  }

  /**
   * SearchJobs by the encrypted input file: each asset's encrypted copy has its own key, so only this asset's jobs
   * match, however busy the account (ListJobs filters only by queue and status, 20 a page). The execution marker in
   * the metadata picks the submission among them (a resubmission has its own marker).
   */
  async findByExecution(executionName: string, input: EncryptedObject): Promise<Job | undefined> {
    const marker = sanitizeUserMetadata({ execution: executionName }).execution;
    // SearchJobs filters by queue name (the ARN's last segment), and always by one: IAM then checks the grant on
    // that queue's ARN. A CreateJob without a queue goes to the account's queue named Default.
    const queue = this.settings.queueArn?.split('/').pop() ?? 'Default';
    let nextToken: string | undefined;
    for (let page = 0; page < this.lookupPages; page++) {
      const out = await this.client
        .send(
          new SearchJobsCommand({
            InputFile: inputFileOf(input),
            Order: 'DESCENDING',
            MaxResults: 20,
            NextToken: nextToken,
            Queue: queue,
          }),
        )
        .catch((e: unknown) => {
          throw translateMediaConvertError(e, 'SearchJobs');
        });
      const hit = (out.Jobs ?? []).find((j) => j.UserMetadata?.execution === marker);
      if (hit) return toJobView(hit);
      nextToken = out.NextToken;
      if (!nextToken) return undefined;
    }
    return undefined;
  }

  /** The CreateJob request; exported for inspection so tests can assert no plaintext key can appear in it. */
  createJobRequest(req: SubmitJobRequest): CreateJobRequest {
    const { encrypted, transcoderKey, profile, asset } = req;
    // Refuses a destination that breaks the object-key rule before anything is sent.
    outputKeyOf(asset, profile.masterPlaylistName);
    return {
      Role: this.roleArn,
      ...(this.settings.queueArn ? { Queue: this.settings.queueArn } : {}),
      // MediaConvert's own idempotency: the same token within a minute returns the first job, which covers an SDK
      // retry after a lost response. Later retries are caught by findByExecution. The role is part of the token so
      // two stages sharing an account never collide; the marker makes each resubmission a new job.
      ClientRequestToken: `st-${createHash('sha256').update(`${this.roleArn}\n${asset.assetId}\n${req.executionName}`).digest('base64url').slice(0, 40)}`,
      UserMetadata: sanitizeUserMetadata({ ...req.userMetadata, execution: req.executionName }),
      Settings: {
        TimecodeConfig: { Source: 'ZEROBASED' },
        Inputs: [
          {
            FileInput: inputFileOf(encrypted),
            TimecodeSource: 'ZEROBASED',
            VideoSelector: {},
            AudioSelectors: { 'Audio Selector 1': { DefaultSelection: 'DEFAULT' } },
            DecryptionSettings: {
              DecryptionMode: DECRYPTION_MODE[encrypted.mode],
              // KMS ciphertext under {service: mediaconvert.amazonaws.com}; MediaConvert decrypts it with the job role.
              EncryptedDecryptionKey: transcoderKey.wrappedKey,
              InitializationVector: encrypted.initializationVector,
            },
          },
        ],
        OutputGroups: [
          {
            Name: 'HLS',
            OutputGroupSettings: {
              Type: 'HLS_GROUP_SETTINGS',
              HlsGroupSettings: {
                Destination: `s3://${asset.outputBucket}/${asset.outputKeyPrefix}${profile.masterPlaylistName}`,
                SegmentLength: profile.segmentDurationSeconds,
                MinSegmentLength: 0,
                Encryption: {
                  EncryptionMethod: 'AES128',
                  Type: 'SPEKE',
                  InitializationVectorInManifest: 'INCLUDE',
                  SpekeKeyProvider: {
                    Url: this.spekeUrl,
                    ResourceId: asset.assetId,
                    SystemIds: [CLEAR_KEY_AES_128_SYSTEM_ID],
                    ...(this.settings.spekeCertificateArn
                      ? { CertificateArn: this.settings.spekeCertificateArn }
                      : {}),
                  },
                },
              },
            },
            Outputs: profile.outputs.map(toOutput),
          },
        ],
      },
    };
  }

  async submit(req: SubmitJobRequest): Promise<Job> {
    const out = await this.client
      .send(new CreateJobCommand(this.createJobRequest(req)))
      .catch((e: unknown) => {
        throw translateMediaConvertError(e, 'CreateJob');
      });
    if (!out.Job)
      throw new TranscoderRequestError('MediaConvert CreateJob returned no job', {
        code: 'TRANSCODER_REQUEST',
      });
    return toJobView(out.Job);
  }

  async read(jobId: string): Promise<Job> {
    const out = await this.client.send(new GetJobCommand({ Id: jobId })).catch((e: unknown) => {
      throw translateMediaConvertError(e, 'GetJob');
    });
    if (!out.Job)
      throw new TranscoderRequestError(`MediaConvert GetJob returned no job for ${jobId}`, {
        code: 'TRANSCODER_REQUEST',
      });
    return toJobView(out.Job);
  }

  /** Best effort, like Elastic Transcoder's: only a job still SUBMITTED or PROGRESSING can be canceled. */
  async cancel(jobId: string): Promise<boolean> {
    try {
      const job = await this.read(jobId);
      if (job.status !== 'Submitted' && job.status !== 'Progressing') return false;
      await this.client.send(new CancelJobCommand({ Id: jobId }));
      return true;
    } catch {
      // Finished between the read and the cancel, or gone: nothing more to do.
      return false;
    }
  }
}
