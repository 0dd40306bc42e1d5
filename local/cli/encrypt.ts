/**
 * `secure-transcode encrypt <src> <dst> [--mode aes-cbc-pkcs7|aes-ctr] [--key-hex HEX --iv-hex HEX | --kms-key-id ID]
 *  [--endpoint-url URL]` — the Lambda step's engine on a workstation: reproduces the Elastic Transcoder tutorial's
 * `openssl enc` output, or re-encrypts existing files. With --kms-key-id the data key comes from KMS
 * GenerateDataKey under Elastic Transcoder's encryption context and the envelope (IV, wrapped key, KeyMd5) is
 * printed; the plaintext key is never printed, logged or stored.
 */

import { randomBytes } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type Checkpoint, type EncryptionMode, EncryptionModeSchema } from '../../lib/contracts.js';
import { ciphertextSize, createPartCipher } from '../../lib/crypto/aes.js';
import {
  abortEncryptedUpload,
  choosePartSize,
  completeEncryptedUpload,
  encryptToMultipart,
} from '../../lib/encrypt/engine.js';
import { runPartPipeline } from '../../lib/encrypt/pipeline.js';
import { ELASTIC_TRANSCODER_CONTEXT } from '../../lib/kms/contexts.js';
import { keyMd5, translateKmsError } from '../../lib/kms/keys.js';
import { translateS3Error } from '../../lib/s3/errors.js';
import { createMultipartUpload, MultipartWriter } from '../../lib/s3/multipart.js';
import { type RangeSource, S3RangedReader } from '../../lib/s3/ranged-reader.js';
import { FilePartSink, FileRangeSource } from './local-files.js';

const USAGE = `usage: secure-transcode encrypt <src> <dst> [--mode aes-cbc-pkcs7|aes-ctr]
       [--key-hex HEX --iv-hex HEX | --kms-key-id ID [--key-bits 128|192|256]] [--endpoint-url URL] [--part-size-mib N]
  <src>, <dst>: local paths or s3://bucket/key`;

const MiB = 1024 * 1024;

interface Io {
  stdout: Pick<Writable, 'write'>;
  stderr: Pick<Writable, 'write'>;
}

class UsageError extends Error {}

type Location = { kind: 's3'; bucket: string; key: string } | { kind: 'file'; path: string };

function parseLocation(s: string): Location {
  if (!s.startsWith('s3://')) return { kind: 'file', path: s };
  const rest = s.slice(5);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) throw new UsageError(`not an s3://bucket/key URL: ${s}`);
  return { kind: 's3', bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
}

function hexBytes(name: string, hex: string, lengths: number[]): Buffer {
  const bytes = /^([0-9a-fA-F]{2})+$/.test(hex) ? Buffer.from(hex, 'hex') : Buffer.alloc(0);
  if (!lengths.includes(bytes.length)) {
    throw new UsageError(`--${name} must be ${lengths.map((n) => n * 2).join(', ')} hex digits`);
  }
  return bytes;
}

interface KeyMaterial {
  key: Buffer;
  envelope: { wrappedKey?: string; keyMd5?: string; kmsKeyId?: string };
}

type KeyFlags = {
  'kms-key-id'?: string | undefined;
  'key-hex'?: string | undefined;
  'iv-hex'?: string | undefined;
  'key-bits'?: string | undefined;
};

async function obtainKey(values: KeyFlags, region: string): Promise<KeyMaterial> {
  if (values['kms-key-id']) {
    if (values['key-hex']) throw new UsageError('use either --key-hex/--iv-hex or --kms-key-id, not both');
    const bits = Number(values['key-bits'] ?? 128);
    if (![128, 192, 256].includes(bits)) throw new UsageError('--key-bits must be 128, 192 or 256');
    const kms = new KMSClient({ region });
    const out = await kms
      .send(
        new GenerateDataKeyCommand({
          KeyId: values['kms-key-id'],
          NumberOfBytes: bits / 8,
          EncryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT },
        }),
      )
      .catch((e: unknown) => {
        throw translateKmsError(e, 'GenerateDataKey');
      });
    if (!out.Plaintext || !out.CiphertextBlob) throw new Error('KMS GenerateDataKey returned no key');
    const blob = Buffer.from(out.CiphertextBlob);
    return {
      key: Buffer.from(out.Plaintext),
      envelope: {
        wrappedKey: blob.toString('base64'),
        keyMd5: keyMd5(blob),
        kmsKeyId: out.KeyId ?? values['kms-key-id'],
      },
    };
  }
  if (!values['key-hex'] || !values['iv-hex'])
    throw new UsageError('give --key-hex and --iv-hex, or --kms-key-id');
  return { key: hexBytes('key-hex', values['key-hex'], [16, 24, 32]), envelope: {} };
}

async function openSource(
  loc: Location,
  s3: S3Client,
): Promise<{ source: RangeSource; close: () => Promise<void>; ref?: { etag: string; versionId?: string } }> {
  if (loc.kind === 'file') {
    const size = (await stat(loc.path)).size;
    const fh = await open(loc.path, 'r');
    return { source: new FileRangeSource(fh, size), close: () => fh.close() };
  }
  const head = await s3
    .send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }))
    .catch((e: unknown) => {
      throw translateS3Error(e, 'HeadObject', loc);
    });
  const ref = {
    bucket: loc.bucket,
    key: loc.key,
    etag: head.ETag ?? '',
    versionId: head.VersionId,
    size: head.ContentLength ?? 0,
  };
  return { source: new S3RangedReader(s3, ref), close: async () => undefined, ref };
}

