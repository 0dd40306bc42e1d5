/**
 * `secure-transcode encrypt <src> <dst> [--mode aes-cbc-pkcs7|aes-ctr] [--key-file PATH --iv-hex HEX | --kms-key-id ID]
 *  [--endpoint-url URL]` — the Lambda step's engine on a workstation: reproduces the Elastic Transcoder tutorial's
 * `openssl enc` output, or re-encrypts existing files. With --kms-key-id the data key comes from KMS
 * GenerateDataKey under Elastic Transcoder's encryption context and the envelope (IV, wrapped key, KeyMd5) is
 * printed; the plaintext key is never printed, logged or stored.
 *
 * Endpoints: `--endpoint-url` is used for S3 and KMS alike (like the AWS CLI's flag, for an emulator with one
 * endpoint); `--s3-endpoint-url` / `--kms-endpoint-url` set one each. Without any, a running local stack's
 * `<data-dir>/endpoints.json` supplies both (and its region and credentials); otherwise the SDK's own
 * `AWS_ENDPOINT_URL_*` variables and credential chain apply.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
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
import { CommandError, parseCliArgs, privateDataDirFrom, UsageError } from './common.js';
import { keyFromFile, requireSafeKeyFlags, UNSAFE_KEY_FLAG } from './key-file.js';
import { FilePartSink, FileRangeSource } from './local-files.js';

export const ENCRYPT_USAGE = `Usage: secure-transcode encrypt <src> <dst> [options]

Encrypts a file or S3 object exactly as the workflow's EncryptSource step does (byte-identical to
\`openssl enc -nosalt\`). <src> and <dst> are local paths or s3://bucket/key URLs. With --kms-key-id the data key comes
from KMS and the envelope (IV, wrapped key, KeyMd5) is printed; the plaintext key never is.

Options:
  --mode MODE              aes-cbc-pkcs7 (default) or aes-ctr
  --key-file PATH          a 16/24/32-byte key in hex, read from PATH ("-": standard input), with --iv-hex
  --key-hex HEX            the key on the command line, where every local user can read it (ps,
                           /proc/<pid>/cmdline): refused unless --unsafe-key-on-command-line is given too
  --unsafe-key-on-command-line
                           accept --key-hex anyway
  --iv-hex HEX             a 16-byte IV in hex, with --key-file or --key-hex
  --kms-key-id ID          generate the data key with KMS under Elastic Transcoder's encryption context
  --key-bits N             128 (default), 192 or 256, with --kms-key-id
  --endpoint-url URL       S3 and KMS endpoint (default: the running local stack's endpoints.json, if any)
  --s3-endpoint-url URL    S3 endpoint only
  --kms-endpoint-url URL   KMS endpoint only
  --data-dir DIR           local stack whose endpoints.json to use (default ./.secure-transcode/)
  --part-size-mib N        multipart part size, at least 5 (default 8)
  -h, --help               show this help`;

const MiB = 1024 * 1024;

interface Io {
  stdout: Pick<Writable, 'write'>;
  stderr: Pick<Writable, 'write'>;
  /** Where `--key-file -` reads the key (default: the process's standard input). */
  stdin?: NodeJS.ReadableStream;
}

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
  'key-file'?: string | undefined;
  'iv-hex'?: string | undefined;
  'key-bits'?: string | undefined;
};

