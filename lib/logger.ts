/**
 * One structured logger (Powertools) for every function and the local runtime. Keys must never be logged: the
 * redactor below masks any field whose name suggests key material, as defence in depth on top of never passing
 * plaintext keys to the logger in the first place.
 */
import { Logger } from '@aws-lambda-powertools/logger';

const SECRET_FIELD = /^(plaintext|plaintextKey|dataKey|key(Bytes|Hex|Base64)?|secret|token|authorization)$/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.length} bytes]`;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value))
    out[k] = SECRET_FIELD.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

export const logger = new Logger({
  serviceName: 'secure-transcode',
  logLevel: (process.env.LOG_LEVEL as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT' | undefined) ?? 'INFO',
});
