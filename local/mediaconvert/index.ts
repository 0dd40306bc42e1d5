/** The local MediaConvert: the default protocol front-end over the local media engine (local/engine). */
export { settingsFor } from './output-groups.js';
export {
  type MediaConvertServer,
  type MediaConvertServerOptions,
  startMediaConvertServer,
} from './server.js';
export { SpekeClient } from './speke-client.js';
