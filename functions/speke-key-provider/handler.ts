/**
 * SPEKE v1 key provider for MediaConvert's HLS AES-128 (API Gateway REST, AWS_IAM auth):
 *   POST /copyProtection  CPIX request → the same document with the asset's playback key and key URI
 * The local stack serves the same domain code from local/speke.
 */
import { kms, s3 } from '../../lib/clients.js';
import { spekeConfig } from '../../lib/config/playback.js';
import { httpFunction } from '../../lib/handler.js';
import { createSpekeHttpHandler } from '../../lib/speke/http.js';
import { SpekeKeyProvider } from '../../lib/speke/key-provider.js';

const config = spekeConfig();
const provider = new SpekeKeyProvider({
  s3,
  kms,
  bucket: config.outputBucket,
  assetPrefix: config.assetPrefix,
  keyServiceUrl: config.keyServiceUrl,
  playbackKmsKeyId: config.playbackKmsKeyId,
});

export const handler = httpFunction(createSpekeHttpHandler(async () => provider));
