/**
 * Elastic Transcoder UserMetadata: at most 10 pairs; keys and values must be ≤ 256 characters of a restricted
 * printable set. Source names with `&`, spaces or unicode would break CreateJob, so values are sanitized here
 * (non-ASCII and disallowed characters replaced) and long ones truncated with a digest suffix to stay unique.
 */
import { createHash } from 'node:crypto';

const ALLOWED = /[^A-Za-z0-9 _.:/=+\-@]/g;

export function sanitizeMetadataValue(value: string, max = 255): string {
  const ascii = value.normalize('NFKD').replace(ALLOWED, '_');
  if (ascii.length <= max) return ascii;
  const digest = createHash('sha256').update(value).digest('hex').slice(0, 12);
  return `${ascii.slice(0, max - 13)}~${digest}`;
}

export function sanitizeUserMetadata(meta: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta).slice(0, 10)) {
    out[sanitizeMetadataValue(k, 128).replace(/[^A-Za-z0-9_.-]/g, '_')] = sanitizeMetadataValue(v);
  }
  return out;
}
