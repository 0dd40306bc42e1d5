/**
 * The ffmpeg ladder of the local media engine: `transcodeLadder` encodes every rendition of a job in ONE
 * ffmpeg process, from one decode of the input (a `split` filter feeds one scaler and one x264 encoder per
 * rendition), each rendition with its own settings, segments and AES-128 key. Measured against one run per
 * rendition in README.md "Transcode performance".
 *
 * The engine knows nothing of Elastic Transcoder or MediaConvert: each front-end maps its job settings to
 * `RenditionSettings` once, supplies the output directory and base name of each rendition and its key, and uploads
 * the files afterwards (groups.ts does the HLS packaging and upload for a whole output group). It favours speed over fidelity: x264
 * `veryfast`, the bitrate as a VBV cap, and ShrinkToFit within the maximum size (never upscaled, aspect kept).
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from './errors.js';
import { type FfmpegProgress, type MediaInfo, parseInput, parseOutputs, runFfmpeg } from './ffmpeg.js';
import { peakBandwidth, segmentUris } from './hls.js';
import { codecsAttribute, probeTransportStream, readSegmentPrefix } from './probe.js';
import type { AudioSettings, RenditionSettings, VideoSettings } from './settings.js';

export interface RenditionPlan {
  settings: RenditionSettings;
  /** A directory of its own (every file in it belongs to this rendition) and the base name of its files. */
  dir: string;
  base: string;
  /** Seconds; set for HLS renditions: `<base>.m3u8` and `<base>00000.ts`, … in `dir`. */
  segmentDuration?: number;
  /** HLS AES-128: the 16-byte key, its IV and the EXT-X-KEY URI written into the variant playlist. */
  encryption?: { key: Buffer; iv: Buffer; uri: string };
}

export interface LadderPlan {
  inputFile: string;
  input: MediaInfo;
  startSeconds?: number;
  durationSeconds?: number;
  renditions: RenditionPlan[];
}

export interface LadderProgress {
  /** 0–100 for the whole ladder, from ffmpeg's own `-progress` output time. */
  percent: number;
  /** 0–100 per rendition (same order as the plan): finished segments for HLS, else the ladder's. */
  renditions: number[];
  /** Encoding speed relative to real time. */
  speed?: number;
}

export interface RenditionResult {
  /** Files written, relative to the rendition's `dir`. */
  files: string[];
  width?: number;
  height?: number;
  frameRate?: string;
  /** RFC 6381 codecs of the streams written (HLS renditions, probed from the first segment). */
  codecs?: string;
  durationMillis: number;
  fileSize: number;
  /** Peak segment bitrate, for segmented outputs. */
  bandwidth?: number;
}

export interface LadderOptions {
  signal?: AbortSignal;
  onProgress?: (progress: LadderProgress) => void;
  /** Where the key files' private directory goes (the job's own directory; the system temp dir otherwise). */
  tempDir?: string;
}

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
const evenDown = (n: number) => Math.max(2, Math.floor(n / 2) * 2);

/**
 * ShrinkToFit: fit inside MaxWidth x MaxHeight keeping the aspect ratio, never scaling up; even dimensions (H.264
 * 4:2:0). The limiting side is set to the box and the other side rounded to the nearest even number, so the aspect
 * ratio is kept within one pixel: 854x480 into 640x432 gives 640x360.
 */
export function shrinkToFit(width: number, height: number, maxWidth: number, maxHeight: number) {
  if (width <= maxWidth && height <= maxHeight) return { width: even(width), height: even(height) };
  if (maxWidth / width <= maxHeight / height) {
    const w = evenDown(maxWidth);
    return { width: w, height: Math.min(even((w * height) / width), evenDown(maxHeight)) };
  }
  const h = evenDown(maxHeight);
  return { width: Math.min(even((h * width) / height), evenDown(maxWidth)), height: h };
}

function videoArgs(plan: RenditionPlan, v: VideoSettings, source: NonNullable<MediaInfo['video']>): string[] {
  const args = [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-profile:v',
    v.profile,
    '-level',
    v.level,
    '-b:v',
    `${v.kbps}k`,
    '-maxrate',
    `${v.kbps}k`,
    '-bufsize',
    `${v.kbps * 2}k`,
    '-g',
    String(v.keyframesMaxDist),
  ];
  if (v.fixedGop) args.push('-sc_threshold', '0');
  if (v.frameRate) args.push('-r', String(v.frameRate));
  else if (v.maxFrameRate && Number(source.frameRate) > v.maxFrameRate)
    args.push('-r', String(v.maxFrameRate));
  // Segments can only start on a keyframe: force one at every boundary so EXTINF matches the segment duration.
  if (plan.segmentDuration) args.push('-force_key_frames', `expr:gte(t,n_forced*${plan.segmentDuration})`);
  return args;
}

