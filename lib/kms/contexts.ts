/**
 * Every KMS encryption context the system uses, one builder per blob. A context is what IAM conditions and key
 * policies can see, so each consumer's copy of a key gets its own: the encrypt step, each transcoder, the key service
 * and the SPEKE key provider each decrypt only the blob built for them (README.md, "Security model").
 */
import type { TranscoderBackend } from '../config/transcoder.js';

export type EncryptionContext = Readonly<Record<string, string>>;

/** The context Elastic Transcoder uses when it asks KMS to decrypt input and HLS keys. */
export const ELASTIC_TRANSCODER_CONTEXT: EncryptionContext = Object.freeze({
  service: 'elastictranscoder.amazonaws.com',
});
/** MediaConvert's equivalent: the context MediaConvert uses when it decrypts an input (DecryptionSettings). */
export const MEDIACONVERT_CONTEXT: EncryptionContext = Object.freeze({
  service: 'mediaconvert.amazonaws.com',
});

/** The `service` value of the key service's copy of a playback key (serverless.yml's conditions name it). */
export const KEY_SERVICE_SERVICE = 'key-service.secure-transcode';
/** The `service` value of the SPEKE key provider's copy of a playback key. */
export const SPEKE_KEY_PROVIDER_SERVICE = 'speke-key-provider.secure-transcode';

/**
 * The source data key, under the workflow key: Elastic Transcoder's context, because that transcoder decrypts the
 * input with exactly this blob. Only the encrypt step (and the transcoder) may Decrypt under it.
 */
export function sourceKeyContext(): EncryptionContext {
  return ELASTIC_TRANSCODER_CONTEXT;
}

/**
 * The playback key's key-service copy, under the playback key: the asset record's `playbackKey`. `assetId` binds the
 * blob to one asset, so a record for asset A holding asset B's blob fails in KMS.
 */
export function keyServiceContext(assetId: string): EncryptionContext {
  return Object.freeze({ service: KEY_SERVICE_SERVICE, assetId });
}

/** The playback key's SPEKE copy, under the playback key: the asset record's `spekeKey`. */
export function spekeKeyProviderContext(assetId: string): EncryptionContext {
  return Object.freeze({ service: SPEKE_KEY_PROVIDER_SERVICE, assetId });
}

/** The context the chosen transcoder decrypts its copies under (the source key's, and for Elastic Transcoder the HLS key's). */
export function transcoderContext(backend: TranscoderBackend): EncryptionContext {
  return backend === 'mediaconvert' ? MEDIACONVERT_CONTEXT : ELASTIC_TRANSCODER_CONTEXT;
}

/** Exactly `expected`: the same keys with the same values, nothing more. */
export function sameContext(actual: Readonly<Record<string, string>>, expected: EncryptionContext): boolean {
  const keys = Object.keys(actual);
  return (
    keys.length === Object.keys(expected).length &&
    keys.every((k) => Object.hasOwn(expected, k) && actual[k] === expected[k])
  );
}
