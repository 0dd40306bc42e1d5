/**
 * The one encryption context an asset record's key may carry: `KEY_SERVICE_CONTEXT(assetId)` — the key-service
 * `service` value (the only one the key service's role may Decrypt under) and the record's own asset id, nothing else.
 */
import { KEY_SERVICE_CONTEXT } from '../config.js';

export function isKeyServiceContext(context: Readonly<Record<string, string>>, assetId: string): boolean {
  const expected = KEY_SERVICE_CONTEXT(assetId);
  const keys = Object.keys(context);
  return (
    keys.length === Object.keys(expected).length &&
    keys.every((k) => Object.hasOwn(expected, k) && context[k] === expected[k])
  );
}