function audioArgs(a: AudioSettings): string[] {
  const args = ['-c:a', 'aac', '-b:a', `${a.kbps}k`];
  if (a.sampleRate) args.push('-ar', String(a.sampleRate));
  if (a.channels) args.push('-ac', String(a.channels));
  return args;
}

function containerArgs(plan: RenditionPlan, keyInfoFile: string | undefined): string[] {
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
      // A segment is written as <name>.tmp and renamed when complete: progress counts finished `.ts` files.
      '-hls_flags',
      'temp_file',
      '-hls_segment_filename',
      join(plan.dir, `${plan.base}%05d.ts`),
      ...(keyInfoFile ? ['-hls_key_info_file', keyInfoFile] : []),
      `${out}.m3u8`,
    ];
  }
  if (plan.settings.container === 'fmp4')
    return ['-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', out];
  return ['-f', 'mpegts', out];
}

/**
 * The whole ladder as one ffmpeg command line. `keyInfoFiles[i]` is rendition i's `-hls_key_info_file` (URI, key
 * file, IV hex), when it is encrypted.
 */
export function ladderArgs(plan: LadderPlan, keyInfoFiles: (string | undefined)[] = []): string[] {
  const source = plan.input.video;
  const uses = plan.renditions.map((r) => ({
    video: Boolean(r.settings.video && source),
    audio: Boolean(r.settings.audio && plan.input.hasAudio),
  }));
  if (plan.renditions.length === 0 || uses.some((u) => !u.video && !u.audio))
    throw new EngineError('NothingToEncode', 'The input has no stream that the preset can encode.');
  const args = [
    ...(plan.startSeconds ? ['-ss', String(plan.startSeconds)] : []),
    ...(plan.durationSeconds ? ['-t', String(plan.durationSeconds)] : []),
    '-i',
    plan.inputFile,
  ];
  const scaled = plan.renditions.flatMap((r, i) => {
    const v = r.settings.video;
    if (!v || !source) return [];
    const size = shrinkToFit(
      source.width,
      source.height,
      v.maxWidth ?? source.width,
      v.maxHeight ?? source.height,
    );
    return [{ i, filter: `scale=${size.width}:${size.height}` }];
  });
  if (scaled.length > 0) {
    // One decode, split once per video rendition; each branch has its own scaler.
    const split = `[0:v:0]split=${scaled.length}${scaled.map(({ i }) => `[s${i}]`).join('')}`;
    const branches = scaled.map(({ i, filter }) => `[s${i}]${filter}[v${i}]`);
    args.push('-filter_complex', [split, ...branches].join(';'));
  }
  plan.renditions.forEach((r, i) => {
    const use = uses[i] as { video: boolean; audio: boolean };
    if (use.video) args.push('-map', `[v${i}]`);
    if (use.audio) args.push('-map', '0:a:0');
    args.push(
      ...(use.video && r.settings.video && source ? videoArgs(r, r.settings.video, source) : ['-vn']),
    );
    args.push(...(use.audio && r.settings.audio ? audioArgs(r.settings.audio) : ['-an']));
    args.push('-y', ...containerArgs(r, keyInfoFiles[i]));
  });
  return args;
}

/** Writes each encrypted rendition's key and key info file (0600) into a private directory. */
async function writeKeyInfo(dir: string, plan: LadderPlan): Promise<(string | undefined)[]> {
  return Promise.all(
    plan.renditions.map(async (r, i) => {
      if (!r.encryption || !r.segmentDuration) return undefined;
      const keyFile = join(dir, `key-${i}`);
      await writeFile(keyFile, r.encryption.key, { mode: 0o600 });
      const info = join(dir, `keyinfo-${i}`);
      await writeFile(info, `${r.encryption.uri}\n${keyFile}\n${r.encryption.iv.toString('hex')}\n`, {
        mode: 0o600,
      });
      return info;
    }),
  );
}

function ladderDurationMicros(plan: LadderPlan): number {
  const total = (plan.input.durationMillis ?? 0) / 1000 - (plan.startSeconds ?? 0);
  const seconds = plan.durationSeconds ? Math.min(plan.durationSeconds, total) : total;
  return Math.max(0, seconds) * 1e6;
}

