/**
 * The bare-ffmpeg side of the transcode bench: the clip, the ladder each backend's job asks the engine for, and that
 * ladder run as a hand-written script would run it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BUILT_IN_PROFILES } from '../../lib/profiles.js';
import { AAC_SAMPLE_RATE, PRESET_EQUIVALENTS } from '../../lib/transcoder/mediaconvert.js';
import { renditionFromPreset, systemPresets } from '../../local/elastictranscoder/index.js';
import {
  type LadderPlan,
  ladderArgs,
  parseInput,
  type RenditionPlan,
  type RenditionSettings,
  runFfmpeg,
} from '../../local/engine/index.js';
import { settingsFor } from '../../local/mediaconvert/index.js';
import type { Backend } from './report.js';

export async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const result = await work();
  return [(performance.now() - start) / 1000, result];
}

export async function generateClip(
  ffmpeg: string,
  file: string,
  seconds: number,
  size: string,
): Promise<void> {
  const { code, stderr } = await runFfmpeg(ffmpeg, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=30`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-b:v',
    '4000k',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    '-y',
    file,
  ]);
  if (code !== 0) throw new Error(`clip generation failed: ${stderr.slice(-400)}`);
}

/**
 * The default profile's ladder as engine renditions, each with its own AES-128 key (as the job would have), in the
 * settings the backend's job gives the engine: Elastic Transcoder's system presets, or the MediaConvert job's inline
 * settings (Main profile for every rendition, no fixed GOP, 48 kHz audio), which cost more to encode. Each backend is
 * compared with bare ffmpeg producing its own ladder.
 */
export async function ladderPlan(
  work: string,
  clip: string,
  ffmpeg: string,
  tag: string,
  backend: Backend,
): Promise<LadderPlan> {
  const profile = BUILT_IN_PROFILES.find((p) => p.name === 'default');
  if (!profile) throw new Error('no default profile');
  const presets = new Map(
    systemPresets('us-east-1', '000000000000').map((p) => [p.Id, renditionFromPreset(p)]),
  );
  const input = parseInput((await runFfmpeg(ffmpeg, ['-i', clip])).stderr);
  if (!input) throw new Error(`${clip} is not media ffmpeg can read`);
  const renditions: RenditionPlan[] = [];
  for (const output of profile.outputs) {
    const settings =
      backend === 'mediaconvert' ? mediaConvertSettings(output.presetId) : presets.get(output.presetId);
    if (!settings) throw new Error(`unknown preset ${output.presetId}`);
    const dir = join(work, tag, output.key);
    await mkdir(dir, { recursive: true });
    renditions.push({
      settings,
      dir,
      base: output.key,
      segmentDuration: profile.segmentDurationSeconds,
      encryption: { key: randomBytes(16), iv: randomBytes(16), uri: 'https://keys.example/asset' },
    });
  }
  return { inputFile: clip, input, renditions };
}

/** What the local MediaConvert hands the engine for this preset's MediaConvert equivalent (lib/transcoder). */
function mediaConvertSettings(presetId: string): RenditionSettings | undefined {
  const r = PRESET_EQUIVALENTS[presetId];
  if (!r) return undefined;
  return settingsFor({
    nameModifier: '',
    ...(r.video ? { video: r.video } : {}),
    ...(r.audio
      ? { audio: { bitrate: r.audio.bitrate, sampleRate: AAC_SAMPLE_RATE, selector: 'Audio Selector 1' } }
      : {}),
  });
}

/** Runs ladderArgs as a script would: key info files on disk, ffmpeg, nothing else. */
export async function bareLadder(ffmpeg: string, plan: LadderPlan, work: string): Promise<void> {
  const infos = await Promise.all(
    plan.renditions.map(async (r, i) => {
      if (!r.encryption) return undefined;
      const keyFile = join(work, `${basename(r.dir)}-${i}.key`);
      await writeFile(keyFile, r.encryption.key);
      const info = `${keyFile}info`;
      const ivLine = r.encryption.iv ? `${r.encryption.iv.toString('hex')}\n` : '';
      await writeFile(info, `${r.encryption.uri}\n${keyFile}\n${ivLine}`);
      return info;
    }),
  );
  const { code, stderr } = await runFfmpeg(ffmpeg, ladderArgs(plan, infos));
  if (code !== 0) throw new Error(`ffmpeg failed: ${stderr.slice(-400)}`);
}

export async function inPool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}
