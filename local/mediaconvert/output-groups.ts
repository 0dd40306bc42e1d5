/**
 * A MediaConvert job plan in the engine's terms, translated once: the HLS output group becomes the engine's HLS
 * group, each output a rendition of it. Files are named the way MediaConvert names them: `<base><nameModifier>.m3u8`
 * and `<base><nameModifier>_00001.ts`, numbered from 1, beside the master `<base>.m3u8`.
 */
import { posix } from 'node:path';
import type { HlsGroup, OutputGroup, RenditionSettings } from '../engine/index.js';
import type { SpekeKey } from './speke-client.js';
import type { JobPlan, RenditionPlan } from './wire.js';

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

/** The job's output groups for the engine; `encryption` is the SPEKE key and the IV every segment uses. */
export function outputGroupsFor(plan: JobPlan, encryption?: { key: SpekeKey; iv: Buffer }): OutputGroup[] {
  const base = posix.basename(plan.destination.base);
  const folder = posix.dirname(plan.destination.base);
  const hls: HlsGroup = {
    type: 'hls',
    destination: { bucket: plan.destination.bucket, folder: folder === '.' ? '' : folder },
    master: base,
    segmentSeconds: plan.segmentLength,
    segmentNames: { separator: '_', first: 1 },
    ...(encryption
      ? { encryption: { key: encryption.key.key, iv: encryption.iv, uri: encryption.key.uri } }
      : {}),
    outputs: plan.renditions.map((r) => ({ name: `${base}${r.nameModifier}`, settings: settingsFor(r) })),
  };
  return [hls];
}
