/** Pieces shared by the `run`, `up` and `status` commands. */
import { access, constants, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { FfmpegBinary } from '../engine/index.js';
import { checkPrivateDataDir, openPrivateDataDir, UnsafeDataDirError } from '../private-dir.js';

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
}

export const DEFAULT_DATA_DIR = '.secure-transcode';

/** `node:util` parseArgs with its errors turned into UsageError (exit 2 with the message). */
export function parseCliArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A problem with how the command was called: printed with the usage, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A problem the user can fix (missing file, busy port …): printed without a stack trace, exit code 1. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

/** Checks a `--faults` spec up front, so a typo is a usage error rather than a failure halfway through start-up. */
export async function faultsFrom(spec: string | undefined): Promise<string | undefined> {
  if (spec === undefined) return undefined;
  const { FaultInjector } = await import('../faults.js');
  try {
    FaultInjector.parse(spec);
  } catch (e) {
    throw new UsageError(`--faults: ${(e as Error).message}`);
  }
  return spec;
}

export function dataDirFrom(value: string | undefined): string {
  return resolve(value ?? DEFAULT_DATA_DIR);
}

/**
 * The data directory's real path once no other user can have prepared it (`local/private-dir.ts`): created
 * when a command writes there (`create`), left missing when it only reads. A refusal is a CommandError saying what
 * to do.
 */
export function privateDataDirFrom(value: string | undefined, use: 'create' | 'read'): string {
  return asCommandError(() =>
    use === 'create' ? openPrivateDataDir(dataDirFrom(value)) : checkPrivateDataDir(dataDirFrom(value)),
  );
}

/** Runs `check`, turning an unsafe data directory or secret file into a CommandError (exit 1, no stack trace). */
export function asCommandError<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof UnsafeDataDirError) throw new CommandError(e.message);
    throw e;
  }
}

const BACKENDS = ['mediaconvert', 'elastictranscoder'] as const;
/** `--backend`: the transcoder the workflow submits to. */
export function backendFrom(value: string | undefined): (typeof BACKENDS)[number] {
  if (value === undefined) return 'mediaconvert';
  const backend = BACKENDS.find((b) => b === value);
  if (!backend) throw new UsageError(`--backend must be mediaconvert or elastictranscoder, got "${value}"`);
  return backend;
}

export function portFrom(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new UsageError(`${flag} must be a port number (1–65535), got "${value}"`);
  return n;
}

export async function requireReadableFile(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new CommandError(`File not found: ${path}`);
  if (!info.isFile()) throw new CommandError(`Not a file: ${path}`);
  await access(path, constants.R_OK).catch(() => {
    throw new CommandError(`File is not readable: ${path}`);
  });
  if (info.size === 0) throw new CommandError(`File is empty: ${path}`);
}

/** The ffmpeg binary: FFMPEG_PATH, else an ffmpeg ≥ 5 on PATH, else the one inside @ffmpeg-installer/ffmpeg. */
export async function selectFfmpegOrExplain(): Promise<FfmpegBinary> {
  const { selectFfmpeg } = await import('../engine/index.js');
  return selectFfmpeg().catch((e: unknown) => {
    throw new CommandError(`ffmpeg is missing: ${(e as Error).message}`);
  });
}

/** The path of the ffmpeg binary `selectFfmpegOrExplain` chooses. */
export async function resolveFfmpegOrExplain(): Promise<string> {
  return (await selectFfmpegOrExplain()).path;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m - h * 60} min`;
  return `${Math.floor(h / 24)} d`;
}

/**
 * Resolves on the first SIGINT/SIGTERM (or when `signal` aborts) with its name; a second Ctrl-C exits at once.
 * `dispose` removes the handlers, so a command run in-process (tests) leaves none behind.
 */
export function untilInterrupted(
  io: CliIo,
  signal?: AbortSignal,
): { promise: Promise<string>; dispose: () => void } {
  let onSignal: (name: NodeJS.Signals) => void = () => undefined;
  const promise = new Promise<string>((resolvePromise) => {
    let interrupted = false;
    onSignal = (name: NodeJS.Signals) => {
      if (interrupted) {
        io.stderr.write('\nForced exit.\n');
        process.exit(130);
      }
      interrupted = true;
      resolvePromise(name);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    signal?.addEventListener('abort', () => resolvePromise('abort'), { once: true });
  });
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
