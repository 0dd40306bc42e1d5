/**
 * Request validation the way the service does it: shape and format problems are ValidationException (400) before
 * anything is looked up; unknown pipelines and presets are ResourceNotFoundException (404). Features the local
 * transcoder does not implement are refused with a ValidationException that says so, rather than silently ignored.
 */
import type {
  CreateJobOutput,
  CreateJobPlaylist,
  Encryption,
  HlsContentProtection,
  JobInput,
  Notifications,
  Pipeline,
  Preset,
} from '@aws-sdk/client-elastic-transcoder';
import { z } from 'zod';
import { EtError, invalid } from './errors.js';

export const ID_PATTERN = /^\d{13}-\w{6}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const SNS_ARN = /^arn:aws(-[\w]+)*:sns:[\w-]+:\d{12}:[\w-]+$/;

export const JOB_STATUSES = ['Submitted', 'Progressing', 'Complete', 'Canceled', 'Error'] as const;
export const ENCRYPTION_MODES = ['aes-cbc-pkcs7', 'aes-ctr', 'aes-gcm', 's3', 's3-aws-kms'] as const;

function base64OfLength(value: string | undefined, bytes: number): boolean {
  return (
    value !== undefined &&
    BASE64.test(value) &&
    value.length % 4 === 0 &&
    Buffer.from(value, 'base64').length === bytes
  );
}

const unsupported = z.unknown().optional();
const text = (max: number) => z.string().min(1).max(max);

const EncryptionSchema = z.object({
  Mode: z.enum(ENCRYPTION_MODES).optional(),
  Key: z.string().max(255).optional(),
  KeyMd5: z.string().max(255).optional(),
  InitializationVector: z.string().max(255).optional(),
});

const InputSchema = z.object({
  Key: text(1024),
  FrameRate: z.string().optional(),
  Resolution: z.string().optional(),
  AspectRatio: z.string().optional(),
  Interlaced: z.string().optional(),
  Container: z.string().optional(),
  Encryption: EncryptionSchema.optional(),
  TimeSpan: z
    .object({
      StartTime: z
        .string()
        .regex(/^\d{1,5}(\.\d{0,3})?$|^([0-1]?[0-9]:|2[0-3]:)?([0-5]?[0-9]:)?[0-5]?[0-9](\.\d{0,3})?$/)
        .optional(),
      Duration: z
        .string()
        .regex(/^\d{1,5}(\.\d{0,3})?$|^([0-1]?[0-9]:|2[0-3]:)?([0-5]?[0-9]:)?[0-5]?[0-9](\.\d{0,3})?$/)
        .optional(),
    })
    .optional(),
  InputCaptions: unsupported,
});

const OutputSchema = z.object({
  Key: text(255).refine((k) => !k.endsWith('/'), 'must name an object, not end with /'),
  PresetId: z.string().regex(ID_PATTERN, 'must match ^\\d{13}-\\w{6}$'),
  SegmentDuration: z
    .string()
    .regex(/^\d{1,5}(\.\d{0,5})?$/)
    .refine((s) => Number(s) >= 1 && Number(s) <= 60, 'must be between 1 and 60 seconds')
    .optional(),
  Rotate: z.enum(['auto', '0', '90', '180', '270']).optional(),
  ThumbnailPattern: z.string().optional(),
  ThumbnailEncryption: unsupported,
  Watermarks: unsupported,
  AlbumArt: unsupported,
  Composition: unsupported,
  Captions: unsupported,
  Encryption: unsupported,
});

const HlsSchema = z.object({
  Method: z.enum(['aes-128']).optional(),
  Key: z.string().max(350).optional(),
  KeyMd5: z.string().max(255).optional(),
  InitializationVector: z.string().max(255).optional(),
  LicenseAcquisitionUrl: z.string().max(512).optional(),
  KeyStoragePolicy: z.enum(['NoStore', 'WithVariantPlaylists']).optional(),
});

const PlaylistSchema = z.object({
  Name: text(255),
  Format: z.enum(['HLSv3', 'HLSv4', 'MPEG-DASH', 'Smooth']),
  OutputKeys: z.array(text(255)).min(1).max(30),
  HlsContentProtection: HlsSchema.optional(),
  PlayReadyDrm: unsupported,
});

const CreateJobSchema = z.object({
  PipelineId: z.string().regex(ID_PATTERN, 'must match ^\\d{13}-\\w{6}$'),
  Input: InputSchema.optional(),
  Inputs: z.array(InputSchema).max(200).optional(),
  Output: OutputSchema.optional(),
  Outputs: z.array(OutputSchema).max(30).optional(),
  OutputKeyPrefix: z.string().max(255).optional(),
  Playlists: z.array(PlaylistSchema).max(30).optional(),
  UserMetadata: z.record(z.string().max(256), z.string().max(256)).optional(),
});

const NotificationsSchema = z.object({
  Progressing: z.string().optional(),
  Completed: z.string().optional(),
  Warning: z.string().optional(),
  Error: z.string().optional(),
});

