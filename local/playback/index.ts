export {
  type LocalKeyService,
  type MountedHandler,
  type StartKeyServiceOptions,
  startKeyService,
  TOKEN_SECRET_FILE_NAME,
} from './server.js';
