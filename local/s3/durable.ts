/**
 * Durable file writes for the local S3: a write is acknowledged only after its bytes and the directory entry that
 * names them are on disk (temp file → fsync → rename → fsync of the directory), so a SIGKILL or power loss leaves
 * either the old state or the new one, never a torn file.
 */

import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export const tempName = (tmpDir: string) => join(tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}`);

/** Moves a synced temp file into place and syncs the directory, so the new name survives a crash. */
export async function commitFile(temp: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  await rename(temp, target);
  await fsyncPath(dirname(target));
}

export async function writeFileDurable(tmpDir: string, target: string, data: string | Buffer): Promise<void> {
  const temp = tempName(tmpDir);
  const fh = await open(temp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await commitFile(temp, target);
}

/**
 * Streams `source` through `transforms` into a new temp file and syncs it. The caller commits it (or removes it when
 * the request turns out to be invalid, e.g. a checksum mismatch).
 */
export async function streamToTemp(
  tmpDir: string,
  source: Readable | Readable[],
  transforms: Transform[],
): Promise<string> {
  const temp = tempName(tmpDir);
  const out = createWriteStream(temp, { mode: 0o600, highWaterMark: 1024 * 1024 });
  try {
    const sources = Array.isArray(source) ? source : [source];
    // Parts are appended one after the other through the same transforms, so the digests cover the whole object.
    const input =
      sources.length === 1 && sources[0]
        ? sources[0]
        : Readable.from(
            (async function* concat() {
              for (const s of sources) for await (const c of s) yield c as Buffer;
            })(),
          );
    await pipeline([input, ...transforms, out] as ReadonlyArray<
      NodeJS.ReadableStream | NodeJS.WritableStream
    >);
    await fsyncPath(temp);
    return temp;
  } catch (e) {
    out.destroy();
    await rm(temp, { force: true });
    throw e;
  }
}

export async function writeJsonDurable(tmpDir: string, target: string, value: unknown): Promise<void> {
  await writeFileDurable(tmpDir, target, `${JSON.stringify(value)}\n`);
}
