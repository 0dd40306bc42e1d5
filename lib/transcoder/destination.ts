/**
 * Where a transcoder writes: the asset's output prefix, checked against the object-key rule (lib/paths.ts) before a
 * job is created. The transcoder stores keys literally while a path join would normalise them, so a prefix with an
 * empty, `.` or `..` segment would put outputs where the key service and the proxy cannot tell whose they are.
 */
import type { Asset } from '../contracts.js';
import { TranscoderRequestError } from '../errors.js';
import { keyRuleViolation } from '../paths.js';

/** `asset.outputKeyPrefix` plus `name`; throws TranscoderRequestError (permanent) when the key breaks the rule. */
export function outputKeyOf(asset: Pick<Asset, 'outputKeyPrefix'>, name = ''): string {
  const key = `${asset.outputKeyPrefix}${name}`;
  const violation = keyRuleViolation(key, { prefix: name === '' });
  if (violation || !asset.outputKeyPrefix.endsWith('/')) {
    throw new TranscoderRequestError(
      violation ?? `Output prefix "${asset.outputKeyPrefix}" must end with "/"`,
      {
        code: 'OUTPUT_KEY_REFUSED',
      },
    );
  }
  return key;
}
