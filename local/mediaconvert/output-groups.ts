/**
 * A MediaConvert job plan in the engine's terms, translated once: each output group becomes one engine output group
 * (HLS to HLS), each output a rendition of it. Files are named the way MediaConvert names them: `<base><nameModifier>.m3u8`
 * and `<base><nameModifier>_00001.ts`, numbered from 1, beside the master `<base>.m3u8`.
 */
import { posix } from 'node:path';
import type { HlsGroup, OutputGroup, RenditionSettings } from '../engine/index.js';
import type { SpekeKey } from './speke-client.js';
import type { HlsGroupPlan, JobPlan, RenditionPlan } from './wire.js';

/**
 * A MediaConvert output's codec settings (bitrates in bit/s) as engine settings: H.264 main 3.1 within the output's
 * width and height, a keyframe at least every 90 frames, stereo AAC.
 */
export function settingsFor(r: RenditionPlan): RenditionSettings {
  const kbps = (bitrate: number) => Math.max(1, Math.round(bitrate / 1000));
  return {
    container: 'ts',
    ...(r.video
      ? {
          video: {
            kbps: kbps(r.video.bitrate),
            profile: 'main',
            level: '3.1',
            keyframesMaxDist: 90,
            fixedGop: false,
            ...(r.video.width ? { maxWidth: r.video.width } : {}),
            ...(r.video.height ? { maxHeight: r.video.height } : {}),
          },
        }
      : {}),
    ...(r.audio
      ? {
          audio: {
            kbps: kbps(r.audio.bitrate),
            ...(r.audio.sampleRate ? { sampleRate: r.audio.sampleRate } : {}),
            channels: 2,
          },
        }
      : {}),
  };
}

/** Each of the job's output groups as an engine group; `keys[i]` is group i's SPEKE key, `iv` the IV every segment uses. */
export function outputGroupsFor(
  plan: JobPlan,
  keys: readonly (SpekeKey | undefined)[] = [],
  iv: Buffer = Buffer.alloc(16),
): OutputGroup[] {
  return plan.outputGroups.map((group, i) => hlsGroup(group, keys[i], iv));
}

function hlsGroup(group: HlsGroupPlan, key: SpekeKey | undefined, iv: Buffer): HlsGroup {
  const base = posix.basename(group.destination.base);
  const folder = posix.dirname(group.destination.base);
  return {
    type: 'hls',
    destination: { bucket: group.destination.bucket, folder: folder === '.' ? '' : folder },
    master: base,
    segmentSeconds: group.segmentLength,
    segmentNames: { separator: '_', first: 1 },
    ...(key ? { encryption: { key: key.key, iv, uri: key.uri } } : {}),
    outputs: group.outputs.map((r) => ({ name: `${base}${r.nameModifier}`, settings: settingsFor(r) })),
  };
}