const PermissionSchema = z.object({
  GranteeType: z.string().optional(),
  Grantee: z.string().optional(),
  Access: z.array(z.string()).optional(),
});
const BucketConfigSchema = z.object({
  Bucket: z.string().optional(),
  StorageClass: z.string().optional(),
  Permissions: z.array(PermissionSchema).optional(),
});

const CreatePipelineSchema = z.object({
  Name: text(40),
  InputBucket: z.string().regex(/^(\w|\.|-){1,255}$/),
  OutputBucket: z
    .string()
    .regex(/^(\w|\.|-){1,255}$/)
    .optional(),
  Role: z.string().regex(/^arn:aws(-\w+)*:iam::\w{12}:role\/.+$/),
  AwsKmsKeyArn: z.string().max(255).optional(),
  Notifications: NotificationsSchema.optional(),
  ContentConfig: BucketConfigSchema.optional(),
  ThumbnailConfig: BucketConfigSchema.optional(),
});

function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw invalid(`${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'is invalid'}`);
  }
  return result.data;
}

export type CreatePipelineInput = z.infer<typeof CreatePipelineSchema>;

export function parseCreatePipeline(body: unknown): CreatePipelineInput {
  const req = parse(CreatePipelineSchema, body);
  const contentBucket = req.ContentConfig?.Bucket;
  if (req.OutputBucket && contentBucket) throw invalid('Specify OutputBucket or ContentConfig, not both.');
  if (!req.OutputBucket && !contentBucket) throw invalid('OutputBucket or ContentConfig.Bucket is required.');
  const topics = Object.entries(req.Notifications ?? {}) as [keyof Notifications, string][];
  for (const [name, arn] of topics) {
    if (arn !== '' && !SNS_ARN.test(arn))
      throw invalid(`Notifications.${name}: ${arn} is not an SNS topic ARN.`);
  }
  return req;
}

export interface JobRequest {
  pipelineId: string;
  input: JobInput;
  outputs: CreateJobOutput[];
  outputKeyPrefix: string;
  playlists: CreateJobPlaylist[];
  userMetadata: Record<string, string> | undefined;
}

function checkInputEncryption(e: Encryption | undefined): void {
  if (e && !e.Mode && (e.Key || e.KeyMd5 || e.InitializationVector))
    throw invalid('Input.Encryption.Mode is required.');
  if (!e?.Mode || e.Mode === 's3' || e.Mode === 's3-aws-kms') return;
  if (!e.Key) throw invalid('Input.Encryption.Key is required for client-side encryption.');
  if (!BASE64.test(e.Key) || e.Key.length % 4 !== 0)
    throw invalid('Input.Encryption.Key must be base64 encoded.');
  if (!base64OfLength(e.KeyMd5, 16))
    throw invalid('Input.Encryption.KeyMd5 must be the base64 encoding of a 128-bit MD5 digest.');
  if (!base64OfLength(e.InitializationVector, 16)) {
    throw invalid('Input.Encryption.InitializationVector must be the base64 encoding of exactly 16 bytes.');
  }
}

function checkHls(name: string, p: HlsContentProtection | undefined): void {
  if (!p) return;
  if (p.Method !== 'aes-128') throw invalid(`Playlist ${name}: HlsContentProtection.Method must be aes-128.`);
  if (Boolean(p.Key) !== Boolean(p.KeyMd5))
    throw invalid(`Playlist ${name}: specify both Key and KeyMd5, or neither.`);
  if (p.Key && (!BASE64.test(p.Key) || p.Key.length % 4 !== 0))
    throw invalid(`Playlist ${name}: Key must be base64 encoded.`);
  if (p.KeyMd5 && !base64OfLength(p.KeyMd5, 16)) {
    throw invalid(`Playlist ${name}: KeyMd5 must be the base64 encoding of a 128-bit MD5 digest.`);
  }
  if (p.InitializationVector && !base64OfLength(p.InitializationVector, 16)) {
    throw invalid(`Playlist ${name}: InitializationVector must be the base64 encoding of exactly 16 bytes.`);
  }
  const policy = p.KeyStoragePolicy ?? 'NoStore';
  if (policy === 'WithVariantPlaylists' && p.LicenseAcquisitionUrl) {
    throw invalid(
      `Playlist ${name}: LicenseAcquisitionUrl must be blank with KeyStoragePolicy WithVariantPlaylists.`,
    );
  }
  if (policy === 'NoStore' && !p.LicenseAcquisitionUrl) {
    throw invalid(`Playlist ${name}: LicenseAcquisitionUrl is required with KeyStoragePolicy NoStore.`);
  }
}

const NOT_LOCAL = 'is not supported by the local Elastic Transcoder';

