import { readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { type ObjectCreatedEvent, type S3Gateway, startS3Gateway } from '../../../local/s3/index.js';
import { dataDirCredentials, TEST_REGION } from '../../support/credentials.js';

const { dataDir, credentials, auth } = dataDirCredentials();

const client = (gateway: S3Gateway) =>
  new S3Client({
    endpoint: gateway.endpoint,
    region: TEST_REGION,
    credentials: { ...credentials },
    forcePathStyle: true,
  });

/** A raw signed PUT, for bodies the SDK would not frame the way a test needs. */
async function rawPut(
  gateway: S3Gateway,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  const host = new URL(gateway.endpoint).host;
  const signed = await new SignatureV4({
    credentials,
    region: TEST_REGION,
    service: 's3',
    sha256: Hash.bind(null, 'sha256'),
  }).sign({
    method: 'PUT',
    protocol: 'http:',
    hostname: host.split(':')[0] ?? '',
    path,
    headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...headers },
  });
  return new Promise((resolve, reject) => {
    const req = request(`${gateway.endpoint}${path}`, { method: 'PUT', headers: signed.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('local S3 store on disk (real HTTP on 127.0.0.1)', () => {
  let gateway: S3Gateway;
  let s3: S3Client;
  const events: ObjectCreatedEvent[] = [];

  beforeAll(async () => {
    gateway = await startS3Gateway({ auth, dataDir, buckets: ['plain'], versionedBuckets: ['versioned'] });
    gateway.onObjectCreated((e) => events.push(e));
    s3 = client(gateway);
  });
  afterAll(async () => {
    s3.destroy();
    await gateway.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps objects, versions and open multipart uploads across a restart of the gateway', async () => {
    // Prepare
    await s3.send(
      new PutObjectCommand({ Bucket: 'plain', Key: 'a/b.txt', Body: 'kept', ContentType: 'text/plain' }),
    );
    const v1 = await s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'k', Body: 'one' }));
    const v2 = await s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'k', Body: 'two' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'plain', Key: 'mp' }));
    await s3.send(
      new UploadPartCommand({
        Bucket: 'plain',
        Key: 'mp',
        UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(10, 1),
      }),
    );
    // Act
    s3.destroy();
    await gateway.stop();
    gateway = await startS3Gateway({ auth, dataDir });
    gateway.onObjectCreated((e) => events.push(e));
    s3 = client(gateway);
    const plain = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'a/b.txt' }));
    const old = await s3.send(
      new GetObjectCommand({ Bucket: 'versioned', Key: 'k', VersionId: v1.VersionId }),
    );
    const latest = await s3.send(new GetObjectCommand({ Bucket: 'versioned', Key: 'k' }));
    const parts = await s3.send(new ListPartsCommand({ Bucket: 'plain', Key: 'mp', UploadId }));
    // Assess
    expect(await plain.Body?.transformToString()).toBe('kept');
    expect(plain.ContentType).toBe('text/plain');
    expect(await old.Body?.transformToString()).toBe('one');
    expect([await latest.Body?.transformToString(), latest.VersionId]).toEqual(['two', v2.VersionId]);
    expect(parts.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([[1, 10]]);
    expect(readdirSync(join(dataDir, 's3', 'tmp'))).toEqual([]);
  });

  it('versions writes, hides a deleted key behind a delete marker and lists every version', async () => {
    // Prepare
    const status = await s3.send(new GetBucketVersioningCommand({ Bucket: 'versioned' }));
    const first = await s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'doc', Body: 'v1' }));
    events.length = 0;
    const second = await s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'doc', Body: 'v2' }));
    // Act
    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'doc' }));
    const gone = s3.send(new GetObjectCommand({ Bucket: 'versioned', Key: 'doc' }));
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: 'versioned', Prefix: 'doc' }));
    // Assess
    expect(status.Status).toBe('Enabled');
    expect(first.VersionId).not.toBe(second.VersionId);
    expect(events.map((e) => [e.key, e.versionId])).toEqual([['doc', second.VersionId]]);
    expect(deleted.DeleteMarker).toBe(true);
    await expect(gone).rejects.toMatchObject({ name: 'NoSuchKey' });
    expect(listed.Versions?.map((v) => v.VersionId)).toEqual([second.VersionId, first.VersionId]);
    expect(listed.DeleteMarkers?.map((d) => [d.VersionId, d.IsLatest])).toEqual([[deleted.VersionId, true]]);
  });

  it('writes no version id for an unversioned bucket until versioning is enabled', async () => {
    // Prepare
    await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'before', Body: 'x' }));
    const before = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'before' }));
    // Act
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: 'plain', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const after = await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'after', Body: 'y' }));
    // Assess
    expect(before.VersionId).toBeUndefined();
    expect(after.VersionId).toMatch(/^[0-9a-f]{14}/);
  });

  it('decodes a signed aws-chunked body with a checksum trailer and stores only the payload', async () => {
    // Prepare
    const payload = 'hello aws-chunked';
    const sig = `;chunk-signature=${'0'.repeat(64)}`;
    const body = `${payload.length.toString(16)}${sig}\r\n${payload}\r\n0${sig}\r\nx-amz-checksum-crc32:${crc32(payload)}\r\n\r\n`;
    // Act
    const put = await rawPut(
      gateway,
      '/plain/chunked',
      {
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': String(payload.length),
        'x-amz-trailer': 'x-amz-checksum-crc32',
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'chunked' }));
    // Assess
    expect(put.status).toBe(200);
    expect(await got.Body?.transformToString()).toBe(payload);
  });

  it('refuses a body whose Content-MD5 does not match and keeps the previous object', async () => {
    // Prepare
    await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'md5', Body: 'original' }));
    // Act
    const put = await rawPut(
      gateway,
      '/plain/md5',
      { 'content-md5': Buffer.alloc(16).toString('base64'), 'content-length': '8' },
      'replaced',
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'md5' }));
    // Assess
    expect(put.status).toBe(400);
    expect(put.body).toContain('<Code>BadDigest</Code>');
    expect(await got.Body?.transformToString()).toBe('original');
  });

  it('accepts metadata a client signed as UTF-8 text and sent as UTF-8 bytes', async () => {
    // Prepare
    // Node's HTTP client, like botocore, sends a header's text as UTF-8 bytes.
    const value = 'Hello World é';
    // Act
    const put = await rawPut(
      gateway,
      '/plain/unicode-meta',
      { 'x-amz-meta-greeting': value, 'content-length': '3' },
      'bar',
    );
    // Assess
    expect(put).toEqual({ status: 200, body: '' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'plain', Key: 'unicode-meta' }));
    expect(head.Metadata?.greeting).toBe(value);
  });

  it('deletes only when If-Match holds, and lays no delete marker over a key that has no versions', async () => {
    // Prepare
    const put = await s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'guarded', Body: 'v1' }));
    // Act
    const wrongTag = await s3
      .send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'guarded', IfMatch: '"0"' }))
      .catch((e: unknown) => e);
    const removed = await s3.send(
      new DeleteObjectCommand({ Bucket: 'versioned', Key: 'guarded', IfMatch: put.ETag }),
    );
    await s3.send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'never-written', IfMatch: '*' }));
    const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: 'versioned', Prefix: 'never' }));
    // Assess
    expect(wrongTag).toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
    expect(removed.DeleteMarker).toBe(true);
    expect([versions.Versions ?? [], versions.DeleteMarkers ?? []]).toEqual([[], []]);
  });

  it('deletes each object of a DeleteObjects request only when its ETag matches', async () => {
    // Prepare
    const a = await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'batch-a', Body: 'a' }));
    await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'batch-b', Body: 'b' }));
    // Act
    const out = await s3.send(
      new DeleteObjectsCommand({
        Bucket: 'plain',
        Delete: {
          Objects: [
            { Key: 'batch-a', ETag: a.ETag },
            { Key: 'batch-b', ETag: '"not-its-etag"' },
          ],
        },
      }),
    );
    const kept = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'batch-b' }));
    // Assess
    expect(out.Deleted?.map((d) => d.Key)).toEqual(['batch-a']);
    expect(out.Errors?.map((e) => [e.Key, e.Code])).toEqual([['batch-b', 'PreconditionFailed']]);
    expect(await kept.Body?.transformToString()).toBe('b');
  });

  it('completes a multipart upload with If-None-Match: * only while the key is free', async () => {
    // Prepare
    const complete = async (key: string) => {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'plain', Key: key }));
      const part = await s3.send(
        new UploadPartCommand({ Bucket: 'plain', Key: key, UploadId, PartNumber: 1, Body: key }),
      );
      return s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'plain',
          Key: key,
          UploadId,
          IfNoneMatch: '*',
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      );
    };
    // Act
    const first = await complete('exclusive');
    const second = complete('exclusive');
    // Assess
    expect(first.ETag).toMatch(/-1"$/);
    await expect(second).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
  });

  it('checks and keeps a CRC-64/NVME checksum, and refuses a body that does not match it', async () => {
    // Prepare: a published CRC-64/NVME vector, 1024 bytes of "A"
    const body = Buffer.alloc(1024, 'A');
    const expected = 'Qeh8oXvGiSo=';
    // Act
    const put = await s3.send(
      new PutObjectCommand({ Bucket: 'plain', Key: 'crc64', Body: body, ChecksumCRC64NVME: expected }),
    );
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: 'plain', Key: 'crc64', ChecksumMode: 'ENABLED' }),
    );
    const wrong = await s3
      .send(
        new PutObjectCommand({ Bucket: 'plain', Key: 'crc64', Body: 'other', ChecksumCRC64NVME: expected }),
      )
      .catch((e: unknown) => e);
    // Assess
    expect([put.ChecksumCRC64NVME, head.ChecksumCRC64NVME]).toEqual([expected, expected]);
    expect(wrong).toMatchObject({ name: 'BadDigest' });
  });

  it('completes a FULL_OBJECT CRC-32 upload with the checksum of the whole object, not of its parts', async () => {
    // Prepare
    const parts = [Buffer.alloc(5 * 1024 * 1024, 'A'), Buffer.from('tail')];
    const whole = Buffer.alloc(4);
    whole.writeUInt32BE(zlibCrc32(Buffer.concat(parts)));
    const created = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: 'plain',
        Key: 'full-object',
        ChecksumAlgorithm: 'CRC32',
        ChecksumType: 'FULL_OBJECT',
      }),
    );
    const uploaded = [];
    for (const [i, part] of parts.entries())
      uploaded.push(
        await s3.send(
          new UploadPartCommand({
            Bucket: 'plain',
            Key: 'full-object',
            UploadId: created.UploadId,
            PartNumber: i + 1,
            Body: part,
            ChecksumAlgorithm: 'CRC32',
          }),
        ),
      );
    // Act
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'plain',
        Key: 'full-object',
        UploadId: created.UploadId,
        ChecksumCRC32: whole.toString('base64'),
        ChecksumType: 'FULL_OBJECT',
        MultipartUpload: {
          Parts: uploaded.map((u, i) => ({
            PartNumber: i + 1,
            ETag: u.ETag,
            ChecksumCRC32: u.ChecksumCRC32,
          })),
        },
      }),
    );
    // Assess
    expect(created.ChecksumType).toBe('FULL_OBJECT');
    expect([done.ChecksumCRC32, done.ChecksumType]).toEqual([whole.toString('base64'), 'FULL_OBJECT']);
  });

  it('answers an unsatisfiable range with 416 and a suffix range with the last bytes', async () => {
    // Prepare
    await s3.send(new PutObjectCommand({ Bucket: 'plain', Key: 'range', Body: '0123456789' }));
    // Act
    const tail = await s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'range', Range: 'bytes=-3' }));
    const beyond = s3.send(new GetObjectCommand({ Bucket: 'plain', Key: 'range', Range: 'bytes=20-' }));
    // Assess
    expect([await tail.Body?.transformToString(), tail.ContentRange]).toEqual(['789', 'bytes 7-9/10']);
    await expect(beyond).rejects.toMatchObject({ $metadata: { httpStatusCode: 416 } });
  });
});

function crc32(text: string): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(zlibCrc32(Buffer.from(text)));
  return out.toString('base64');
}
