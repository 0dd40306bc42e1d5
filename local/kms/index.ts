export type { EncryptionContext } from './ciphertext.js';
export { type KmsServer, type KmsServerOptions, startKmsServer } from './server.js';
