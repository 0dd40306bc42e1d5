/**
 * MediaConvert's wire form (REST-JSON, API 2017-08-29): lowerCamelCase members, timestamps in epoch seconds. The
 * stored job is exactly what GetJob returns. `parseCreateJob` reads the parts of a CreateJob body the local engine
 * acts on and refuses what it cannot honour with BadRequestException, as the service refuses invalid settings.
 */
import { z } from 'zod';
import { CLEAR_KEY_AES_128_SYSTEM_ID } from '../../lib/speke/cpix.js';
import { badRequest } from './errors.js';

export type JobStatus = 'SUBMITTED' | 'PROGRESSING' | 'COMPLETE' | 'CANCELED' | 'ERROR';

export interface WireJob {
  id: string;
  arn: string;
  createdAt: number;
  role: string;
  queue: string;
  status: JobStatus;
  currentPhase?: 'PROBING' | 'TRANSCODING' | 'UPLOADING';
  jobPercentComplete?: number;
  errorCode?: number;
  errorMessage?: string;
  settings: unknown;
  userMetadata?: Record<string, string>;
  clientRequestToken?: string;
  timing: { submitTime: number; startTime?: number; finishTime?: number };
  outputGroupDetails?: Array<{
    outputDetails: Array<{ durationInMs?: number; videoDetails?: { widthInPx: number; heightInPx: number } }>;
  }>;
  accelerationStatus: 'NOT_APPLICABLE';
  billingTagsSource: 'JOB';
  priority: number;
  retryCount: number;
  statusUpdateInterval: string;
  messages: { info: string[]; warning: string[] };
}

const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/;
const DECRYPTION_MODES = { AES_CBC: 'aes-cbc-pkcs7', AES_CTR: 'aes-ctr', AES_GCM: 'aes-gcm' } as const;

const H264 = z.object({ bitrate: z.number().int().min(1000).max(1_152_000_000) }).passthrough();
const Aac = z
  .object({ bitrate: z.number().int().min(6000).max(1_024_000), sampleRate: z.number().int().optional() })
  .passthrough();
const Output = z
  .object({
    nameModifier: z.string().min(1).max(256).optional(),
    containerSettings: z.object({ container: z.literal('M3U8') }).passthrough(),
    videoDescription: z
      .object({
        width: z.number().int().min(32).max(8192).optional(),
        height: z.number().int().min(32).max(4320).optional(),
        codecSettings: z.object({ codec: z.literal('H_264'), h264Settings: H264 }).passthrough(),
      })
      .passthrough()
      .optional(),
    audioDescriptions: z
      .array(
        z
          .object({
            audioSourceName: z.string().optional(),
            codecSettings: z.object({ codec: z.literal('AAC'), aacSettings: Aac }).passthrough(),
          })
          .passthrough(),
      )
      .max(1)
      .optional(),
  })
  .passthrough();

const Speke = z
  .object({
    url: z.string().url(),
    resourceId: z.string().min(1),
    systemIds: z.array(z.string()).min(1),
    certificateArn: z.string().optional(),
  })
  .passthrough();

const CreateJobBody = z
  .object({
    role: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN'),
    queue: z.string().optional(),
    clientRequestToken: z.string().max(64).optional(),
    userMetadata: z.record(z.string(), z.string()).optional(),
    settings: z
      .object({
        inputs: z
          .array(
            z
              .object({
                fileInput: z.string().regex(S3_URL, 'must be an s3:// URL'),
                audioSelectors: z.record(z.string(), z.unknown()).optional(),
                decryptionSettings: z
                  .object({
                    decryptionMode: z.enum(['AES_CBC', 'AES_CTR', 'AES_GCM']),
                    encryptedDecryptionKey: z.string().min(24).max(512),
                    initializationVector: z.string().regex(/^[A-Za-z0-9+/]{16,24}={0,2}$/),
                    kmsKeyRegion: z.string().optional(),
                  })
                  .passthrough()
                  .optional(),
              })
              .passthrough(),
          )
          .length(1, 'the local MediaConvert takes exactly one input'),
        outputGroups: z
          .array(
            z
              .object({
                outputGroupSettings: z
                  .object({
                    type: z.literal('HLS_GROUP_SETTINGS'),
                    hlsGroupSettings: z
                      .object({
                        destination: z.string().regex(S3_URL, 'must be an s3:// URL'),
                        segmentLength: z.number().int().min(1).max(2_147_483_647).optional(),
                        encryption: z
                          .object({
                            encryptionMethod: z.literal('AES128'),
                            type: z.literal('SPEKE'),
                            spekeKeyProvider: Speke,
                          })
                          .passthrough()
                          .optional(),
                      })
                      .passthrough(),
                  })
                  .passthrough(),
                outputs: z.array(Output).min(1).max(30),
              })
              .passthrough(),
          )
          .length(1, 'the local MediaConvert takes exactly one HLS output group'),
      })
      .passthrough(),
  })
  .passthrough();

