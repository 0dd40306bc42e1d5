/**
 * The local media engine: what both protocol front-ends (local/mediaconvert, local/elastictranscoder) and the stack
 * use. It probes, encodes a ladder in one ffmpeg run, packages HLS (AES-128 included), reads and writes S3, reports
 * progress and queues jobs, in its own terms (output groups, outputs, renditions) and with its own error type.
 */
export type { DecryptionMode } from './decrypt.js';
export { EngineError, type EngineErrorKind } from './errors.js';
export {
  describeFfmpeg,
  type FfmpegBinary,
  ffmpegVersion,
  type MediaInfo,
  parseInput,
  runFfmpeg,
  selectFfmpeg,
} from './ffmpeg.js';
export {
  type EncodedGroup,
  type EncodedOutput,
  encodeGroups,
  type GroupOutput,
  type HlsGroup,
  type OutputGroup,
  outputKeys,
  uploadGroups,
} from './groups.js';
export { masterPlaylist, relativeUri, type Variant } from './hls.js';
export { type InputSpec, type PreparedInput, prepareInput } from './input.js';
export type { LocalTranscoderOptions } from './options.js';
export { type JobProgress, type ProgressListener, ProgressListeners } from './progress.js';
export { DEFAULT_JOB_CONCURRENCY, JobQueue } from './queue.js';
export { uploadFile } from './s3io.js';
export type { AudioSettings, RenditionSettings, VideoSettings } from './settings.js';
export {
  type LadderPlan,
  type LadderProgress,
  ladderArgs,
  type RenditionPlan,
  type RenditionResult,
  transcodeLadder,
} from './transcode.js';
export { ffmpegDyingWithParent, prepareWorkspace } from './workspace.js';