function checkOutput(o: z.infer<typeof OutputSchema>): void {
  for (const field of [
    'ThumbnailEncryption',
    'Watermarks',
    'AlbumArt',
    'Composition',
    'Captions',
    'Encryption',
  ] as const) {
    const v = o[field];
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
      throw invalid(`Output ${o.Key}: ${field} ${NOT_LOCAL}.`);
  }
  if (o.ThumbnailPattern) throw invalid(`Output ${o.Key}: ThumbnailPattern ${NOT_LOCAL}.`);
  if (o.Rotate && o.Rotate !== 'auto' && o.Rotate !== '0')
    throw invalid(`Output ${o.Key}: Rotate ${o.Rotate} ${NOT_LOCAL}.`);
}

/** Shape validation only (400); `resolveJob` does the lookups (404) afterwards. */
export function parseCreateJob(body: unknown): JobRequest {
  const req = parse(CreateJobSchema, body);
  if (req.Input && req.Inputs?.length) throw invalid('Specify Input or Inputs, not both.');
  const inputs = req.Inputs ?? (req.Input ? [req.Input] : []);
  if (inputs.length === 0) throw invalid('Input is required.');
  if (inputs.length > 1) throw invalid(`Clip stitching (more than one input) ${NOT_LOCAL}.`);
  const input = inputs[0] as z.infer<typeof InputSchema>;
  if (input.InputCaptions) throw invalid(`Input.InputCaptions ${NOT_LOCAL}.`);
  checkInputEncryption(input.Encryption);

  if (req.Output && req.Outputs?.length) throw invalid('Specify Output or Outputs, not both.');
  const outputs = req.Outputs ?? (req.Output ? [req.Output] : []);
  if (outputs.length === 0) throw invalid('At least one output is required.');
  const keys = new Set<string>();
  for (const o of outputs) {
    if (keys.has(o.Key)) throw invalid(`Output key ${o.Key} is used more than once.`);
    keys.add(o.Key);
    checkOutput(o);
  }

  const playlists = req.Playlists ?? [];
  for (const p of playlists) {
    if (p.Format !== 'HLSv3')
      throw invalid(`Playlist ${p.Name}: format ${p.Format} ${NOT_LOCAL}; use HLSv3.`);
    if (p.PlayReadyDrm) throw invalid(`Playlist ${p.Name}: PlayReadyDrm ${NOT_LOCAL}.`);
    const members = p.OutputKeys.map((k) => outputs.find((o) => o.Key === k));
    if (members.some((m) => !m))
      throw invalid(`Playlist ${p.Name}: every OutputKeys entry must name an output of this job.`);
    const durations = new Set(members.map((m) => m?.SegmentDuration));
    if (durations.has(undefined))
      throw invalid(`Playlist ${p.Name}: every output in a playlist needs a SegmentDuration.`);
    if (durations.size > 1)
      throw invalid(`Playlist ${p.Name}: all outputs must have the same SegmentDuration.`);
    checkHls(p.Name, p.HlsContentProtection);
  }
  if (new Set(playlists.map((p) => p.Name)).size !== playlists.length)
    throw invalid('Playlist names must be unique.');

  const metadata = req.UserMetadata;
  if (metadata && Object.keys(metadata).length > 10)
    throw invalid('UserMetadata can contain at most 10 key-value pairs.');

  const { InputCaptions: _captions, ...supportedInput } = input;
  return {
    pipelineId: req.PipelineId,
    input: supportedInput,
    outputs: outputs.map(({ Key, PresetId, SegmentDuration, Rotate }) => ({
      Key,
      PresetId,
      ...(SegmentDuration === undefined ? {} : { SegmentDuration }),
      ...(Rotate === undefined ? {} : { Rotate }),
    })),
    outputKeyPrefix: req.OutputKeyPrefix ?? '',
    playlists: playlists.map(({ PlayReadyDrm: _drm, ...supported }) => supported),
    userMetadata: metadata,
  };
}

/** The lookups after shape validation: the pipeline, each preset, and the container each playlist requires. */
export function resolveJob(
  req: JobRequest,
  pipelines: ReadonlyMap<string, Pipeline>,
  presets: ReadonlyMap<string, Preset>,
): void {
  if (!pipelines.has(req.pipelineId)) {
    throw new EtError(
      'ResourceNotFoundException',
      `The specified pipeline was not found: pipelineId=${req.pipelineId}.`,
    );
  }
  for (const o of req.outputs) {
    if (!presets.has(o.PresetId ?? '')) {
      throw new EtError(
        'ResourceNotFoundException',
        `The specified preset was not found: presetId=${o.PresetId}.`,
      );
    }
  }
  for (const o of req.outputs) {
    if (o.SegmentDuration && presets.get(o.PresetId ?? '')?.Container !== 'ts') {
      throw invalid(
        `Output ${o.Key}: segmented ${presets.get(o.PresetId ?? '')?.Container} outputs ${NOT_LOCAL}; use a ts preset.`,
      );
    }
  }
  for (const p of req.playlists) {
    for (const key of p.OutputKeys ?? []) {
      const preset = presets.get(req.outputs.find((o) => o.Key === key)?.PresetId ?? '');
      if (preset?.Container !== 'ts')
        throw invalid(`Playlist ${p.Name}: HLSv3 outputs must use a preset with container ts.`);
    }
  }
}
