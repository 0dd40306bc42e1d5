/**
 * In-memory fakes behind aws-sdk-client-mock for whole-path state-machine tests: just enough S3 (objects, ranges,
 * If-Match, multipart), KMS (blobs mapped to random plaintext keys) and Elastic Transcoder to run the real handlers.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  KMSClient,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/util-stream';
import type { AwsStub } from 'aws-sdk-client-mock';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const s3err = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

interface Obj {
  body: Buffer;
  etag: string;
  metadata: Record<string, string>;
}

export class FakeS3 {
  readonly objects = new Map<string, Obj>();
  readonly uploads = new Map<
    string,
    { bucket: string; key: string; metadata: Record<string, string>; parts: Map<number, Buffer> }
  >();
  private seq = 0;

  put(bucket: string, key: string, body: Buffer, metadata: Record<string, string> = {}): void {
    this.objects.set(`${bucket}/${key}`, { body, etag: `"${md5(body)}"`, metadata });
  }

  get(bucket: string, key: string): Obj | undefined {
    return this.objects.get(`${bucket}/${key}`);
  }

  // biome-ignore lint/suspicious/noExplicitAny: the stub's generic parameters differ per client version
  install(mock: AwsStub<any, any, any>): void {
    mock.on(HeadObjectCommand).callsFake(async (i) => {
      const o = this.get(i.Bucket, i.Key);
      if (!o) throw s3err('NotFound', 404);
      return { ContentLength: o.body.length, ETag: o.etag, Metadata: o.metadata, ContentType: 'video/mp4' };
    });
    mock.on(GetObjectCommand).callsFake(async (i) => {
      const o = this.get(i.Bucket, i.Key);
      if (!o) throw s3err('NoSuchKey', 404);
      if (i.IfMatch && i.IfMatch !== o.etag) throw s3err('PreconditionFailed', 412);
      let body = o.body;
      const m = /^bytes=(\d+)-(\d+)?$/.exec(i.Range ?? '');
      if (m) body = body.subarray(Number(m[1]), m[2] === undefined ? undefined : Number(m[2]) + 1);
      return { Body: sdkStreamMixin(Readable.from([body])), ContentLength: body.length, ETag: o.etag };
    });
    mock.on(PutObjectCommand).callsFake(async (i) => {
      this.put(i.Bucket, i.Key, Buffer.from(i.Body as string | Uint8Array), i.Metadata ?? {});
      return { ETag: this.get(i.Bucket, i.Key)?.etag };
    });
    mock.on(DeleteObjectCommand).callsFake(async (i) => {
      this.objects.delete(`${i.Bucket}/${i.Key}`);
      return {};
    });
    mock.on(ListObjectsV2Command).callsFake(async (i) => ({
      Contents: [...this.objects.keys()]
        .filter((k) => k.startsWith(`${i.Bucket}/${i.Prefix ?? ''}`))
        .map((k) => ({ Key: k.slice(i.Bucket.length + 1) })),
      IsTruncated: false,
    }));
    mock.on(DeleteObjectsCommand).callsFake(async (i) => {
      for (const o of i.Delete?.Objects ?? []) this.objects.delete(`${i.Bucket}/${o.Key}`);
      return {};
    });
    mock.on(CreateMultipartUploadCommand).callsFake(async (i) => {
      const id = `upload-${++this.seq}`;
      this.uploads.set(id, { bucket: i.Bucket, key: i.Key, metadata: i.Metadata ?? {}, parts: new Map() });
      return { UploadId: id, Bucket: i.Bucket, Key: i.Key };
    });
    mock.on(UploadPartCommand).callsFake(async (i) => {
      const u = this.uploads.get(i.UploadId);
      if (!u) throw s3err('NoSuchUpload', 404);
      const body = Buffer.from(i.Body as Uint8Array);
      u.parts.set(i.PartNumber, body);
      return { ETag: `"${md5(body)}"` };
    });
    mock.on(ListPartsCommand).callsFake(async (i) => {
      const u = this.uploads.get(i.UploadId);
      if (!u) throw s3err('NoSuchUpload', 404);
      const parts = [...u.parts.entries()].sort((a, b) => a[0] - b[0]);
      return {
        Parts: parts.map(([n, b]) => ({ PartNumber: n, ETag: `"${md5(b)}"`, Size: b.length })),
        IsTruncated: false,
      };
    });
    mock.on(CompleteMultipartUploadCommand).callsFake(async (i) => {
      const u = this.uploads.get(i.UploadId);
      if (!u) throw s3err('NoSuchUpload', 404);
      const body = Buffer.concat(
        (i.MultipartUpload?.Parts ?? []).map(
          (p: { PartNumber: number }) => u.parts.get(p.PartNumber) ?? Buffer.alloc(0),
        ),
      );
      this.put(u.bucket, u.key, body, u.metadata);
      this.uploads.delete(i.UploadId);
      return { ETag: this.get(u.bucket, u.key)?.etag };
    });
    mock.on(AbortMultipartUploadCommand).callsFake(async (i) => {
      if (!this.uploads.delete(i.UploadId)) throw s3err('NoSuchUpload', 404);
      return {};
    });
  }
}

export const FAKE_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';

/** Context as KMS compares it: the same pairs in any order. */
function canonicalContext(context: Record<string, string> | undefined): string {
  return JSON.stringify(Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function kmsError(name: string): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: 400 } });
}

