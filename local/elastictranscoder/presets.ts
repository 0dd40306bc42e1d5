/**
 * The Elastic Transcoder system presets this project uses: HLS video+audio,
 * video-only and audio-only, and MPEG-DASH. Settings follow the service's published system presets: H.264 with a
 * fixed GOP of 90 frames, ShrinkToFit within the maximum size, AAC audio at 44.1 kHz.
 */
import type { AudioParameters, Preset, VideoParameters } from '@aws-sdk/client-elastic-transcoder';
import type { RenditionSettings } from '../engine/index.js';

interface VideoSpec {
  profile: 'baseline' | 'main' | 'high';
  level: string;
  kbps: number;
  maxWidth: number;
  maxHeight: number;
  keyframes?: number;
}

function video(v: VideoSpec): VideoParameters {
  return {
    Codec: 'H.264',
    CodecOptions: {
      Profile: v.profile,
      Level: v.level,
      MaxReferenceFrames: v.profile === 'baseline' ? '1' : '3',
      InterlacedMode: 'Progressive',
      ColorSpaceConversionMode: 'None',
    },
    KeyframesMaxDist: String(v.keyframes ?? 90),
    FixedGOP: 'true',
    BitRate: String(v.kbps),
    FrameRate: 'auto',
    MaxFrameRate: '30',
    MaxWidth: String(v.maxWidth),
    MaxHeight: String(v.maxHeight),
    DisplayAspectRatio: 'auto',
    SizingPolicy: 'ShrinkToFit',
    PaddingPolicy: 'NoPad',
    Watermarks: [],
  };
}

function audio(kbps: number): AudioParameters {
  return {
    Codec: 'AAC',
    SampleRate: '44100',
    BitRate: String(kbps),
    Channels: '2',
    CodecOptions: { Profile: 'AAC-LC' },
  };
}

const THUMBNAILS = {
  Format: 'png',
  Interval: '300',
  MaxWidth: '192',
  MaxHeight: '108',
  SizingPolicy: 'ShrinkToFit',
  PaddingPolicy: 'NoPad',
};

type PresetSpec = {
  id: string;
  name: string;
  container: 'ts' | 'fmp4';
  video?: VideoSpec;
  audioKbps?: number;
};

const HLS_VIDEO: [string, string, VideoSpec, number][] = [
  ['200010', '2M', { profile: 'main', level: '3.1', kbps: 1872, maxWidth: 1024, maxHeight: 768 }, 128],
  ['200020', '1.5M', { profile: 'main', level: '3.1', kbps: 1372, maxWidth: 960, maxHeight: 640 }, 128],
  ['200030', '1M', { profile: 'main', level: '3.1', kbps: 872, maxWidth: 640, maxHeight: 432 }, 128],
  ['200040', '600k', { profile: 'baseline', level: '3.0', kbps: 536, maxWidth: 480, maxHeight: 320 }, 64],
  ['200050', '400k', { profile: 'baseline', level: '3.0', kbps: 336, maxWidth: 400, maxHeight: 288 }, 64],
];

const SPECS: PresetSpec[] = [
  ...HLS_VIDEO.flatMap(([id, label, v, a]): PresetSpec[] => [
    { id, name: `HLS ${label}`, container: 'ts', video: v, audioKbps: a },
    { id: id.replace(/0$/, '5'), name: `HLS Video - ${label}`, container: 'ts', video: v },
  ]),
  { id: '200060', name: 'HLS Audio - 160k', container: 'ts', audioKbps: 160 },
  { id: '200071', name: 'HLS Audio - 64k', container: 'ts', audioKbps: 64 },
  {
    id: '500020',
    name: 'MPEG-DASH Video - 4.8M',
    container: 'fmp4',
    video: { profile: 'main', level: '4.1', kbps: 4800, maxWidth: 1920, maxHeight: 1080, keyframes: 60 },
  },
  {
    id: '500030',
    name: 'MPEG-DASH Video - 2.4M',
    container: 'fmp4',
    video: { profile: 'main', level: '3.1', kbps: 2400, maxWidth: 1280, maxHeight: 720, keyframes: 60 },
  },
  {
    id: '500040',
    name: 'MPEG-DASH Video - 1.2M',
    container: 'fmp4',
    video: { profile: 'main', level: '3.1', kbps: 1200, maxWidth: 854, maxHeight: 480, keyframes: 60 },
  },
  {
    id: '500050',
    name: 'MPEG-DASH Video - 600k',
    container: 'fmp4',
    video: { profile: 'main', level: '3.1', kbps: 600, maxWidth: 426, maxHeight: 240, keyframes: 60 },
  },
  { id: '500060', name: 'MPEG-DASH Audio - 128k', container: 'fmp4', audioKbps: 128 },
];

export const SYSTEM_PRESET_PREFIX = '1351620000001-';

export function systemPresets(region: string, accountId: string): Preset[] {
  return SPECS.map((s) => {
    const id = `${SYSTEM_PRESET_PREFIX}${s.id}`;
    return {
      Id: id,
      Arn: `arn:aws:elastictranscoder:${region}:${accountId}:preset/${id}`,
      Name: `System preset: ${s.name}`,
      Description: `System preset generated ${s.name}`,
      Container: s.container,
      ...(s.audioKbps ? { Audio: audio(s.audioKbps) } : {}),
      ...(s.video ? { Video: video(s.video), Thumbnails: THUMBNAILS } : {}),
      Type: 'System',
    };
  });
}

const positive = (value: string | undefined) => {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
};

/** An Elastic Transcoder preset as engine settings, the front-end's one translation; `auto` values keep the source's. */
export function renditionFromPreset(preset: Preset): RenditionSettings {
  const v = preset.Video;
  const a = preset.Audio;
  const profile = v?.CodecOptions?.Profile;
  const maxWidth = positive(v?.MaxWidth);
  const maxHeight = positive(v?.MaxHeight);
  const frameRate = positive(v?.FrameRate);
  const maxFrameRate = positive(v?.MaxFrameRate);
  const sampleRate = positive(a?.SampleRate);
  const channels = positive(a?.Channels);
  return {
    container: preset.Container === 'fmp4' ? 'fmp4' : 'ts',
    ...(v
      ? {
          video: {
            kbps: positive(v.BitRate) ?? 1000,
            profile: profile === 'baseline' || profile === 'high' ? profile : 'main',
            level: v.CodecOptions?.Level ?? '3.1',
            keyframesMaxDist: positive(v.KeyframesMaxDist) ?? 90,
            fixedGop: v.FixedGOP === 'true',
            ...(maxWidth ? { maxWidth } : {}),
            ...(maxHeight ? { maxHeight } : {}),
            ...(frameRate ? { frameRate } : {}),
            ...(maxFrameRate ? { maxFrameRate } : {}),
          },
        }
      : {}),
    ...(a
      ? {
          audio: {
            kbps: positive(a.BitRate) ?? 128,
            ...(sampleRate ? { sampleRate } : {}),
            ...(channels ? { channels } : {}),
          },
        }
      : {}),
  };
}
