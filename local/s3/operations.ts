/**
 * Names the S3 operation of a request the gateway answers itself (path-style: the SDK uses path-style for an IP
 * endpoint). SQS and SNS requests were told apart before this (`isQueueOrTopicRequest`, local/queues).
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface S3Request {
  operation: string;
  bucket: string | undefined;
  key: string | undefined;
  query: URLSearchParams;
}

function objectOperation(method: string, q: URLSearchParams, headers: IncomingHttpHeaders): string {
  const copy = headers['x-amz-copy-source'] !== undefined;
  switch (method) {
    case 'GET':
      return q.has('uploadId') ? 'ListParts' : q.has('tagging') ? 'GetObjectTagging' : 'GetObject';
    case 'HEAD':
      return 'HeadObject';
    case 'PUT':
      if (q.has('uploadId') && q.has('partNumber')) return copy ? 'UploadPartCopy' : 'UploadPart';
      if (q.has('tagging')) return 'PutObjectTagging';
      return copy ? 'CopyObject' : 'PutObject';
    case 'POST':
      return q.has('uploads')
        ? 'CreateMultipartUpload'
        : q.has('uploadId')
          ? 'CompleteMultipartUpload'
          : 'PostObject';
    case 'DELETE':
      return q.has('uploadId')
        ? 'AbortMultipartUpload'
        : q.has('tagging')
          ? 'DeleteObjectTagging'
          : 'DeleteObject';
    default:
      return `${method}Object`;
  }
}

function bucketOperation(method: string, q: URLSearchParams): string {
  switch (method) {
    case 'GET':
      return q.has('uploads')
        ? 'ListMultipartUploads'
        : q.get('list-type') === '2'
          ? 'ListObjectsV2'
          : 'ListObjects';
    case 'HEAD':
      return 'HeadBucket';
    case 'PUT':
      return 'CreateBucket';
    case 'DELETE':
      return 'DeleteBucket';
    case 'POST':
      return q.has('delete') ? 'DeleteObjects' : 'PostBucket';
    default:
      return `${method}Bucket`;
  }
}

/**
 * The request target's path exactly as sent. WHATWG URL parsing resolves `.` and `..` segments, but S3 keys are
 * opaque strings: `incoming/a/../b.mp4` is its own key, stored and announced as written.
 */
export function rawPathOf(requestTarget: string): string {
  const path = requestTarget.split('?', 1)[0] ?? '/';
  return path.startsWith('/') ? path : new URL(requestTarget).pathname;
}

export function classifyS3(
  method: string,
  url: URL,
  headers: IncomingHttpHeaders,
  rawPath: string = url.pathname,
): S3Request {
  const segments = rawPath.split('/').slice(1);
  const bucket = segments[0] ? decodeURIComponent(segments[0]) : undefined;
  const rawKey = segments.slice(1).join('/');
  const key = rawKey ? decodeURIComponent(rawKey) : undefined;
  const query = url.searchParams;
  if (!bucket)
    return { operation: method === 'GET' ? 'ListBuckets' : `${method}Service`, bucket, key, query };
  if (!key) return { operation: bucketOperation(method, query), bucket, key, query };
  return { operation: objectOperation(method, query, headers), bucket, key, query };
}
