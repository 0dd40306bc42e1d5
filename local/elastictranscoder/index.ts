/**
 * The local Elastic Transcoder: a protocol front-end over the local media engine (local/engine). Only the stack's
 * wiring (and the transcode bench's Elastic Transcoder rows) import it; the default (MediaConvert) path never does.
 */
export { renditionFromPreset, SYSTEM_PRESET_PREFIX, systemPresets } from './presets.js';
export { startTranscoderServer, type TranscoderServer, type TranscoderServerOptions } from './server.js';
