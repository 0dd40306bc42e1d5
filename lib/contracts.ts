/**
 * Schemas of everything that crosses the state machine boundary. Each task parses its input with these (so a
 * malformed payload fails as InvalidTaskInputError, not as a TypeError deep inside) and returns the inferred types.
 *
 * Invariant: nothing here can hold a plaintext key. Keys travel only as KMS ciphertext blobs (`wrappedKey`).
 */
import { z } from 'zod';
import { InvalidTaskInputError } from './errors.js';

export const EncryptionModeSchema = z.enum(['aes-cbc-pkcs7', 'aes-ctr']);
export type EncryptionMode = z.infer<typeof EncryptionModeSchema>;

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

/** What the starter passes to StartExecution. */
export const ExecutionInputSchema = z.object({
  source: z.object({
    bucket: z.string().min(3),
    key: z.string().min(1),
    versionId: z.string().optional(),
    sequencer: z.string().optional(),
    /** The event's ETag: in an unversioned bucket it is what pins the execution to the upload that triggered it. */
    etag: z.string().optional(),
    eventName: z.string().optional(),
  }),
  profile: z.string().min(1),
  requestedAt: z.string(),
});
export type ExecutionInput = z.infer<typeof ExecutionInputSchema>;

/** `$.execution`, injected by the ASL from the context object (`$$.Execution.Name` / `Id`). */
export const ExecutionRefSchema = z.object({ name: z.string(), arn: z.string() });
export type ExecutionRef = z.infer<typeof ExecutionRefSchema>;

/** `$.source` after ValidateSource: pinned to the ETag (and versionId when the bucket is versioned). */
export const SourceSchema = z.object({
  bucket: z.string(),
  key: z.string(),
  versionId: z.string().optional(),
  size: z.number().int().nonnegative(),
  etag: z.string(),
  contentType: z.string().optional(),
  /** The uploader's `x-amz-meta-*` values (bounded, see lib/workflow/user-metadata.ts), passed to subscribers. */
  metadata: z.record(z.string(), z.string()).optional(),
});
export type Source = z.infer<typeof SourceSchema>;

/** `$.asset`: deterministic names derived from the source (see lib/paths.ts). */
export const AssetSchema = z.object({
  assetId: z.string(),
  profile: z.string(),
  encryptedBucket: z.string(),
  encryptedKey: z.string(),
  outputBucket: z.string(),
  outputKeyPrefix: z.string(),
  assetRecordKey: z.string(),
});
export type Asset = z.infer<typeof AssetSchema>;

/** A KMS-wrapped key as it travels: never the plaintext. `keyMd5` = base64(MD5(ciphertext blob bytes)). */
export const WrappedKeySchema = z.object({
  wrappedKey: b64,
  keyMd5: b64,
  kmsKeyId: z.string(),
  encryptionContext: z.record(z.string(), z.string()),
});
export type WrappedKey = z.infer<typeof WrappedKeySchema>;

/** `$.keys` after GenerateKeys (README.md, "Security model"). */
export const KeysSchema = z.object({
  /**
   * Encrypts the source file: the workflow key (`KMS_KEY_ID`), `sourceKeyContext()`. Only the encrypt step and the
   * transcoder (through WrapKey's copy) ever decrypt it.
   */
  source: WrappedKeySchema.extend({ keyBits: z.union([z.literal(128), z.literal(192), z.literal(256)]) }),
  /**
   * The HLS key, generated under the playback key (`PLAYBACK_KMS_KEY_ID`) in `keyServiceContext(assetId)`: the asset
   * record's `playbackKey`, the only blob the key service decrypts.
   */
  playback: WrappedKeySchema,
  /**
   * The same HLS key ReEncrypted within the playback key into `spekeKeyProviderContext(assetId)`: the asset record's
   * `spekeKey`, the only blob the SPEKE key provider decrypts.
   */
  speke: WrappedKeySchema,
});
export type Keys = z.infer<typeof KeysSchema>;

/** `$.encryption`: the non-secret cipher parameters chosen for this job. */
export const EncryptionSchema = z.object({
  mode: EncryptionModeSchema,
  initializationVector: b64,
});
export type Encryption = z.infer<typeof EncryptionSchema>;

/**
 * `$.encrypt`: the resumable encryption checkpoint. Small on purpose — no list of ETags — so it fits in
 * Step Functions' 256 KB payload whatever the object size; CompleteUpload rebuilds the part list from ListParts.
 */
