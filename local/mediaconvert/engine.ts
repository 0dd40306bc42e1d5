/**
 * The MediaConvert job on the shared local ffmpeg engine (local/transcoder): each rendition is described to the
 * engine as an equivalent Elastic Transcoder preset, and the engine's files are renamed the way MediaConvert names
 * them: `<base><nameModifier>.m3u8` and `<base><nameModifier>_00001.ts`, numbered from 1.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Preset } from '@aws-sdk/client-elastic-transcoder';
import type { RenditionPlan } from './wire.js';

/** An Elastic Transcoder preset with the rendition's bounding box and bitrates (MediaConvert bitrates are bit/s). */
export function presetFor(r: RenditionPlan): Preset {
  return {
    Container: 'ts',
    ...(r.video
      ? {
          Video: {
            Codec: 'H.264',
            CodecOptions: { Profile: 'main', Level: '3.1' },
            BitRate: String(Math.max(1, Math.round(r.video.bitrate / 1000))),
            ...(r.video.width ? { MaxWidth: String(r.video.width) } : {}),
            ...(r.video.height ? { MaxHeight: String(r.video.height) } : {}),
            KeyframesMaxDist: '90',
            FixedGOP: 'false',
            FrameRate: 'auto',
          },
        }
      : {}),
    ...(r.audio
      ? {
          Audio: {
            Codec: 'AAC',
            BitRate: String(Math.max(1, Math.round(r.audio.bitrate / 1000))),
            SampleRate: r.audio.sampleRate ? String(r.audio.sampleRate) : 'auto',
            Channels: '2',
          },
        }
      : {}),
  };
}

const IV_ATTRIBUTE = /,IV=0x[0-9a-fA-F]{32}/;

/** Where a job's segment IVs come from and whether the playlist names them (`InitializationVectorInManifest`). */
export interface SegmentIvs {
  include: boolean;
  /** `ConstantInitializationVector` (hex); without it each segment's IV is its media sequence number. */
  constant?: string;
}

/**
 * The EXT-X-KEY tags of a variant playlist as MediaConvert writes them: with INCLUDE each segment's IV (so one tag
 * per segment unless the IV is constant), otherwise one tag naming no IV. ffmpeg's own tags (some versions name
 * the IVs, some do not) are replaced.
 */
export function placeIvs(playlist: string, ivs: SegmentIvs): string {
  const lines = playlist.split('\n');
  const keyLine = lines.find((l) => l.startsWith('#EXT-X-KEY:'));
  if (!keyLine) return playlist;
  const key = keyLine.replace(IV_ATTRIBUTE, '');
  let sequence = Number(/^#EXT-X-MEDIA-SEQUENCE:(\d+)/m.exec(playlist)?.[1] ?? 0);
  let current: string | undefined;
  return lines
    .flatMap((line) => {
      if (line.startsWith('#EXT-X-KEY:')) return [];
      if (!line.startsWith('#EXTINF:')) return [line];
      // HLS's IV for a segment: its media sequence number as a 128-bit big-endian integer.
      const iv = ivs.constant ?? sequence.toString(16).padStart(32, '0');
      sequence += 1;
      const tag = ivs.include ? `${key},IV=0x${iv}` : key;
      if (tag === current) return [line];
      current = tag;
      return [tag, line];
    })
    .join('\n');
}

/**
 * Engine segment `<name>00000.ts` → MediaConvert's `<name>_00001.ts`, in the files and in the playlist, whose
 * EXT-X-KEY tags `placeIvs` then writes.
 */
export async function renameSegments(
  dir: string,
  name: string,
  files: string[],
  ivs: SegmentIvs,
): Promise<string[]> {
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d{5})\\.ts$`);
  const renamed = new Map<string, string>();
  for (const f of files) {
    const m = pattern.exec(f);
    if (!m) continue;
    const target = `${name}_${String(Number(m[1]) + 1).padStart(5, '0')}.ts`;
    await rename(join(dir, f), join(dir, target));
    renamed.set(f, target);
  }
  const playlist = join(dir, `${name}.m3u8`);
  const text = await readFile(playlist, 'utf8');
  await writeFile(
    playlist,
    placeIvs(
      text
        .split('\n')
        .map((line) => renamed.get(line.trim()) ?? line)
        .join('\n'),
      ivs,
    ),
  );
  return files.map((f) => renamed.get(f) ?? f);
}