/** Turns ffmpeg's progress blocks into ladder progress; rendition figures count finished segments (≤ 1 s apart). */
function progressReporter(plan: LadderPlan, report: (p: LadderProgress) => void) {
  const totalMicros = ladderDurationMicros(plan);
  let lastCount = 0;
  let counts: number[] = plan.renditions.map(() => 0);
  return (p: FfmpegProgress) => {
    const percent = p.end ? 100 : totalMicros > 0 ? Math.min(99, (p.outTimeMicros / totalMicros) * 100) : 0;
    const renditions = plan.renditions.map((r, i) => {
      if (p.end) return 100;
      if (!r.segmentDuration || totalMicros === 0) return percent;
      const done = (counts[i] ?? 0) * r.segmentDuration * 1e6;
      return Math.min(percent, (done / totalMicros) * 100);
    });
    report({ percent, renditions, ...(p.speed ? { speed: p.speed } : {}) });
    if (p.end || Date.now() - lastCount < 1000) return;
    lastCount = Date.now();
    void Promise.all(
      plan.renditions.map(async (r) =>
        r.segmentDuration
          ? (await readdir(r.dir).catch(() => [])).filter((f) => f.endsWith('.ts')).length
          : 0,
      ),
    ).then((c) => {
      counts = c;
    });
  };
}

/** What one rendition wrote: files, sizes, duration, and for HLS the probed streams and the peak bandwidth. */
async function collect(ffmpeg: string, r: RenditionPlan, signal?: AbortSignal): Promise<RenditionResult> {
  const files = (await readdir(r.dir)).sort();
  const sizes = new Map(
    await Promise.all(files.map(async (f) => [f, (await stat(join(r.dir, f))).size] as const)),
  );
  const fileSize = [...sizes.entries()].filter(([f]) => !f.endsWith('.m3u8')).reduce((n, [, s]) => n + s, 0);
  if (!r.segmentDuration) {
    const info = parseInput((await runFfmpeg(ffmpeg, ['-i', join(r.dir, r.base)], signal)).stderr);
    return {
      files,
      fileSize,
      durationMillis: info?.durationMillis ?? 0,
      ...(info?.video ? { width: info.video.width, height: info.video.height } : {}),
      ...(info?.video?.frameRate ? { frameRate: info.video.frameRate } : {}),
    };
  }
  const playlist = await readFile(join(r.dir, `${r.base}.m3u8`), 'utf8');
  const uris = segmentUris(playlist);
  const missing = uris.filter((uri) => !sizes.has(uri));
  if (missing.length > 0 || uris.length === 0)
    throw new EngineError('EncodeFailed', `ffmpeg did not write ${missing.join(', ') || 'any segment'}`);
  const first = uris[0] as string;
  const streams = probeTransportStream(
    await readSegmentPrefix(
      join(r.dir, first),
      r.encryption ? { key: r.encryption.key, iv: r.encryption.iv } : undefined,
    ),
  );
  const seconds = [...playlist.matchAll(/^#EXTINF:([\d.]+)/gm)].reduce((t, m) => t + Number(m[1]), 0);
  return {
    files,
    fileSize,
    durationMillis: Math.round(seconds * 1000),
    bandwidth: peakBandwidth(playlist, (uri) => sizes.get(uri) ?? 0),
    codecs: codecsAttribute(streams),
    ...(streams.video ? { width: streams.video.width, height: streams.video.height } : {}),
  };
}

/**
 * The engine's entry point: encodes `plan.renditions` from `plan.inputFile` in one ffmpeg process and returns what
 * each rendition wrote (same order). Keys are written 0600 to a private temp directory for ffmpeg and removed when
 * it exits; the caller zeroes its key buffers. Throws EngineError (NothingToEncode, EncodeFailed).
 */
export async function transcodeLadder(
  ffmpeg: string,
  plan: LadderPlan,
  options: LadderOptions = {},
): Promise<RenditionResult[]> {
  const keyDir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'st-hls-key-'));
  let code: number | null;
  let stderr: string;
  try {
    const args = ladderArgs(plan, await writeKeyInfo(keyDir, plan));
    const progress = options.onProgress ? progressReporter(plan, options.onProgress) : undefined;
    ({ code, stderr } = await runFfmpeg(ffmpeg, args, options.signal, progress));
  } finally {
    await rm(keyDir, { recursive: true, force: true });
  }
  if (code !== 0) {
    const reason = stderr.trim().split('\n').at(-1)?.slice(0, 200) ?? 'unknown error';
    throw new EngineError('EncodeFailed', `ffmpeg failed: ${reason}`);
  }
  const written = parseOutputs(stderr);
  const results = await Promise.all(plan.renditions.map((r) => collect(ffmpeg, r, options.signal)));
  results.forEach((result, i) => {
    const fps = written[i]?.video?.frameRate;
    if (fps && !result.frameRate) result.frameRate = fps;
  });
  return results;
}
