import type { KMSClient } from '@aws-sdk/client-kms';
import { kms as defaultKms } from '../clients.js';
import { ELASTIC_TRANSCODER_CONTEXT } from '../config.js';
import type { Keys, TranscoderKey } from '../contracts.js';
import { wrapForTarget } from '../kms/keys.js';

/**
 * WrapKey: the source key as the transcoder needs it — under the pipeline's KMS key and Elastic Transcoder's
 * encryption context. A no-op (no KMS write) when GenerateKeys already used that key and context; ReEncrypt inside
 * KMS otherwise. KeyMd5 is recomputed over the resulting blob.
 */
export async function wrapKeyForTranscoder(keys: Keys, transcoderKmsKeyId: string, client: KMSClient = defaultKms): Promise<TranscoderKey> {
  const { keyBits: _bits, ...source } = keys.source;
  return wrapForTarget(source, { kmsKeyId: transcoderKmsKeyId, encryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT } }, client);
}
