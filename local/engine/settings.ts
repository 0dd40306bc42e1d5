/**
 * What the engine is asked to encode, in its own terms: one rendition's codec settings. Each front-end maps its
 * service's settings (a MediaConvert output, an Elastic Transcoder preset) to these once.
 */

export interface VideoSettings {
  /** ShrinkToFit box; the picture keeps its aspect ratio and is never scaled up. */
  maxWidth?: number;
  maxHeight?: number;
  kbps: number;
  profile: 'baseline' | 'main' | 'high';
  level: string;
  keyframesMaxDist: number;
  /** No scene-cut keyframes: segments line up across renditions. */
  fixedGop: boolean;
  /** Frames per second; undefined keeps the source's, capped at `maxFrameRate`. */
  frameRate?: number;
  maxFrameRate?: number;
}

export interface AudioSettings {
  kbps: number;
  sampleRate?: number;
  channels?: number;
}

export interface RenditionSettings {
  container: 'ts' | 'fmp4';
  video?: VideoSettings;
  audio?: AudioSettings;
}
