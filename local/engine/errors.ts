/**
 * The engine's one error type. It names what went wrong in the engine's own terms; each protocol front-end
 * (local/mediaconvert, local/elastictranscoder) turns it into its service's job error code and wording, so no
 * service's numbers leak into the other. The message and detail never contain key material: only identifiers the
 * caller already knows (bucket, key) and ffmpeg's last line.
 */

export type EngineErrorKind =
  /** The input object does not exist. */
  | 'InputNotFound'
  /** S3 refused to read the input object. */
  | 'InputAccessDenied'
  /** The input key is not 128, 192 or 256 bits. */
  | 'InvalidKeySize'
  /** The input did not decrypt with the given key, IV and mode. */
  | 'DecryptionFailed'
  /** ffmpeg cannot read the input as media. */
  | 'NotMedia'
  /** The input has no stream any of the requested outputs can encode. */
  | 'NothingToEncode'
  /** ffmpeg failed, or did not write what its playlist names. */
  | 'EncodeFailed'
  /** An output could not be written to its bucket. */
  | 'OutputWriteFailed';

export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    readonly kind: EngineErrorKind,
    /** What went wrong beyond the kind (no key material): front-ends append it to their own wording. */
    readonly detail?: string,
    /** The object concerned, when there is one. */
    readonly object?: { bucket: string; key: string },
  ) {
    super(detail ? `${kind}: ${detail}` : kind);
  }
}
