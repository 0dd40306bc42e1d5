/**
 * What the chaos run uploads: one generated clip copied under awkward keys (every copy must succeed), and a few bad
 * inputs (every one must end in a failure notification with a clear code).
 */
import { spawn } from 'node:child_process';

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
export async function generateClip(ffmpeg: string, file: string, seconds: number): Promise<void> {
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x240:rate=25',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=44100',
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    file,
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`ffmpeg could not generate the clip (exit ${code}): ${stderr.trim()}`)),
    );
  });
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
