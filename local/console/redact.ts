/**
 * What the console may show of a state's input or output. Key material is withheld by field name even though the
 * workflow only ever carries KMS ciphertext blobs (README.md, "Security model"): a screen is copied into tickets and
 * screenshots, and a wrapped key plus a KMS permission is a key. Long strings (checkpoints, ETags lists) are cut.
 */
const WITHHELD = /(wrappedKey|plaintext|ciphertextBlob|dataKey|secret|token)/i;
const MAX_STRING = 96;
const MAX_ARRAY = 20;
const MAX_DEPTH = 8;

export const WITHHELD_MARK = '‹withheld›';

export function shortenForDisplay(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') {
    return value.length > MAX_STRING ? `${value.slice(0, 40)}… (${value.length} chars)` : value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(value)) {
    const head = value.slice(0, MAX_ARRAY).map((v) => shortenForDisplay(v, depth + 1));
    return value.length > MAX_ARRAY ? [...head, `… ${value.length - MAX_ARRAY} more`] : head;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] =
      WITHHELD.test(k) && v !== null && v !== undefined && v !== ''
        ? WITHHELD_MARK
        : shortenForDisplay(v, depth + 1);
  }
  return out;
}

/** A history event's JSON payload string, shortened; a payload that is not JSON is cut like any string. */
export function shortenPayload(text: unknown): unknown {
  if (typeof text !== 'string') return text;
  try {
    return shortenForDisplay(JSON.parse(text));
  } catch {
    return shortenForDisplay(text);
  }
}
