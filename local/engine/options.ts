import type { FaultInjector } from '../faults.js';
import type { FfmpegBinary } from './ffmpeg.js';

/** What both protocol front-ends (local/mediaconvert, local/elastictranscoder) are started with. */
export interface LocalTranscoderOptions {
  dataDir: string;
  host?: string;
  port?: number;
  region?: string;
  s3: { endpoint: string };
  kms: { endpoint: string };
  /** The stack's credentials: the transcoder signs its own calls with them and accepts only requests signed so. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  faults?: FaultInjector;
  /** Defaults to env FFMPEG_PATH, then an ffmpeg ≥ 5 on PATH, then the binary of `@ffmpeg-installer/ffmpeg`. */
  ffmpegPath?: string;
  /** An ffmpeg already chosen by the caller (takes precedence over `ffmpegPath`): one choice for the whole stack. */
  ffmpeg?: FfmpegBinary;
  /** Jobs transcoded at the same time (default DEFAULT_JOB_CONCURRENCY, queue.ts). */
  concurrency?: number;
}