async function obtainKey(
  values: KeyFlags,
  kms: () => KMSClient,
  stdin: NodeJS.ReadableStream,
): Promise<KeyMaterial> {
  if (values['kms-key-id']) {
    if (values['key-hex'] || values['key-file'])
      throw new UsageError('use either --key-file (or --key-hex) with --iv-hex, or --kms-key-id, not both');
    const bits = Number(values['key-bits'] ?? 128);
    if (![128, 192, 256].includes(bits)) throw new UsageError('--key-bits must be 128, 192 or 256');
    const out = await kms()
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
  if ((!values['key-hex'] && !values['key-file']) || !values['iv-hex'])
    throw new UsageError('give --key-file and --iv-hex, or --kms-key-id');
  if (values['key-file'])
    return { key: await keyFromFile(values['key-file'], stdin, [16, 24, 32]), envelope: {} };
  return { key: hexBytes('key-hex', values['key-hex'] ?? '', [16, 24, 32]), envelope: {} };
}

async function openSource(
  loc: Location,
  s3: S3Client,
): Promise<{ source: RangeSource; close: () => Promise<void>; ref?: { etag: string; versionId?: string } }> {
  if (loc.kind === 'file') {
    const info = await stat(loc.path).catch(() => undefined);
    if (!info) throw new CommandError(`Source file not found: ${loc.path}`);
    if (!info.isFile()) throw new CommandError(`Source is not a file: ${loc.path}`);
    const size = info.size;
    const fh = await open(loc.path, 'r').catch((e: NodeJS.ErrnoException) => {
      throw new CommandError(`Source file is not readable: ${loc.path} (${e.code})`);
    });
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

/** Checks a local destination before any work: its folder must exist and it must not be a folder itself. */
async function checkDestination(loc: Location): Promise<void> {
  if (loc.kind !== 'file') return;
  const info = await stat(loc.path).catch(() => undefined);
  if (info?.isDirectory())
    throw new CommandError(`Destination is a directory: ${loc.path} (give a file name)`);
  const parent = await stat(dirname(loc.path)).catch(() => undefined);
  if (!parent?.isDirectory())
    throw new CommandError(`Destination folder does not exist: ${dirname(loc.path)}`);
}

interface StackEndpoints {
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  endpoints: { s3: string; kms: string };
}

/** The running local stack's endpoints, region and credentials, if `<data-dir>/endpoints.json` exists. */
function stackEndpoints(dataDir: string): StackEndpoints | undefined {
  const path = join(dataDir, 'endpoints.json');
  if (!existsSync(path)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<StackEndpoints>;
    if (!parsed.endpoints?.s3 || !parsed.endpoints.kms || !parsed.credentials || !parsed.region)
      return undefined;
    return parsed as StackEndpoints;
  } catch {
    throw new CommandError(`${path} is not a stack endpoints file`);
  }
}

function parse(args: string[]) {
  return parseCliArgs({
    args,
    allowPositionals: true,
    options: {
      mode: { type: 'string', default: 'aes-cbc-pkcs7' },
      'key-hex': { type: 'string' },
      'key-file': { type: 'string' },
      [UNSAFE_KEY_FLAG]: { type: 'boolean', default: false },
      'iv-hex': { type: 'string' },
      'kms-key-id': { type: 'string' },
      'key-bits': { type: 'string' },
      'endpoint-url': { type: 'string' },
      's3-endpoint-url': { type: 'string' },
      'kms-endpoint-url': { type: 'string' },
      'data-dir': { type: 'string' },
      'part-size-mib': { type: 'string', default: '8' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

export async function runEncryptCommand(
  argv: string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const args = argv[0] === 'encrypt' ? argv.slice(1) : argv;
  let material: KeyMaterial | undefined;
  const clients: Array<{ destroy(): void }> = [];
  try {
    const { values, positionals } = parse(args);
    if (values.help) {
      io.stdout.write(`${ENCRYPT_USAGE}\n`);
      return 0;
    }
    requireSafeKeyFlags(values);
    if (positionals.length !== 2) throw new UsageError('expected <src> and <dst>');
    const mode = EncryptionModeSchema.safeParse(values.mode);
    if (!mode.success) throw new UsageError('--mode must be aes-cbc-pkcs7 or aes-ctr');
    const src = parseLocation(positionals[0] ?? '');
    const dst = parseLocation(positionals[1] ?? '');
    const partMiB = Number(values['part-size-mib']);
    if (!Number.isInteger(partMiB) || partMiB < 5)
      throw new UsageError('--part-size-mib must be an integer ≥ 5');
    if (src.kind === 'file' && dst.kind === 'file' && src.path === dst.path)
      throw new UsageError('<src> and <dst> are the same file');
    await checkDestination(dst);

    const explicit = values['endpoint-url'];
    const s3Endpoint = values['s3-endpoint-url'] ?? explicit;
    const kmsEndpoint = values['kms-endpoint-url'] ?? explicit;
    const envEndpoint =
      process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL_KMS || process.env.AWS_ENDPOINT_URL;
    // endpoints.json carries credentials and endpoints: read only from a data directory no one else can prepare.
    const dataDir =
      s3Endpoint || kmsEndpoint || envEndpoint ? undefined : privateDataDirFrom(values['data-dir'], 'read');
    const stack = dataDir === undefined ? undefined : stackEndpoints(dataDir);
    if (stack && dataDir)
      io.stderr.write(`Using the local stack's endpoints (${join(dataDir, 'endpoints.json')}).\n`);
    const region = stack?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    const base = { region, ...(stack ? { credentials: { ...stack.credentials } } : {}) };
    const s3Url = s3Endpoint ?? stack?.endpoints.s3;
    const kmsUrl = kmsEndpoint ?? stack?.endpoints.kms;
    const s3 = new S3Client({
      ...base,
      ...(s3Url ? { endpoint: s3Url } : {}),
      forcePathStyle: Boolean(s3Url || process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL),
    });
    clients.push(s3);
    material = await obtainKey(
      values,
      () => {
        const kms = new KMSClient({ ...base, ...(kmsUrl ? { endpoint: kmsUrl } : {}) });
        clients.push(kms);
        return kms;
      },
      io.stdin ?? process.stdin,
    );
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
    const usage = e instanceof UsageError;
    io.stderr.write(
      `secure-transcode encrypt: ${(e as Error).message}\n${usage ? 'Run `secure-transcode encrypt --help` for usage.\n' : ''}`,
    );
    return usage ? 2 : 1;
  } finally {
    material?.key.fill(0);
    for (const c of clients) c.destroy();
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
