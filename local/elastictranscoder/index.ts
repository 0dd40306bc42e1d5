/**
 * The local Elastic Transcoder: a protocol front-end over the local media engine (local/engine). Only the stack's
 * wiring and the CLI's backend choice use it; deleting this folder leaves the default (MediaConvert) path intact.
 */
export { renditionFromPreset, SYSTEM_PRESET_PREFIX, systemPresets } from './presets.js';
export { startTranscoderServer, type TranscoderServer, type TranscoderServerOptions } from './server.js';
