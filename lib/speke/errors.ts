/**
 * Refusals of the SPEKE key provider. HTTP outcomes, not state-machine errors, so they stay out of the ASL contract
 * in lib/errors.ts. `reason` is the machine-readable code of the response body; `message` says what to fix and never
 * carries key material.
 */

export type SpekeRefusal =
  | 'too_large'
  | 'too_complex'
  | 'entities_forbidden'
  | 'malformed_xml'
  | 'not_cpix'
  | 'unsupported_version'
  | 'bad_content_id'
  | 'bad_kid'
  | 'no_content_keys'
  | 'too_many_keys'
  | 'unsupported_system_id'
  | 'unknown_kid'
  | 'encrypted_response_unsupported'
  | 'asset_not_found'
  | 'no_speke_key';

const STATUS: Record<SpekeRefusal, number> = {
  too_large: 413,
  too_complex: 400,
  entities_forbidden: 400,
  malformed_xml: 400,
  not_cpix: 400,
  unsupported_version: 400,
  bad_content_id: 400,
  bad_kid: 400,
  no_content_keys: 400,
  too_many_keys: 400,
  unsupported_system_id: 400,
  unknown_kid: 400,
  encrypted_response_unsupported: 400,
  asset_not_found: 404,
  no_speke_key: 404,
};

export class SpekeRequestError extends Error {
  override readonly name = 'SpekeRequestError';
  readonly status: number;
  constructor(
    readonly reason: SpekeRefusal,
    message: string,
  ) {
    super(message);
    this.status = STATUS[reason];
  }
}

/** The asset record's SPEKE copy is not what this provider may decrypt: a deployment fault, never the caller's. */
export class SpekeKeyCustodyError extends Error {
  override readonly name = 'SpekeKeyCustodyError';
}
