/** A short synthetic clip (colour bars with a moving counter and a tone), for `run` with no file and for tests. */
import { spawn } from 'node:child_process';

export async function generateSampleClip(
  ffmpeg: string,
  file: string,
  seconds = 5,
  size = '320x240',
  /** `+faststart` puts the index first; without it, truncating the file removes the index (a realistic corruption). */
  faststart = true,
): Promise<void> {
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${size}:rate=25`,
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
    ...(faststart ? ['-movflags', '+faststart'] : []),
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
        : reject(new Error(`ffmpeg could not generate the sample clip (exit ${code}): ${stderr.trim()}`)),
    );
  });
}
