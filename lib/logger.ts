/**
 * One structured logger (Powertools) for every function and the local runtime. Keys must never be logged; the JSON
 * replacer below is defence in depth on top of never passing plaintext keys to the logger in the first place: it
 * masks fields whose names denote key material or credentials, and prints binary values only as their length (a
 * key is always binary until it is encoded, and nothing else we log is).
 */
import { Logger } from '@aws-lambda-powertools/logger';

// Not plain `key`: that is the S3 object key in almost every log line.
const SECRET_FIELD =
  /^(plaintext\w*|data[-_]?key|key[-_]?(bytes|hex|base64|material)|secret\w*|token|authorization)$/i;

export function redactingReplacer(field: string, value: unknown): unknown {
  if (field && SECRET_FIELD.test(field)) return '[redacted]';
  if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]`;
  const buffer = value as { type?: unknown; data?: unknown };
  // Buffer#toJSON runs before the replacer sees it: {type: 'Buffer', data: [...]}.
  if (buffer?.type === 'Buffer' && Array.isArray(buffer.data)) return `[${buffer.data.length} bytes]`;
  return value;
}

export const logger = new Logger({
  serviceName: 'secure-transcode',
  logLevel: (process.env.LOG_LEVEL as 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT' | undefined) ?? 'INFO',
  jsonReplacerFn: redactingReplacer,
});
