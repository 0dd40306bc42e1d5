/**
 * The encryption context of the playback key's SPEKE copy (the asset record's `spekeKey`). The provider's role may
 * Decrypt on the playback KMS key only under this `service` value, so it can never unwrap the source key (workflow
 * KMS key, transcoder context) or the key service's copy; `assetId` binds the blob to one asset.
 */
export const SPEKE_KEY_PROVIDER_SERVICE = 'speke-key-provider.secure-transcode';

export function spekeKeyProviderContext(assetId: string): Readonly<Record<string, string>> {
  return Object.freeze({ service: SPEKE_KEY_PROVIDER_SERVICE, assetId });
}

export function isSpekeKeyProviderContext(
  context: Readonly<Record<string, string>>,
  assetId: string,
): boolean {
  const expected = spekeKeyProviderContext(assetId);
  const keys = Object.keys(context);
  return (
    keys.length === Object.keys(expected).length &&
    keys.every((k) => Object.hasOwn(expected, k) && context[k] === expected[k])
  );
}
