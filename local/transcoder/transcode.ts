/**
 * One output = one ffmpeg run, mapped from the preset. The local engine favours speed over fidelity: x264
 * `veryfast`, the preset's bitrate as a VBV cap, and ShrinkToFit within the preset's maximum size (never upscaled,
 * aspect ratio kept), which is what the system presets specify anyway.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Preset } from '@aws-sdk/client-elastic-transcoder';
import { JobFailure } from './errors.js';
import { type MediaInfo, parseOutput, runFfmpeg } from './ffmpeg.js';
import { peakBandwidth, segmentUris } from './hls.js';

export interface OutputPlan {
  inputFile: string;
  input: MediaInfo;
  preset: Preset;
  /** Seconds; set for segmented (HLS) outputs. */
  segmentDuration?: number;
  startSeconds?: number;
  durationSeconds?: number;
  /** A directory of its own (every file in it is part of this output), and the base name (basename of Output.Key). */
  dir: string;
  base: string;
  /** ffmpeg `-hls_key_info_file` (URI, key file, IV hex) for AES-128 segments. */
  keyInfoFile?: string;
}

export interface OutputResult {
  /** Files written, relative to `dir`. */
  files: string[];
  width?: number;
  height?: number;
  frameRate?: string;
  durationMillis: number;
  fileSize: number;
  /** Peak segment bitrate, for segmented outputs. */
  bandwidth?: number;
}

const even = (n: number) => Math.max(2, Math.floor(n / 2) * 2);

/** ShrinkToFit: fit inside MaxWidth x MaxHeight keeping the aspect ratio, never scaling up. */
export function shrinkToFit(width: number, height: number, maxWidth: number, maxHeight: number) {
  const scale = Math.min(1, maxWidth / width, maxHeight / height);
  return { width: even(width * scale), height: even(height * scale) };
}

function videoArgs(plan: OutputPlan, video: NonNullable<MediaInfo['video']>): string[] {
  const v = plan.preset.Video;
  if (!v) return [];
  const size = shrinkToFit(
    video.width,
    video.height,
    Number(v.MaxWidth ?? video.width),
    Number(v.MaxHeight ?? video.height),
  );
  const kbps = Number(v.BitRate ?? 1000);
  const args = [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-profile:v',
    v.CodecOptions?.Profile ?? 'main',
    '-level',
    v.CodecOptions?.Level ?? '3.1',
    '-b:v',
    `${kbps}k`,
    '-maxrate',
    `${kbps}k`,
    '-bufsize',
    `${kbps * 2}k`,
    '-vf',
    `scale=${size.width}:${size.height}`,
    '-g',
    v.KeyframesMaxDist ?? '90',
  ];
  if (v.FixedGOP === 'true') args.push('-sc_threshold', '0');
  const maxRate = Number(v.MaxFrameRate);
  if (v.FrameRate === 'auto' && maxRate > 0 && Number(video.frameRate) > maxRate)
    args.push('-r', String(maxRate));
  if (v.FrameRate && v.FrameRate !== 'auto') args.push('-r', v.FrameRate);
  // Segments can only start on a keyframe: force one at every boundary so EXTINF matches SegmentDuration.
  if (plan.segmentDuration) args.push('-force_key_frames', `expr:gte(t,n_forced*${plan.segmentDuration})`);
  return args;
}

function audioArgs(plan: OutputPlan): string[] {
  const a = plan.preset.Audio;
  if (!a) return [];
  const args = ['-c:a', 'aac', '-b:a', `${a.BitRate ?? '128'}k`];
  if (a.SampleRate && a.SampleRate !== 'auto') args.push('-ar', a.SampleRate);
  if (a.Channels && a.Channels !== 'auto') args.push('-ac', a.Channels);
  return args;
}

function containerArgs(plan: OutputPlan): string[] {
  const out = join(plan.dir, plan.base);
  if (plan.segmentDuration) {
    return [
      '-f',
      'hls',
      '-hls_time',
      String(plan.segmentDuration),
      '-hls_playlist_type',
      'vod',
      '-hls_list_size',
      '0',
      '-hls_segment_filename',
      join(plan.dir, `${plan.base}%05d.ts`),
      ...(plan.keyInfoFile ? ['-hls_key_info_file', plan.keyInfoFile] : []),
      `${out}.m3u8`,
    ];
  }
  if (plan.preset.Container === 'fmp4')
    return ['-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', out];
  return ['-f', 'mpegts', out];
}

export function ffmpegArgs(plan: OutputPlan): string[] {
  const useVideo = Boolean(plan.preset.Video && plan.input.video);
  const useAudio = Boolean(plan.preset.Audio && plan.input.hasAudio);
  if (!useVideo && !useAudio)
    throw new JobFailure(4000, 'The input has no stream that the preset can encode.');
  const args = [
    ...(plan.startSeconds ? ['-ss', String(plan.startSeconds)] : []),
    '-i',
    plan.inputFile,
    ...(plan.durationSeconds ? ['-t', String(plan.durationSeconds)] : []),
  ];
  if (useVideo) args.push('-map', '0:v:0');
  if (useAudio) args.push('-map', '0:a:0');
  args.push(...(useVideo && plan.input.video ? videoArgs(plan, plan.input.video) : ['-vn']));
  args.push(...(useAudio ? audioArgs(plan) : ['-an']));
  args.push('-y', ...containerArgs(plan));
  return args;
}

export async function transcodeOutput(
  ffmpeg: string,
  plan: OutputPlan,
  signal?: AbortSignal,
): Promise<OutputResult> {
  const { code, stderr } = await runFfmpeg(ffmpeg, ffmpegArgs(plan), signal);
  if (code !== 0) {
    const reason = stderr.trim().split('\n').at(-1)?.slice(0, 200) ?? 'unknown error';
    throw new JobFailure(9000, `ffmpeg failed: ${reason}`);
  }
  const produced = parseOutput(stderr);
  const files = (await readdir(plan.dir)).sort();
  const sizes = new Map(
    await Promise.all(files.map(async (f) => [f, (await stat(join(plan.dir, f))).size] as const)),
  );
  const result: OutputResult = {
    files,
    durationMillis: produced.durationMillis ?? 0,
    fileSize: [...sizes.entries()].filter(([f]) => !f.endsWith('.m3u8')).reduce((n, [, s]) => n + s, 0),
    ...(produced.video ? { width: produced.video.width, height: produced.video.height } : {}),
    ...(produced.video?.frameRate ? { frameRate: produced.video.frameRate } : {}),
  };
  if (plan.segmentDuration) {
    const playlist = await readFile(join(plan.dir, `${plan.base}.m3u8`), 'utf8');
    const missing = segmentUris(playlist).filter((uri) => !sizes.has(uri));
    if (missing.length > 0) throw new JobFailure(9000, `ffmpeg did not write ${missing.join(', ')}`);
    result.bandwidth = peakBandwidth(playlist, (uri) => sizes.get(uri) ?? 0);
  }
  return result;
}
