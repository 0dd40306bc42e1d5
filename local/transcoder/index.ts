export { describeFfmpeg, type FfmpegBinary, selectFfmpeg } from './ffmpeg.js';
export { SYSTEM_PRESET_PREFIX, systemPresets } from './presets.js';
export {
  type JobProgress,
  startTranscoderServer,
  type TranscoderServer,
  type TranscoderServerOptions,
} from './server.js';
