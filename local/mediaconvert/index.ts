export {
  type MediaConvertServer,
  type MediaConvertServerOptions,
  startMediaConvertServer,
} from './server.js';
