/**
 * SubmitJob. Submission is idempotent: every job is tagged with the execution name and looked up first
 * (Elastic Transcoder by its metadata, MediaConvert by its input file and a client request token), so a retry after
 * an ambiguous failure finds the job instead of doubling it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { z } from 'zod';
import { s3 as defaultS3 } from '../clients.js';
import type { WorkflowConfig } from '../config/workflow.js';
import type {
  Asset,
  EncryptedObject,
  ExecutionRef,
  Job,
  Keys,
  Poll,
  Source,
  SubmitJobInputSchema,
  TranscoderKey,
} from '../contracts.js';
import { TranscodeJobFailedError } from '../errors.js';
import { writeAssetRecord } from '../playback/asset-record.js';
import { getProfile, type Profile } from '../profiles.js';
import type { TranscoderAdapter } from '../transcoder/types.js';
import { deletePrefix } from './clean-up.js';

export function keyUrlFor(keyServiceUrl: string, assetId: string): string {
  return `${keyServiceUrl}/keys/${encodeURIComponent(assetId)}`;
}

export interface SubmitInput {
  source: Source;
  asset: Asset;
  keys: Keys;
  encrypted: EncryptedObject;
  transcoderKey: TranscoderKey;
  /** The playback key wrapped for the transcoder (WrapKey): what HlsContentProtection.Key carries. */
  transcoderPlaybackKey: TranscoderKey;
  execution: ExecutionRef;
  profile: Profile;
  /** Set when PollJob's Catch routed an internal transcoder error back here. */
  transcoderError?: unknown;
  /** The job that ended in that error and how many resubmissions were made so far. */
  job?: Job;
  submitAttempt?: number;
  poll?: Poll;
}

/** The execution marker stored in the job's metadata; each resubmission gets its own so lookups stay exact. */
export function submissionMarker(executionName: string, attempt: number): string {
  return attempt === 0 ? executionName : `${executionName}.r${attempt}`;
}

export interface SubmitDeps {
  transcoder: TranscoderAdapter;
  config: Pick<
    WorkflowConfig,
    'keyServiceUrl' | 'pollInitialSeconds' | 'pollDeadlineSeconds' | 'assetPrefix' | 'transcoderMaxResubmits'
  >;
  s3?: S3Client;
  now?: () => Date;
}

/**
 * The SubmitJob state on the workflow state: the profile named by the state is resolved, and the caught internal
 * error is consumed by the resubmission (what remains of it is the attempt count).
 */
export async function submitJobState<S extends z.infer<typeof SubmitJobInputSchema>>(
  state: S,
  deps: SubmitDeps & { profiles: Map<string, Profile> },
): Promise<Omit<S, 'transcoderError'> & { job: Job; poll: Poll; submitAttempt: number }> {
  const submitted = await submitJob({ ...state, profile: getProfile(state.profile, deps.profiles) }, deps);
  const { transcoderError: _consumed, ...rest } = state;
  return { ...rest, ...submitted };
}

export async function submitJob(
  input: SubmitInput,
  deps: SubmitDeps,
): Promise<{ job: Job; poll: Poll; submitAttempt: number }> {
  const now = deps.now ?? (() => new Date());
  const s3 = deps.s3 ?? defaultS3;
  const { asset, profile } = input;
  const resubmission = input.transcoderError !== undefined;
  const submitAttempt = (input.submitAttempt ?? 0) + (resubmission ? 1 : 0);
  if (submitAttempt > deps.config.transcoderMaxResubmits) {
    throw new TranscodeJobFailedError(
      `Transcode job ${input.job?.id ?? '?'} ended in an internal transcoder error ${submitAttempt} times` +
        ` (${input.job?.statusDetail ?? 'no detail'}); giving up after ${deps.config.transcoderMaxResubmits} resubmissions`,
      { code: 'TRANSCODER_INTERNAL' },
    );
  }
  // The overall poll deadline spans resubmissions: it is set once, by the first submission.
  const poll: Poll = {
    attempt: 0,
    waitSeconds: deps.config.pollInitialSeconds,
    deadline:
      input.poll?.deadline ??
      new Date(now().getTime() + deps.config.pollDeadlineSeconds * 1000).toISOString(),
  };
  const marker = submissionMarker(input.execution.name, submitAttempt);
  const existing = await deps.transcoder.findByExecution(marker, input.encrypted);
  if (existing) return { job: existing, poll, submitAttempt };
  if (resubmission) {
    // Elastic Transcoder refuses to overwrite existing outputs, and a partial MediaConvert ladder must not mix with
    // the new one: clear what the failed attempt wrote.
    await deletePrefix(s3, asset.outputBucket, asset.outputKeyPrefix);
  }

  // The record carries the playback key's two consumer copies, both under the playback KMS key, and nothing else.
  const { playback, speke } = input.keys;
  const names = deps.transcoder.playlistNames(profile);
  await writeAssetRecord(
    { s3, bucket: asset.outputBucket, assetPrefix: deps.config.assetPrefix },
    {
      assetId: asset.assetId,
      playbackKey: {
        wrappedKey: playback.wrappedKey,
        kmsKeyId: playback.kmsKeyId,
        encryptionContext: playback.encryptionContext,
      },
      spekeKey: {
        wrappedKey: speke.wrappedKey,
        kmsKeyId: speke.kmsKeyId,
        encryptionContext: speke.encryptionContext,
      },
      outputBucket: asset.outputBucket,
      outputKeyPrefix: asset.outputKeyPrefix,
      masterPlaylist: names.master,
      playlists: names.variants,
    },
  );
  const job = await deps.transcoder.submit({
    executionName: marker,
    asset,
    encrypted: input.encrypted,
    transcoderKey: input.transcoderKey,
    playbackKey: input.transcoderPlaybackKey,
    profile,
    keyUrl: keyUrlFor(deps.config.keyServiceUrl, asset.assetId),
    userMetadata: { assetId: asset.assetId, profile: profile.name, source: input.source.key },
  });
  return { job, poll, submitAttempt };
}
