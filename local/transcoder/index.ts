export { SYSTEM_PRESET_PREFIX, systemPresets } from './presets.js';
export { startTranscoderServer, type TranscoderServer, type TranscoderServerOptions } from './server.js';
