/**
 * `encrypt --key-file PATH`: the key in hex, read from a file or (`-`) standard input. A key on the command line is in
 * /proc/<pid>/cmdline, which every local user can read for as long as the command runs, so this is the way to hand
 * over a key; `--key-hex` stays only behind `--unsafe-key-on-command-line`. The key is decoded from the bytes read,
 * with no intermediate string, and the bytes read are zeroed afterwards.
 */
import { readFile, stat } from 'node:fs/promises';
import { CommandError, UsageError } from './common.js';

/** Enough for a 64-digit key with any line ending and spacing; anything longer is not a key file. */
const MAX_KEY_FILE_BYTES = 4096;

export const UNSAFE_KEY_FLAG = 'unsafe-key-on-command-line';

/** Refuses `--key-hex` unless the user accepted that other local users can read it (a usage error, exit 2). */
export function requireSafeKeyFlags(values: {
  'key-hex'?: string | undefined;
  'key-file'?: string | undefined;
  [UNSAFE_KEY_FLAG]?: boolean | undefined;
}): void {
  if (values['key-hex'] !== undefined && values['key-file'] !== undefined)
    throw new UsageError('give the key once: --key-file or --key-hex, not both');
  if (values['key-hex'] !== undefined && !values[UNSAFE_KEY_FLAG]) {
    throw new UsageError(
      '--key-hex puts the key on the command line, where every local user can read it (ps, /proc/<pid>/cmdline). ' +
        'Use --key-file PATH (the key in hex; --key-file - reads it from standard input), ' +
        `or add --${UNSAFE_KEY_FLAG} to accept the exposure.`,
    );
  }
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += bytes.length;
    chunks.push(bytes);
    if (size > MAX_KEY_FILE_BYTES) break;
  }
  const all = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  return all;
}

async function readKeyBytes(path: string, stdin: NodeJS.ReadableStream): Promise<Buffer> {
  if (path === '-') return readStdin(stdin);
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new CommandError(`Key file not found: ${path}`);
  if (!info.isFile()) throw new CommandError(`Key file is not a file: ${path}`);
  if (info.size > MAX_KEY_FILE_BYTES) throw new CommandError(`Key file is too large to hold a key: ${path}`);
  return readFile(path);
}

function nibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

const isSpace = (c: number | undefined) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/** The key in `raw` (hex digits, surrounding whitespace allowed); `raw` is zeroed whatever happens. */
export function decodeHexKey(raw: Buffer, where: string, lengths: number[]): Buffer {
  try {
    let start = 0;
    let end = raw.length;
    while (start < end && isSpace(raw[start])) start++;
    while (end > start && isSpace(raw[end - 1])) end--;
    const digits = end - start;
    const problem = `${where} must hold a ${lengths.join(', ')}-byte key as ${lengths.map((n) => n * 2).join(', ')} hex digits`;
    if (digits % 2 !== 0 || !lengths.includes(digits / 2)) throw new UsageError(problem);
    const key = Buffer.alloc(digits / 2);
    for (let i = 0; i < key.length; i++) {
      const hi = nibble(raw[start + 2 * i] ?? 0);
      const lo = nibble(raw[start + 2 * i + 1] ?? 0);
      if (hi < 0 || lo < 0) {
        key.fill(0);
        throw new UsageError(problem);
      }
      key[i] = hi * 16 + lo;
    }
    return key;
  } finally {
    raw.fill(0);
  }
}

/** Reads and decodes `--key-file PATH` (`-` is standard input). */
export async function keyFromFile(
  path: string,
  stdin: NodeJS.ReadableStream,
  lengths: number[],
): Promise<Buffer> {
  const where = path === '-' ? 'standard input (--key-file -)' : `--key-file ${path}`;
  return decodeHexKey(await readKeyBytes(path, stdin), where, lengths);
}
