/**
 * What the chaos run uploads: one generated clip copied under awkward keys (every copy must succeed), and a few bad
 * inputs (every one must end in a failure notification with a clear code).
 */
import { generateSampleClip } from '../../local/cli/sample.js';

export interface GoodInput {
  kind: 'good';
  key: string;
  body: Buffer;
}

export interface BadInput {
  kind: 'bad';
  label: string;
  key: string;
  body: Buffer;
  /** ASL error names (the notification's `error.code`) that count as the right answer. */
  expectedCodes: string[];
}

export type ChaosInput = GoodInput | BadInput;

/**
 * A short synthetic clip *without* `+faststart`: the moov atom is written last, so cutting the file in half gives
 * the realistic "upload interrupted" corruption (no index at all) rather than a clip that merely ends early.
 */
export function generateClip(ffmpeg: string, file: string, seconds: number): Promise<void> {
  return generateSampleClip(ffmpeg, file, seconds, '320x240', false);
}

// The key shapes users actually upload, which S3 URL-encodes in events (space → `+`, `+` → `%2B`, `%` → `%25`).
const NAME_SHAPES: ReadonlyArray<(n: string) => string> = [
  (n) => `clip ${n} with spaces.mp4`,
  (n) => `ünïcødé 日本語 ${n}.mp4`,
  (n) => `a+b ${n}.mp4`,
  (n) => `salt & pepper ${n} 100% real.mp4`,
  (n) => `plain-${n}.mp4`,
  (n) => `nested/folder ${n}/Q&A+%20 ${n}.MP4`,
];

export function goodInputs(prefix: string, count: number, clip: Buffer): GoodInput[] {
  return Array.from({ length: count }, (_, i) => {
    const shape = NAME_SHAPES[i % NAME_SHAPES.length] ?? NAME_SHAPES[0];
    const n = String(i + 1).padStart(2, '0');
    return { kind: 'good' as const, key: `${prefix}${shape?.(n) ?? `clip-${n}.mp4`}`, body: clip };
  });
}

export function badInputs(prefix: string, clip: Buffer): BadInput[] {
  return [
    {
      kind: 'bad',
      label: 'zero-byte object',
      key: `${prefix}bad empty.mp4`,
      body: Buffer.alloc(0),
      expectedCodes: ['SourceEmptyError'],
    },
    {
      kind: 'bad',
      label: 'text file named .mp4',
      key: `${prefix}bad notes.mp4`,
      body: Buffer.from('These are meeting notes, not a video.\n'.repeat(50)),
      expectedCodes: ['TranscodeJobFailedError'],
    },
    {
      kind: 'bad',
      label: 'truncated mp4 (no moov atom)',
      key: `${prefix}bad truncated.mp4`,
      body: clip.subarray(0, Math.floor(clip.length / 2)),
      expectedCodes: ['TranscodeJobFailedError'],
    },
  ];
}
