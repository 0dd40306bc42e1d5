/**
 * S3 event notifications as they arrive through SQS. Keys are URL-encoded with `+` for spaces (S3's notification
 * format), so `decodeS3Key` must turn `+` into a space *before* percent-decoding (a literal `+` arrives as `%2B`).
 */
import type { S3EventRecord } from 'aws-lambda';
import { z } from 'zod';

export function decodeS3Key(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, ' '));
}

const RecordSchema = z.object({
  eventName: z.string(),
  eventTime: z.string().optional(),
  s3: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({
      key: z.string(),
      size: z.number().optional(),
      eTag: z.string().optional(),
      versionId: z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});

export type ParsedBody =
  | { kind: 'test-event' }
  | { kind: 'records'; records: Array<z.infer<typeof RecordSchema>> }
  | { kind: 'invalid'; reason: string };

/** Parses one SQS message body; never throws (a bad body is reported, not crashed on). */
export function parseS3EventBody(body: string): ParsedBody {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { kind: 'invalid', reason: 'message body is not JSON' };
  }
  const obj = json as { Event?: unknown; Records?: unknown; Message?: unknown; Type?: unknown };
  if (obj?.Event === 's3:TestEvent') return { kind: 'test-event' };
  // S3 → SNS → SQS delivers the S3 event inside an SNS envelope.
  if (obj?.Type === 'Notification' && typeof obj.Message === 'string') return parseS3EventBody(obj.Message);
  const parsed = z.object({ Records: z.array(RecordSchema) }).safeParse(json);
  if (!parsed.success) return { kind: 'invalid', reason: 'message body is not an S3 event notification' };
  return { kind: 'records', records: parsed.data.Records };
}

export type ObjectDecision =
  | {
      accept: true;
      bucket: string;
      key: string;
      versionId?: string;
      sequencer?: string;
      etag?: string;
      size?: number;
      eventName: string;
      eventTime?: string;
    }
  | {
      accept: false;
      reason: string;
      key?: string;
      /** Not merely uninteresting but not ours to process (a bucket we were not configured for): log as an error. */
      refused?: true;
    };

export function decideRecord(
  record: z.infer<typeof RecordSchema> | S3EventRecord,
  filter: { inputPrefix: string; allowedExtensions: string[]; sourceBuckets: string[] },
): ObjectDecision {
  if (!record.eventName.startsWith('ObjectCreated:'))
    return { accept: false, reason: `ignored event ${record.eventName}` };
  // A message naming another bucket would make the workflow read (and encrypt, transcode, publish) an object it was
  // never meant to touch. Retrying cannot help, so the record is refused outright.
  if (!filter.sourceBuckets.includes(record.s3.bucket.name)) {
    return {
      accept: false,
      refused: true,
      reason: `bucket "${record.s3.bucket.name}" is not a configured source bucket`,
    };
  }
  let key: string;
  try {
    key = decodeS3Key(record.s3.object.key);
  } catch {
    return { accept: false, reason: 'object key is not valid URL encoding' };
  }
  if (!key.startsWith(filter.inputPrefix)) return { accept: false, reason: 'outside the input prefix', key };
  if (key.endsWith('/')) return { accept: false, reason: 'folder marker', key };
  const base = key.slice(key.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  const ext = dot > 0 ? base.slice(dot).toLowerCase() : '';
  if (!filter.allowedExtensions.includes(ext)) {
    return { accept: false, reason: `extension "${ext || '(none)'}" is not in the allow-list`, key };
  }
  // A key with an empty, `.` or `..` segment is accepted here on purpose: ValidateSource refuses it first thing
  // (lib/paths.ts, KEY_SEGMENT_RULE), so the uploader gets a failure notification naming the key and the rule, and
  // the message leaves the queue like any started execution instead of being retried into the DLQ.
  const o = record.s3.object;
  return {
    accept: true,
    bucket: record.s3.bucket.name,
    key,
    ...(o.versionId ? { versionId: o.versionId } : {}),
    ...(o.sequencer ? { sequencer: o.sequencer } : {}),
    ...(o.eTag ? { etag: o.eTag } : {}),
    ...(o.size !== undefined ? { size: o.size } : {}),
    eventName: record.eventName,
    ...(record.eventTime ? { eventTime: record.eventTime } : {}),
  };
}