export async function runEncryptCommand(
  argv: string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const args = argv[0] === 'encrypt' ? argv.slice(1) : argv;
  let material: KeyMaterial | undefined;
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        mode: { type: 'string', default: 'aes-cbc-pkcs7' },
        'key-hex': { type: 'string' },
        'iv-hex': { type: 'string' },
        'kms-key-id': { type: 'string' },
        'key-bits': { type: 'string' },
        'endpoint-url': { type: 'string' },
        'part-size-mib': { type: 'string', default: '8' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (positionals.length !== 2) throw new UsageError('expected <src> and <dst>');
    const mode = EncryptionModeSchema.safeParse(values.mode);
    if (!mode.success) throw new UsageError('--mode must be aes-cbc-pkcs7 or aes-ctr');
    const src = parseLocation(positionals[0] ?? '');
    const dst = parseLocation(positionals[1] ?? '');
    const partMiB = Number(values['part-size-mib']);
    if (!Number.isInteger(partMiB) || partMiB < 5)
      throw new UsageError('--part-size-mib must be an integer ≥ 5');

    const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    const endpoint = values['endpoint-url'];
    const s3 = new S3Client({
      region,
      ...(endpoint ? { endpoint } : {}),
      forcePathStyle: Boolean(endpoint || process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL),
    });
    material = await obtainKey(values, region);
    const iv = values['iv-hex'] ? hexBytes('iv-hex', values['iv-hex'], [16]) : randomBytes(16);
    const stats = await encryptBetween({
      s3,
      src,
      dst,
      mode: mode.data,
      key: material.key,
      iv,
      partSizeBytes: partMiB * MiB,
      envelope: material.envelope,
    });
    io.stdout.write(
      `${JSON.stringify(
        {
          source: positionals[0],
          destination: positionals[1],
          mode: mode.data,
          initializationVector: iv.toString('base64'),
          initializationVectorHex: iv.toString('hex'),
          ...material.envelope,
          bytesIn: stats.bytesIn,
          bytesOut: stats.bytesOut,
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  } catch (e) {
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    io.stderr.write(`secure-transcode encrypt: ${(e as Error).message}\n${usage ? `${USAGE}\n` : ''}`);
    return usage ? 2 : 1;
  } finally {
    material?.key.fill(0);
  }
}

interface EncryptBetweenOptions {
  s3: S3Client;
  src: Location;
  dst: Location;
  mode: EncryptionMode;
  key: Buffer;
  iv: Buffer;
  partSizeBytes: number;
  envelope: KeyMaterial['envelope'];
}

async function encryptBetween(o: EncryptBetweenOptions): Promise<{ bytesIn: number; bytesOut: number }> {
  const opened = await openSource(o.src, o.s3);
  const size = opened.source.size;
  const out = { bytesIn: size, bytesOut: ciphertextSize(o.mode, size) };
  const tuning = { readAhead: 2, uploadConcurrency: 4 };
  const { wrappedKey, keyMd5: md5, kmsKeyId } = o.envelope;
  const metadata: Record<string, string> = {
    'st-mode': o.mode,
    'st-iv': o.iv.toString('base64'),
    ...(wrappedKey && md5 && kmsKeyId
      ? { 'st-wrapped-key': wrappedKey, 'st-key-md5': md5, 'st-kms-key-id': kmsKeyId }
      : {}),
  };
  try {
    if (o.dst.kind === 's3' && opened.ref && o.src.kind === 's3') {
      // S3 → S3 is exactly the Lambda step, checkpoints and all.
      let checkpoint: Checkpoint | undefined;
      do {
        checkpoint = await encryptToMultipart({
          s3: o.s3,
          source: { bucket: o.src.bucket, key: o.src.key, size, ...opened.ref },
          destination: { bucket: o.dst.bucket, key: o.dst.key, metadata },
          key: o.key,
          iv: o.iv,
          mode: o.mode,
          checkpoint,
          partSizeBytes: o.partSizeBytes,
          ...tuning,
          shouldYield: () => false,
        });
      } while (!checkpoint.done);
      await completeEncryptedUpload({
        s3: o.s3,
        ...o.dst,
        uploadId: checkpoint.uploadId,
        expectedSize: out.bytesOut,
      });
      return out;
    }
    const partSize = choosePartSize(size, o.partSizeBytes);
    const cipher = createPartCipher(o.mode, o.key, o.iv);
    const common = {
      source: opened.source,
      cipher,
      partSize,
      firstPart: 1,
      chainBlock: o.iv,
      readAhead: tuning.readAhead,
      shouldYield: () => false,
    };
    if (o.dst.kind === 'file') {
      const fh = await open(o.dst.path, 'w');
      try {
        await runPartPipeline({ ...common, sink: new FilePartSink(fh, partSize), sinkConcurrency: 1 });
      } finally {
        await fh.close();
      }
      return out;
    }
    const dest = { bucket: o.dst.bucket, key: o.dst.key };
    const uploadId = await createMultipartUpload(o.s3, { ...dest, metadata });
    try {
      await runPartPipeline({
        ...common,
        sink: new MultipartWriter(o.s3, { ...dest, uploadId }, tuning.uploadConcurrency),
        sinkConcurrency: tuning.uploadConcurrency,
      });
    } catch (e) {
      await abortEncryptedUpload({ s3: o.s3, ...dest, uploadId }).catch(() => undefined);
      throw e;
    }
    await completeEncryptedUpload({ s3: o.s3, ...dest, uploadId, expectedSize: out.bytesOut });
    return out;
  } finally {
    await opened.close();
  }
}
