import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateSampleClip } from '../../../local/cli/sample.js';
import {
  type FfmpegBinary,
  type LadderPlan,
  type LadderProgress,
  ladderArgs,
  parseInput,
  type RenditionPlan,
  type RenditionSettings,
  runFfmpeg,
  selectFfmpeg,
  transcodeLadder,
} from '../../../local/engine/index.js';
import { opensslDecrypt } from '../../support/openssl.js';

const run = promisify(execFile);

const video = (maxWidth: number, maxHeight: number, kbps: number, profile: 'baseline' | 'main') => ({
  maxWidth,
  maxHeight,
  kbps,
  profile,
  level: profile === 'main' ? '3.1' : '3.0',
  keyframesMaxDist: 50,
  fixedGop: true,
});
const LADDER: RenditionSettings[] = [
  {
    container: 'ts',
    video: video(1024, 768, 1872, 'main'),
    audio: { kbps: 128, sampleRate: 44100, channels: 2 },
  },
  {
    container: 'ts',
    video: video(640, 432, 872, 'main'),
    audio: { kbps: 128, sampleRate: 44100, channels: 2 },
  },
  {
    container: 'ts',
    video: video(400, 288, 336, 'baseline'),
    audio: { kbps: 64, sampleRate: 44100, channels: 2 },
  },
];

/** The sample clip at 854x480 for three seconds; `withAudio` false strips its audio track (copying the video). */
async function clip(ffmpeg: string, file: string, withAudio: boolean): Promise<void> {
  if (withAudio) return generateSampleClip(ffmpeg, file, 3, '854x480');
  await generateSampleClip(ffmpeg, `${file}.with-audio.mp4`, 3, '854x480');
  await run(ffmpeg, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-i',
    `${file}.with-audio.mp4`,
    '-an',
    '-c',
    'copy',
    file,
  ]);
}

async function planFor(ffmpeg: string, work: string, source: string, name: string): Promise<LadderPlan> {
  const input = parseInput((await runFfmpeg(ffmpeg, ['-i', source])).stderr);
  if (!input) throw new Error(`${source} is not media`);
  const renditions: RenditionPlan[] = await Promise.all(
    LADDER.map(async (settings, i) => {
      const dir = join(work, `${name}-${i}`);
      await mkdir(dir);
      return {
        settings,
        dir,
        base: `r${i}`,
        segmentDuration: 1,
        encryption: { key: randomBytes(16), iv: randomBytes(16), uri: `https://keys.example/${name}/${i}` },
      };
    }),
  );
  return { inputFile: source, input, renditions };
}

describe('the ffmpeg engine (transcodeLadder)', () => {
  let work: string;
  let ffmpeg: FfmpegBinary;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'st-ladder-'));
    ffmpeg = await selectFfmpeg();
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('encodes the whole ladder in one ffmpeg command from one decode', async () => {
    // Prepare
    const source = join(work, 'args.mp4');
    await writeFile(source, '');
    const plan: LadderPlan = {
      inputFile: source,
      input: { video: { width: 854, height: 480, frameRate: '25' }, hasAudio: true },
      renditions: LADDER.map((settings, i) => ({ settings, dir: join(work, `a${i}`), base: `a${i}` })),
    };

    // Act
    const args = ladderArgs(plan);

    // Assess
    expect(args.filter((a) => a === '-i')).toHaveLength(1);
    const graph = args[args.indexOf('-filter_complex') + 1];
    expect(graph).toBe(
      '[0:v:0]split=3[s0][s1][s2];[s0]scale=854:480[v0];[s1]scale=640:360[v1];[s2]scale=400:224[v2]',
    );
    const outputs = [0, 1, 2].map((i) => join(work, `a${i}`, `a${i}`));
    expect(args.filter((a) => outputs.includes(a))).toEqual(outputs);
  });

  describe('an 854x480 clip with audio, three encrypted renditions', () => {
    let plan: LadderPlan;
    let results: Awaited<ReturnType<typeof transcodeLadder>>;
    const progress: LadderProgress[] = [];

    beforeAll(async () => {
      const source = join(work, 'with-audio.mp4');
      await clip(ffmpeg.path, source, true);
      plan = await planFor(ffmpeg.path, work, source, 'with-audio');
      results = await transcodeLadder(ffmpeg.path, plan, { onProgress: (p) => progress.push(p) });
    });

    it('writes each rendition at its ShrinkToFit size with the codecs found in its segments', () => {
      // Assess
      expect(results.map((r) => [r.width, r.height, r.codecs])).toEqual([
        [854, 480, 'avc1.4d401f,mp4a.40.2'],
        [640, 360, 'avc1.4d401f,mp4a.40.2'],
        [400, 224, 'avc1.42c01e,mp4a.40.2'],
      ]);
      for (const r of results) {
        expect(r.durationMillis).toBeGreaterThan(2500);
        expect(r.bandwidth).toBeGreaterThan(0);
      }
    });

    it('encrypts each rendition under its own key and IV, byte-compatible with openssl', async () => {
      for (const [i, rendition] of plan.renditions.entries()) {
        // Prepare
        const { key, iv, uri } = rendition.encryption as NonNullable<RenditionPlan['encryption']>;
        const playlist = await readFile(join(rendition.dir, `r${i}.m3u8`), 'utf8');
        const segments = (await readdir(rendition.dir)).filter((f) => f.endsWith('.ts'));
        const plain = join(work, `plain-${i}.ts`);

        const segment = await readFile(join(rendition.dir, segments[0] ?? ''));

        // Act
        await writeFile(plain, opensslDecrypt('aes-cbc-pkcs7', key, iv, segment));
        const { stderr } = await runFfmpeg(ffmpeg.path, ['-i', plain]);

        // Assess
        expect(playlist).toContain(`#EXT-X-KEY:METHOD=AES-128,URI="${uri}",IV=0x${iv.toString('hex')}`);
        expect(segments.length).toBeGreaterThanOrEqual(3);
        expect(parseInput(stderr)).toMatchObject({
          video: { width: results[i]?.width, height: results[i]?.height },
          hasAudio: true,
        });
        const other = plan.renditions[(i + 1) % plan.renditions.length]?.encryption?.key as Buffer;
        expect(() => opensslDecrypt('aes-cbc-pkcs7', other, iv, segment)).toThrow();
      }
      // The key files ffmpeg read are gone with the run.
      expect((await readdir(tmpdir())).filter((f) => f.startsWith('st-hls-key-'))).toEqual([]);
    });

    it('reports ffmpeg progress for the ladder and each rendition up to 100%', () => {
      // Assess
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.at(-1)).toMatchObject({ percent: 100, renditions: [100, 100, 100] });
      for (const p of progress) {
        expect(p.percent).toBeGreaterThanOrEqual(0);
        expect(p.percent).toBeLessThanOrEqual(100);
        expect(p.renditions).toHaveLength(3);
      }
    });
  });

  it('writes no audio codec for a source without audio', async () => {
    // Prepare
    const source = join(work, 'silent.mp4');
    await clip(ffmpeg.path, source, false);
    const plan = await planFor(ffmpeg.path, work, source, 'silent');

    // Act
    const results = await transcodeLadder(ffmpeg.path, plan);

    // Assess
    expect(results.map((r) => r.codecs)).toEqual(['avc1.4d401f', 'avc1.4d401f', 'avc1.42c01e']);
  });
});