/** Blobs are opaque random tokens; their plaintexts are kept here so tests can hunt for them in every output. */
export class FakeKms {
  /** Blob (base64) → the plaintext it wraps, the context it is bound to and the key ARN that wrapped it. */
  readonly plaintexts = new Map<string, { key: Buffer; context: string; keyArn: string }>();
  /** Key ids and aliases that DescribeKey (and Decrypt's KeyId) resolve to other ARNs; anything else is FAKE_KEY_ARN. */
  readonly keyArns = new Map<string, string>();
  failDecryptWith: string | undefined;
  failGenerateWith: string | undefined;
  /** Throttle this many GenerateDataKeyWithoutPlaintext calls before answering (exercises ASL Retry). */
  throttleGenerate = 0;

  private resolve(keyId: string | undefined): string {
    if (keyId === undefined) return FAKE_KEY_ARN;
    return this.keyArns.get(keyId) ?? (keyId.startsWith('arn:') ? keyId : FAKE_KEY_ARN);
  }

  /** The entry for a blob if it is bound to `context` (and, when given, wrapped by `keyId`); else KMS's error. */
  private unseal(
    blob: Uint8Array | undefined,
    context: Record<string, string> | undefined,
    keyId: string | undefined,
  ): { key: Buffer; context: string; keyArn: string } {
    const entry = this.plaintexts.get(Buffer.from(blob ?? new Uint8Array()).toString('base64'));
    if (!entry || entry.context !== canonicalContext(context)) throw kmsError('InvalidCiphertextException');
    if (keyId !== undefined && this.resolve(keyId) !== entry.keyArn) throw kmsError('IncorrectKeyException');
    return entry;
  }

  // biome-ignore lint/suspicious/noExplicitAny: see FakeS3.install
  install(mock: AwsStub<any, any, any>): void {
    mock.on(GenerateDataKeyWithoutPlaintextCommand).callsFake(async (i) => {
      if (this.throttleGenerate > 0) {
        this.throttleGenerate -= 1;
        throw Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottlingException',
          $metadata: { httpStatusCode: 400 },
        });
      }
      if (this.failGenerateWith) throw kmsError(this.failGenerateWith);
      const key = randomBytes(i.NumberOfBytes ?? (i.KeySpec === 'AES_256' ? 32 : 16));
      const blob = randomBytes(48);
      const keyArn = this.resolve(i.KeyId);
      this.plaintexts.set(blob.toString('base64'), {
        key,
        context: canonicalContext(i.EncryptionContext),
        keyArn,
      });
      return { CiphertextBlob: blob, KeyId: keyArn };
    });
    mock.on(DecryptCommand).callsFake(async (i) => {
      if (this.failDecryptWith) throw kmsError(this.failDecryptWith);
      const entry = this.unseal(i.CiphertextBlob, i.EncryptionContext, i.KeyId);
      return { Plaintext: Buffer.from(entry.key), KeyId: entry.keyArn };
    });
    mock.on(DescribeKeyCommand).callsFake(async (i) => ({
      KeyMetadata: { KeyId: 'k', Arn: this.resolve(i.KeyId), Enabled: true },
    }));
    // The same plaintext under a new blob, bound to the destination key and context; it never leaves the fake.
    mock.on(ReEncryptCommand).callsFake(async (i) => {
      const entry = this.unseal(i.CiphertextBlob, i.SourceEncryptionContext, i.SourceKeyId);
      const blob = randomBytes(48);
      const keyArn = this.resolve(i.DestinationKeyId);
      this.plaintexts.set(blob.toString('base64'), {
        key: Buffer.from(entry.key),
        context: canonicalContext(i.DestinationEncryptionContext),
        keyArn,
      });
      return { CiphertextBlob: blob, KeyId: keyArn, SourceKeyId: entry.keyArn };
    });
  }

  /** The plaintext a blob wraps, only under the context (and key) it is bound to — as KMS Decrypt would answer. */
  decrypt(wrappedKey: string, context: Record<string, string>, keyId?: string): Buffer {
    return Buffer.from(this.unseal(Buffer.from(wrappedKey, 'base64'), context, keyId).key);
  }

  /** Every plaintext key in raw (latin1), base64, base64url and hex form. */
  secretForms(): string[] {
    return [...this.plaintexts.values()].flatMap(({ key }) => [
      key.toString('base64'),
      key.toString('base64url'),
      key.toString('hex'),
      key.toString('hex').toUpperCase(),
      key.toString('latin1'),
    ]);
  }
}

// keep `KMSClient`/`S3Client` imports meaningful for callers that mock them
export { KMSClient, S3Client };