export const CheckpointSchema = z.object({
  uploadId: z.string(),
  partSize: z.number().int().positive(),
  nextPartNumber: z.number().int().positive(),
  nextOffset: z.number().int().nonnegative(),
  /** CBC: the last ciphertext block written (the IV for the next part). CTR: unused (counter derives from offset). */
  chainBlock: b64,
  bytesDone: z.number().int().nonnegative(),
  done: z.boolean(),
  invocations: z.number().int().nonnegative(),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

/** `$.encrypted` after CompleteUpload: the self-describing encrypted object. */
export const EncryptedObjectSchema = z.object({
  bucket: z.string(),
  key: z.string(),
  etag: z.string(),
  size: z.number().int().nonnegative(),
  mode: EncryptionModeSchema,
  initializationVector: b64,
  wrappedKey: b64,
  keyMd5: b64,
  kmsKeyId: z.string(),
});
export type EncryptedObject = z.infer<typeof EncryptedObjectSchema>;

/**
 * `$.transcoderKey` after WrapKey: the source key wrapped for the transcoder's KMS key and context. WrapKey also
 * writes `$.transcoderPlaybackKey`, the HLS key ReEncrypted out of the playback key into the transcoder's KMS key and
 * context (what `HlsContentProtection.Key` carries).
 */
export const TranscoderKeySchema = WrappedKeySchema.extend({ reEncrypted: z.boolean() });
export type TranscoderKey = z.infer<typeof TranscoderKeySchema>;

export const JobStatusSchema = z.enum(['Submitted', 'Progressing', 'Complete', 'Error', 'Canceled']);
export type JobStatus = z.infer<typeof JobStatusSchema>;

export const JobOutputSchema = z.object({
  key: z.string(),
  presetId: z.string(),
  status: z.string().optional(),
  statusDetail: z.string().optional(),
  durationMillis: z.number().nullable().optional(),
  width: z.number().nullable().optional(),
  height: z.number().nullable().optional(),
  fileSize: z.number().nullable().optional(),
});
export type JobOutput = z.infer<typeof JobOutputSchema>;

export const JobPlaylistSchema = z.object({ key: z.string(), format: z.string() });

/** `$.job` after SubmitJob and each PollJob. */
export const JobSchema = z.object({
  backend: z.enum(['elastictranscoder', 'mediaconvert']),
  id: z.string(),
  status: JobStatusSchema,
  statusDetail: z.string().optional(),
  errorCode: z.string().optional(),
  outputs: z.array(JobOutputSchema).default([]),
  playlists: z.array(JobPlaylistSchema).default([]),
  /** The input's duration as the transcoder measured it, when the backend reports one. */
  sourceDurationMillis: z.number().nullable().optional(),
});
export type Job = z.infer<typeof JobSchema>;

/** `$.poll`: backoff state of the Wait → PollJob → Choice loop. */
export const PollSchema = z.object({
  attempt: z.number().int().nonnegative(),
  waitSeconds: z.number().int().positive(),
  deadline: z.string(),
});
export type Poll = z.infer<typeof PollSchema>;

/** What happens to the plaintext upload once its job has succeeded (`SOURCE_RETENTION`). */
export const SourceRetentionPolicySchema = z.enum(['delete', 'keep']);
export type SourceRetentionPolicy = z.infer<typeof SourceRetentionPolicySchema>;

/** `$.sourceRetention` after DisposeSource: what became of the exact source version the job processed. */
export const SourceRetentionSchema = z.object({
  policy: SourceRetentionPolicySchema,
  deleted: z.boolean(),
  versionId: z.string().nullable(),
});
export type SourceRetention = z.infer<typeof SourceRetentionSchema>;

/** `$.error` as Step Functions' Catch writes it. */
export const CaughtErrorSchema = z.object({ Error: z.string(), Cause: z.string().optional() });
export type CaughtError = z.infer<typeof CaughtErrorSchema>;

/** Parses a task input, translating schema failures into the ASL-visible InvalidTaskInputError. */
export function parseTaskInput<S extends z.ZodType>(schema: S, input: unknown, task: string): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new InvalidTaskInputError(`${task}: invalid input — ${issues}`, { code: 'INVALID_TASK_INPUT' });
  }
  return parsed.data;
}

// ---- per-task inputs: each task names the fields it needs; everything else passes through untouched ---------------

export const ValidateSourceInputSchema = z.looseObject({
  source: ExecutionInputSchema.shape.source,
  profile: z.string(),
  execution: ExecutionRefSchema,
});
export const GenerateKeysInputSchema = z.looseObject({
  source: SourceSchema,
  asset: AssetSchema,
  profile: z.string(),
});
export const EncryptSourceInputSchema = z.looseObject({
  source: SourceSchema,
  asset: AssetSchema,
  keys: KeysSchema,
  encryption: EncryptionSchema,
  encrypt: CheckpointSchema.optional(),
});
export const CompleteUploadInputSchema = z.looseObject({
  source: SourceSchema,
  asset: AssetSchema,
  keys: KeysSchema,
  encryption: EncryptionSchema,
  encrypt: CheckpointSchema,
});
export const WrapKeyInputSchema = z.looseObject({ keys: KeysSchema, encrypted: EncryptedObjectSchema });
export const SubmitJobInputSchema = z.looseObject({
  source: SourceSchema,
  asset: AssetSchema,
  keys: KeysSchema,
  encrypted: EncryptedObjectSchema,
  transcoderKey: TranscoderKeySchema,
  transcoderPlaybackKey: TranscoderKeySchema,
  execution: ExecutionRefSchema,
  profile: z.string(),
  job: JobSchema.optional(),
  poll: PollSchema.optional(),
  submitAttempt: z.number().int().nonnegative().optional(),
  transcoderError: CaughtErrorSchema.optional(),
});
export const PollJobInputSchema = z.looseObject({ job: JobSchema, poll: PollSchema });
/** The failure path cleans up whatever the failing step left: every field is optional. */
export const CleanupInputSchema = z.looseObject({
  asset: AssetSchema.optional(),
  encrypt: CheckpointSchema.optional(),
  encrypted: EncryptedObjectSchema.optional(),
  job: JobSchema.optional(),
});
export const DisposeSourceInputSchema = z.looseObject({
  source: SourceSchema,
  encrypted: EncryptedObjectSchema,
  job: JobSchema,
});
