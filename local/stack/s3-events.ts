/**
 * S3 event notifications, as S3 itself would send them to the ingest queue (NotificationConfiguration with a prefix
 * filter on `s3:ObjectCreated:*`). The local gateway reports each created object (with its versionId when the bucket
 * is versioned) and this module writes the exact record shape — the starter handler cannot tell the difference.
 */
import { randomBytes } from 'node:crypto';
import type { S3Event } from 'aws-lambda';
import type { ObjectCreatedEvent } from '../s3/index.js';

/**
 * S3 URL-encodes keys in notifications form-style: space → `+`, `/` kept, everything outside `[A-Za-z0-9.*_-]`
 * percent-encoded (so a literal `+` arrives as `%2B`).
 */
export function encodeEventKey(key: string): string {
  return key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment)
        .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
        .replace(/%20/g, '+'),
    )
    .join('/');
}

export interface S3EventOptions {
  region: string;
  configurationId?: string;
  principalId?: string;
}

export function toS3EventNotification(e: ObjectCreatedEvent, options: S3EventOptions): S3Event {
  const principalId = options.principalId ?? 'AWS:AIDALOCALSTACKUSER0000';
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: options.region,
        eventTime: e.eventTime,
        eventName: e.eventName,
        userIdentity: { principalId },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: {
          'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
          'x-amz-id-2': randomBytes(48).toString('base64'),
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: options.configurationId ?? 'secure-transcode-ingest',
          bucket: {
            name: e.bucket,
            ownerIdentity: { principalId: principalId.replace(/^AWS:/, '') },
            arn: `arn:aws:s3:::${e.bucket}`,
          },
          object: {
            key: encodeEventKey(e.key),
            size: e.size,
            // Notifications carry the ETag without the quotes S3 puts in HTTP headers.
            eTag: e.etag.replace(/^"|"$/g, ''),
            ...(e.versionId ? { versionId: e.versionId } : {}),
            sequencer: e.sequencer,
          },
        },
      },
    ],
  };
}
