/**
 * ffmpeg as the transcoding engine, and which ffmpeg. The order is: `FFMPEG_PATH` (or an explicit path), then an
 * `ffmpeg` on PATH whose version is 5 or newer (a distribution build that receives security fixes — this engine
 * parses untrusted uploads), then the static build shipped inside `@ffmpeg-installer/ffmpeg` (a 2018 snapshot, kept
 * so that `npm install` alone is enough). README.md "ffmpeg" says why.
 *
 * Media properties of the input come from parsing ffmpeg's own banner: the npm build has no working ffprobe, and the
 * banner carries everything the job report needs. Properties of what was written come from probe.ts.
 */
import { execFile, spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export type FfmpegSource = 'FFMPEG_PATH' | 'PATH' | 'bundled';

export interface FfmpegBinary {
  path: string;
  /** The version as the binary reports it, e.g. `5.1.9-0+deb12u1` or `N-47683-g0e8eb07980-static (2018)`. */
  version: string;
  /** Major version for release builds; undefined for git snapshots. */
  major?: number;
  source: FfmpegSource;
}

/** The minimum major version of an ffmpeg found on PATH (Debian 12 ships 5.1). */
export const MIN_PATH_FFMPEG_MAJOR = 5;

export class FfmpegNotFoundError extends Error {
  override readonly name = 'FfmpegNotFoundError';
}

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** `ffmpeg -version`'s first line, e.g. "ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 …". */
export function parseVersion(banner: string): { version: string; major?: number } {
  const line = banner.split('\n')[0] ?? '';
  const version = /ffmpeg version (\S+)/.exec(line)?.[1] ?? 'unknown';
  const release = /^n?(\d+)\.\d+/.exec(version);
  const year = /Copyright \(c\) \d{4}-(\d{4})/.exec(line)?.[1];
  return {
    version: release || !year ? version : `${version} (${year})`,
    ...(release ? { major: Number(release[1]) } : {}),
  };
}

export function ffmpegVersion(path: string): Promise<{ version: string; major?: number }> {
  return new Promise((resolve, reject) => {
    execFile(path, ['-hide_banner', '-version'], { timeout: 10_000 }, (error, stdout) => {
      if (error) reject(error);
      else resolve(parseVersion(stdout));
    });
  });
}

async function bundledPath(): Promise<string | undefined> {
  const mod = (await import('@ffmpeg-installer/ffmpeg').catch(() => undefined)) as
    | { default?: { path?: string } }
    | undefined;
  return mod?.default?.path;
}

async function onPath(pathVariable: string | undefined): Promise<FfmpegBinary | undefined> {
  for (const dir of (pathVariable ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'ffmpeg');
    if (!(await executable(candidate))) continue;
    const found = await ffmpegVersion(candidate).catch(() => undefined);
    // The first ffmpeg on PATH is the one a shell would run: an old one there is not skipped for a later one.
    if (found?.major !== undefined && found.major >= MIN_PATH_FFMPEG_MAJOR)
      return { path: candidate, ...found, source: 'PATH' };
    return undefined;
  }
  return undefined;
}

/** Chooses the ffmpeg binary (order in the module comment); throws FfmpegNotFoundError with the fix. */
export async function selectFfmpeg(
  options: { explicit?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<FfmpegBinary> {
  const env = options.env ?? process.env;
  const explicit = options.explicit ?? (env.FFMPEG_PATH || undefined);
  if (explicit) {
    if (!(await executable(explicit)))
      throw new FfmpegNotFoundError(`FFMPEG_PATH=${explicit} is not an executable file.`);
    const found = await ffmpegVersion(explicit).catch(() => {
      throw new FfmpegNotFoundError(`${explicit} does not run as ffmpeg (\`${explicit} -version\` failed).`);
    });
    return { path: explicit, ...found, source: 'FFMPEG_PATH' };
  }
  const system = await onPath(env.PATH);
  if (system) return system;
  const bundled = await bundledPath();
  if (!bundled || !(await executable(bundled))) {
    throw new FfmpegNotFoundError(
      `no ffmpeg ≥ ${MIN_PATH_FFMPEG_MAJOR} on PATH and no bundled one: install ffmpeg (apt-get install ffmpeg), run \`npm install\` (it ships @ffmpeg-installer/ffmpeg) or set FFMPEG_PATH.`,
    );
  }
  return { path: bundled, ...(await ffmpegVersion(bundled)), source: 'bundled' };
}

/** "ffmpeg 5.1.9-0+deb12u1 (/usr/bin/ffmpeg, from PATH)": what the CLI prints. */
export function describeFfmpeg(binary: FfmpegBinary): string {
  const from = { FFMPEG_PATH: 'FFMPEG_PATH', PATH: 'from PATH', bundled: '@ffmpeg-installer' }[binary.source];
  return `ffmpeg ${binary.version} (${binary.path}, ${from})`;
}

export interface FfmpegResult {
  code: number | null;
  stderr: string;
}

/** One block of `-progress` output: where the encode is, in microseconds of output time. */
export interface FfmpegProgress {
  outTimeMicros: number;
  /** Encoding speed relative to real time, when ffmpeg knows it. */
  speed?: number;
  end: boolean;
}

const STDERR_LIMIT = 256 * 1024;

function progressParser(onProgress: (p: FfmpegProgress) => void) {
  let pending = '';
  let block: Record<string, string> = {};
  return (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const eq = line.indexOf('=');
      if (eq < 0) continue;
      const key = line.slice(0, eq).trim();
      block[key] = line.slice(eq + 1).trim();
      if (key !== 'progress') continue;
      const micros = Number(block.out_time_us ?? block.out_time_ms);
      const speed = Number.parseFloat(block.speed ?? '');
      onProgress({
        outTimeMicros: Number.isFinite(micros) && micros > 0 ? micros : 0,
        ...(Number.isFinite(speed) && speed > 0 ? { speed } : {}),
        end: block.progress === 'end',
      });
      block = {};
    }
  };
}

export function runFfmpeg(
  bin: string,
  args: string[],
  signal?: AbortSignal,
  onProgress?: (p: FfmpegProgress) => void,
): Promise<FfmpegResult> {
  return new Promise((resolve, reject) => {
    const progressArgs = onProgress ? ['-progress', 'pipe:1'] : [];
    const child = spawn(bin, ['-hide_banner', '-nostdin', ...progressArgs, ...args], {
      stdio: ['ignore', onProgress ? 'pipe' : 'ignore', 'pipe'],
      signal,
    });
    if (onProgress && child.stdout) {
      child.stdout.setEncoding('utf8');
      const parse = progressParser((p) => {
        // A listener's failure must not kill the encode.
        try {
          onProgress(p);
        } catch {}
      });
      child.stdout.on('data', parse);
    }
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
      // Progress lines repeat for long inputs; the stream descriptions are at the start and the totals at the end.
      if (stderr.length > STDERR_LIMIT) stderr = stderr.slice(0, 64 * 1024) + stderr.slice(-64 * 1024);
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

export interface MediaInfo {
  durationMillis?: number;
  video?: { width: number; height: number; frameRate?: string };
  hasAudio: boolean;
}

function clockToMillis(clock: string): number {
  const [h, m, s] = clock.split(':');
  return Math.round((Number(h) * 3600 + Number(m) * 60 + Number(s)) * 1000);
}

function streams(section: string): MediaInfo {
  const videoLine = /Stream #\d+:\d+[^\n]*?: Video: ([^\n]*)/.exec(section)?.[1];
  const size = videoLine ? /\b(\d{2,5})x(\d{2,5})\b/.exec(videoLine) : null;
  const fps = videoLine ? /([\d.]+) (?:fps|tbr)/.exec(videoLine)?.[1] : undefined;
  return {
    ...(size
      ? { video: { width: Number(size[1]), height: Number(size[2]), ...(fps ? { frameRate: fps } : {}) } }
      : {}),
    hasAudio: /Stream #\d+:\d+[^\n]*?: Audio: /.test(section),
  };
}

/** Properties of the input, from `ffmpeg -i <file>` (which exits non-zero for want of an output: expected). */
export function parseInput(stderr: string): MediaInfo | undefined {
  const start = stderr.indexOf('Input #0');
  if (start < 0) return undefined;
  const end = stderr.indexOf('Output #0', start);
  const section = stderr.slice(start, end < 0 ? undefined : end);
  const duration = /Duration: (\d+:\d{2}:\d{2}(?:\.\d+)?)/.exec(section)?.[1];
  const info = streams(section);
  if (!info.video && !info.hasAudio) return undefined;
  return { ...info, ...(duration ? { durationMillis: clockToMillis(duration) } : {}) };
}

/** The stream description of each `Output #N` section of ffmpeg's banner, by N. */
export function parseOutputs(stderr: string): MediaInfo[] {
  const sections = stderr.split(/^Output #/m).slice(1);
  return sections.map((s) => streams(s.split(/^(?:Stream mapping|Press \[q\]|Input #)/m)[0] ?? ''));
}
