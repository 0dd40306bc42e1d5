/**
 * The transcoder is an adapter: Elastic Transcoder (the design's, discontinued by AWS on 2025-11-13, still spoken by
 * the local stack) today, MediaConvert next. The workflow only sees this interface and the Job view.
 */
import type { Asset, EncryptedObject, Job, TranscoderKey, WrappedKey } from '../contracts.js';
import type { Profile } from '../profiles.js';

export interface SubmitJobRequest {
  /** The Step Functions execution name; stored in the job's metadata so a retry can find the job it created. */
  executionName: string;
  asset: Asset;
  encrypted: EncryptedObject;
  /** The source key, wrapped for the transcoder's KMS key and encryption context. */
  transcoderKey: TranscoderKey;
  /**
   * The separate 128-bit HLS key, wrapped for the transcoder's KMS key and context like `transcoderKey`. Players get
   * the same key from the key service, which decrypts its own copy (the asset record's blob, key-service context).
   */
  playbackKey: WrappedKey;
  profile: Profile;
  /** Absolute key-delivery URL written as the EXT-X-KEY URI. */
  keyUrl: string;
  userMetadata: Record<string, string>;
}

export interface TranscoderAdapter {
  readonly backend: Job['backend'];
  /** The KMS encryption context the service decrypts the source key with (WrapKey must wrap under it). */
  readonly encryptionContext: Readonly<Record<string, string>>;
  /**
   * Finds the job an earlier attempt of this submission created, so a retry after an ambiguous failure does not
   * double it. `input` is the encrypted source the job reads (MediaConvert searches by input file).
   */
  findByExecution(executionName: string, input: EncryptedObject): Promise<Job | undefined>;
  /**
   * Playlist keys relative to the output prefix, exactly as this service names the files: the asset record lists
   * them and the play route serves only those.
   */
  playlistNames(profile: Profile): { master: string; variants: string[] };
  /** Whether a job's error code is the service's own fault, worth a (bounded) resubmission. */
  isInternalError(errorCode: string): boolean;
  submit(request: SubmitJobRequest): Promise<Job>;
  read(jobId: string): Promise<Job>;
}

export const TERMINAL_STATUSES: ReadonlySet<Job['status']> = new Set(['Complete', 'Error', 'Canceled']);

export interface CancellableTranscoder extends TranscoderAdapter {
  /** Best effort: Elastic Transcoder cancels only jobs still `Submitted`. */
  cancel(jobId: string): Promise<boolean>;
}
