import { PassThrough } from 'node:stream';

/**
 * Streams to hand a CLI command in place of the process's stdout and stderr, and what was written to each so far:
 * the commands take their IO as an argument, so a test drives them in-process and reads what a user would see.
 */
export function captureIo() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (c: Buffer) => out.push(c.toString()));
  stderr.on('data', (c: Buffer) => err.push(c.toString()));
  return { io: { stdout, stderr }, out: () => out.join(''), err: () => err.join('') };
}
