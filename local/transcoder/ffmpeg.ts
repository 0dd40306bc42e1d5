/**
 * ffmpeg as the transcoding engine. The binary comes from `@ffmpeg-installer/ffmpeg` (shipped inside the npm
 * package, so `npm install` is enough) unless a path is given. Media properties come from parsing ffmpeg's own
 * banner: the npm ffprobe build segfaults on playlists, and the banner carries everything the job report needs.
 */
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';

export async function resolveFfmpeg(explicit?: string): Promise<string> {
  const path = explicit ?? ((await import('@ffmpeg-installer/ffmpeg')).default as { path: string }).path;
  await access(path, constants.X_OK).catch(() => {
    throw new Error(
      `ffmpeg is not executable at ${path}: reinstall @ffmpeg-installer/ffmpeg or set FFMPEG_PATH`,
    );
  });
  return path;
}

export interface FfmpegResult {
  code: number | null;
  stderr: string;
}

const STDERR_LIMIT = 256 * 1024;

export function runFfmpeg(bin: string, args: string[], signal?: AbortSignal): Promise<FfmpegResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-hide_banner', '-nostdin', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      signal,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
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

/** Properties of what ffmpeg wrote: the output stream description and the last progress line's `time=`. */
export function parseOutput(stderr: string): MediaInfo {
  const start = stderr.indexOf('Output #0');
  const info = streams(start < 0 ? '' : stderr.slice(start));
  const times = [...stderr.matchAll(/time=\s*(\d+:\d{2}:\d{2}(?:\.\d+)?)/g)];
  const last = times.at(-1)?.[1];
  return { ...info, ...(last ? { durationMillis: clockToMillis(last) } : {}) };
}
