/**
 * A job's input on local disk: downloaded into the job's private directory, decrypted there when it is
 * client-side encrypted (the encrypted copy is removed at once), and probed with ffmpeg.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { type DecryptionMode, decryptFile } from './decrypt.js';
import { EngineError } from './errors.js';
import { type MediaInfo, parseInput, runFfmpeg } from './ffmpeg.js';
import { downloadInput } from './s3io.js';

export interface InputSpec {
  bucket: string;
  key: string;
  decryption?: {
    mode: DecryptionMode;
    iv: Buffer;
    /**
     * The plaintext key, asked for once the input is downloaded (so a missing input is reported before a refused
     * key); the engine zeroes it after use.
     */
    key: () => Promise<Buffer>;
  };
}

export interface PreparedInput {
  /** The decrypted file ffmpeg reads. */
  file: string;
  info: MediaInfo;
}

/** Downloads, decrypts and probes the input into `work`; throws EngineError when it cannot be read as media. */
export async function prepareInput(
  deps: { s3: S3Client; ffmpeg: string },
  input: InputSpec,
  work: string,
  signal?: AbortSignal,
): Promise<PreparedInput> {
  const source = join(work, 'input.src');
  await downloadInput(deps.s3, input.bucket, input.key, source, signal);
  let file = source;
  if (input.decryption) {
    const key = await input.decryption.key();
    try {
      file = join(work, 'input.dec');
      await decryptFile(source, file, input.decryption.mode, key, input.decryption.iv);
    } finally {
      key.fill(0);
    }
    await rm(source);
  }
  const info = parseInput((await runFfmpeg(deps.ffmpeg, ['-i', file], signal)).stderr);
  if (!info) throw new EngineError('NotMedia', undefined, { bucket: input.bucket, key: input.key });
  return { file, info };
}
