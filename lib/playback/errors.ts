/**
 * Refusals of the key service. These are HTTP outcomes, not state-machine errors, so they stay out of the ASL
 * contract in lib/errors.ts. `reason` is the short machine-readable string sent to the player as `{"error": reason}`;
 * it never carries the token, the key or the KMS message.
 */

export type DenyReason =
  | 'token_missing'
  | 'token_invalid'
  | 'token_expired'
  | 'token_wrong_asset'
  | 'token_used'
  | 'throttled'
  | 'asset_not_found'
  | 'playlist_not_found'
  | 'bad_request';

const STATUS: Record<DenyReason, number> = {
  token_missing: 403,
  token_invalid: 403,
  token_expired: 403,
  token_wrong_asset: 403,
  token_used: 403,
  throttled: 429,
  asset_not_found: 404,
  playlist_not_found: 404,
  bad_request: 400,
};

export class PlaybackDeniedError extends Error {
  override readonly name = 'PlaybackDeniedError';
  readonly status: number;
  constructor(readonly reason: DenyReason) {
    super(reason);
    this.status = STATUS[reason];
  }
}