export interface RenditionPlan {
  nameModifier: string;
  video?: { width?: number; height?: number; bitrate: number };
  audio?: { bitrate: number; sampleRate?: number; selector: string };
}

/** An HLS output group as the local service runs it. */
export interface HlsGroupPlan {
  type: 'HLS_GROUP_SETTINGS';
  /** `s3://bucket/base`: playlists are `<base><nameModifier>.m3u8`, the master `<base>.m3u8`. */
  destination: { bucket: string; base: string };
  segmentLength: number;
  speke?: { url: string; resourceId: string };
  outputs: RenditionPlan[];
}

/** The output groups the local service takes; DASH and CMAF groups (`DASH_ISO_GROUP_SETTINGS`, `CMAF_GROUP_SETTINGS`) join here. */
export type OutputGroupPlan = HlsGroupPlan;

export interface JobPlan {
  input: {
    bucket: string;
    key: string;
    audioSelectors: string[];
    decryption?: {
      mode: (typeof DECRYPTION_MODES)[keyof typeof DECRYPTION_MODES];
      encryptedKey: string;
      iv: string;
    };
  };
  /** In the order of the request's `outputGroups`; each maps onto one engine output group (output-groups.ts). */
  outputGroups: OutputGroupPlan[];
}

export type CreateJobRequest = z.infer<typeof CreateJobBody>;

function s3Of(url: string): { bucket: string; key: string } {
  const m = S3_URL.exec(url);
  return { bucket: m?.[1] ?? '', key: m?.[2] ?? '' };
}

export function parseCreateJob(body: unknown): { request: CreateJobRequest; plan: JobPlan } {
  const parsed = CreateJobBody.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badRequest(`/${issue?.path.join('/') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const request = parsed.data;
  const input = request.settings.inputs[0] as (typeof request.settings.inputs)[number];
  const group = request.settings.outputGroups[0] as (typeof request.settings.outputGroups)[number];
  const hls = group.outputGroupSettings.hlsGroupSettings;
  const speke = hls.encryption?.spekeKeyProvider;
  if (speke) {
    if (!speke.systemIds.map((s) => s.toLowerCase()).includes(CLEAR_KEY_AES_128_SYSTEM_ID)) {
      throw badRequest(`HLS AES128 with SPEKE v1 needs system id ${CLEAR_KEY_AES_128_SYSTEM_ID}`);
    }
    if (speke.certificateArn) throw badRequest('The local MediaConvert does not encrypt SPEKE responses');
  }
  const destination = s3Of(hls.destination);
  if (destination.key.endsWith('/')) throw badRequest('The destination must end with a file name base');
  const modifiers = group.outputs.map((o) => o.nameModifier ?? '');
  if (new Set(modifiers).size !== modifiers.length) {
    throw badRequest('Outputs of one group must have distinct name modifiers');
  }
  const audioSelectors = Object.keys(input.audioSelectors ?? {});
  const renditions = group.outputs.map((o): RenditionPlan => {
    const v = o.videoDescription;
    const a = o.audioDescriptions?.[0];
    const selector = a?.audioSourceName ?? 'Audio Selector 1';
    if (a && !audioSelectors.includes(selector)) {
      throw badRequest(`Audio description references ${selector}, which the input does not define`);
    }
    if (!v && !a) throw badRequest('An output needs a video description or an audio description');
    return {
      nameModifier: o.nameModifier ?? '',
      ...(v
        ? {
            video: {
              bitrate: v.codecSettings.h264Settings.bitrate,
              ...(v.width ? { width: v.width } : {}),
              ...(v.height ? { height: v.height } : {}),
            },
          }
        : {}),
      ...(a
        ? {
            audio: {
              bitrate: a.codecSettings.aacSettings.bitrate,
              selector,
              ...(a.codecSettings.aacSettings.sampleRate
                ? { sampleRate: a.codecSettings.aacSettings.sampleRate }
                : {}),
            },
          }
        : {}),
    };
  });
  const decryption = input.decryptionSettings;
  return {
    request,
    plan: {
      input: {
        ...s3Of(input.fileInput),
        audioSelectors,
        ...(decryption
          ? {
              decryption: {
                mode: DECRYPTION_MODES[decryption.decryptionMode],
                encryptedKey: decryption.encryptedDecryptionKey,
                iv: decryption.initializationVector,
              },
            }
          : {}),
      },
      outputGroups: [
        {
          type: 'HLS_GROUP_SETTINGS',
          destination: { bucket: destination.bucket, base: destination.key },
          segmentLength: hls.segmentLength ?? 10,
          ...(speke ? { speke: { url: speke.url, resourceId: speke.resourceId } } : {}),
          outputs: renditions,
        },
      ],
    },
  };
}
