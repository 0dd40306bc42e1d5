/**
 * `npm run bench:transcode` — how close the local transcode comes to bare ffmpeg, on one clip (default: a generated
 * 60 s 1280x720 clip with audio) and the default profile's ladder (2M / 1M / 400k HLS, 6 s segments, AES-128):
 *
 *   (a)  bare ffmpeg producing the whole ladder in one command (the engine's own command line, AES-128 included):
 *        the best a hand-written script could do
 *   (a′) bare ffmpeg, one command per rendition, one after another (how the engine worked before the one-process
 *        ladder)
 *   (b)  the local transcode job alone, submit to COMPLETE (the transcoder's own job timing, from the (c) run)
 *   (c)  the whole workflow as `run` does it, upload to notification, default settings (not `--fast`)
 *   (d)  four jobs uploaded at once (first submit to last COMPLETE, and upload to last notification) against four
 *        bare-ffmpeg ladders run at the transcoder's parallelism
 *
 * Every row runs for each ffmpeg binary that exists (the default choice — FFMPEG_PATH, else an ffmpeg >= 5 on PATH —
 * and the bundled @ffmpeg-installer build). The stack rows run in a child process per binary (one stack per
 * process: handlers resolve their endpoints once). Prints a table, writes bench/results/transcode-<time>.json.
 *
 * Every row also runs once per backend (both share the engine): MediaConvert (the default) and Elastic Transcoder,
 * each against bare ffmpeg producing the ladder that backend's job asks the engine for.
 *
 * Flags: --clip FILE  --seconds 60  --size 1280x720  --jobs 4  --backend all|mediaconvert|elastictranscoder
 *        --binaries all|default
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  DEFAULT_JOB_CONCURRENCY,
  type FfmpegBinary,
  ffmpegVersion,
  selectFfmpeg,
} from '../local/engine/index.js';
import { bareLadder, generateClip, inPool, ladderPlan, timed } from './transcode/ladder.js';
import {
  BACKENDS,
  type Backend,
  type BackendResult,
  type BinaryResult,
  round,
  type StackTimings,
  table,
} from './transcode/report.js';
import { child, RESULT_MARK } from './transcode/stack.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function options(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      clip: { type: 'string' },
      seconds: { type: 'string', default: '60' },
      size: { type: 'string', default: '1280x720' },
      jobs: { type: 'string', default: '4' },
      backend: { type: 'string', default: 'all' },
      binaries: { type: 'string', default: 'all' },
      child: { type: 'boolean', default: false },
      ffmpeg: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.backend !== 'all' && !BACKENDS.includes(values.backend as Backend))
    throw new Error(`--backend must be all, mediaconvert or elastictranscoder, got ${values.backend}`);
  if (values.binaries !== 'all' && values.binaries !== 'default')
    throw new Error(`--binaries must be all or default, got ${values.binaries}`);
  const jobs = Number(values.jobs);
  const seconds = Number(values.seconds);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error('--jobs must be a positive integer');
  if (!(seconds > 0)) throw new Error('--seconds must be positive');
  if (!/^\d+x\d+$/.test(values.size)) throw new Error('--size must look like 1280x720');
  const backends = values.backend === 'all' ? BACKENDS : [values.backend as Backend];
  return { ...values, jobs, seconds, backends };
}

async function childTimings(binary: FfmpegBinary, clip: string, jobs: number, backend: Backend) {
  const args = [
    join(ROOT, 'bin', 'run-ts.js'),
    join(ROOT, 'bench', 'transcode-bench.ts'),
    '--child',
    '--ffmpeg',
    binary.path,
    '--clip',
    clip,
    '--jobs',
    String(jobs),
    '--backend',
    backend,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c: string) => {
    out += c;
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const line = out.split('\n').find((l) => l.startsWith(RESULT_MARK));
  if (code !== 0 || !line) throw new Error(`stack measurement failed (exit ${code}): ${out.slice(-800)}`);
  return JSON.parse(line.slice(RESULT_MARK.length)) as StackTimings;
}

async function binariesToMeasure(which: 'all' | 'default'): Promise<FfmpegBinary[]> {
  const chosen = await selectFfmpeg();
  if (which === 'default') return [chosen];
  const list = [chosen];
  const bundled = (
    (await import('@ffmpeg-installer/ffmpeg').catch(() => undefined)) as
      | { default?: { path?: string } }
      | undefined
  )?.default?.path;
  if (bundled && bundled !== chosen.path) {
    const version = await ffmpegVersion(bundled).catch(() => undefined);
    if (version) list.push({ path: bundled, ...version, source: 'bundled' });
  }
  return list;
}

/** (a), (a′), the stack rows (b)–(d) and (d)'s bare ladders for one binary and one backend's ladder. */
async function measureBackend(
  binary: FfmpegBinary,
  backend: Backend,
  clip: string,
  work: string,
  jobs: number,
): Promise<BackendResult> {
  const ffmpeg = binary.path;
  const tag = `${backend}-${basename(ffmpeg)}`;
  process.stderr.write(`ffmpeg ${binary.version} (${binary.path}), ${backend}: (a) one command…\n`);
  const [a] = await timed(async () =>
    bareLadder(ffmpeg, await ladderPlan(work, clip, ffmpeg, `${tag}-a`, backend), work),
  );
  process.stderr.write('  (b)/(c)/(d) the local stack…\n');
  const timings = await childTimings(binary, clip, jobs, backend);
  process.stderr.write('  (a′) one command per rendition…\n');
  const plan = await ladderPlan(work, clip, ffmpeg, `${tag}-a-seq`, backend);
  const [perRendition] = await timed(async () => {
    for (const r of plan.renditions) await bareLadder(ffmpeg, { ...plan, renditions: [r] }, work);
  });
  process.stderr.write(`  (d) ${jobs} bare ladders, ${DEFAULT_JOB_CONCURRENCY} at a time…\n`);
  const plans = await Promise.all(
    Array.from({ length: jobs }, (_, i) => ladderPlan(work, clip, ffmpeg, `${tag}-d-${i}`, backend)),
  );
  const [four] = await timed(() =>
    inPool(plans, DEFAULT_JOB_CONCURRENCY, (p) => bareLadder(ffmpeg, p, work)),
  );
  return {
    backend,
    ladderOneCommandSeconds: round(a, 3),
    ladderPerRenditionSeconds: round(perRendition, 3),
    fourLaddersSeconds: round(four, 3),
    timings,
    ratios: {
      jobVsFfmpeg: round(timings.jobSeconds / a, 3),
      runVsFfmpeg: round(timings.runSeconds / a, 3),
      fourJobsVsFfmpeg: round(timings.fourJobsSeconds / four, 3),
      perRenditionVsOneCommand: round(perRendition / a, 3),
    },
  };
}

async function main(argv: string[]): Promise<void> {
  const o = options(argv);
  if (o.help) {
    process.stdout.write(`${fileURLToPath(import.meta.url)}: see the comment at the top for flags\n`);
    return;
  }
  if (o.child) return child(o.ffmpeg ?? '', o.clip ?? '', o.jobs, o.backends[0] ?? 'mediaconvert');
  const startedAt = new Date();
  const loadBefore = loadavg();
  const work = await mkdtemp(join(tmpdir(), 'st-transcode-bench-'));
  try {
    const binaries = await binariesToMeasure(o.binaries as 'all' | 'default');
    const clip = o.clip ?? join(work, `clip-${o.seconds}s-${o.size}.mp4`);
    if (!o.clip) {
      process.stderr.write(`generating a ${o.seconds} s ${o.size} clip with audio…\n`);
      await generateClip(binaries[0]?.path ?? '', clip, o.seconds, o.size);
    }
    const results: BinaryResult[] = [];
    for (const binary of binaries) {
      const stacks: BackendResult[] = [];
      for (const backend of o.backends) {
        stacks.push(await measureBackend(binary, backend, clip, work, o.jobs));
      }
      results.push({ ffmpeg: { path: binary.path, version: binary.version, source: binary.source }, stacks });
    }
    const loadAfter = loadavg();
    const report = {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadBefore, loadAfter },
      clip: o.clip ?? `generated ${o.seconds} s ${o.size} with audio`,
      backends: o.backends,
      profile: 'default',
      jobs: o.jobs,
      jobConcurrency: DEFAULT_JOB_CONCURRENCY,
      // The headline ratios are the default binary's and the first backend's (what `run` uses by default);
      // every binary's and backend's are in `binaries` and `ratiosByBackend`.
      ratios: results[0]?.stacks[0]?.ratios,
      ratiosByBackend: Object.fromEntries((results[0]?.stacks ?? []).map((s) => [s.backend, s.ratios])),
      binaries: results,
    };
    process.stdout.write(table(results, o.jobs));
    process.stdout.write(
      `load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} before, ${loadAfter.map((l) => l.toFixed(2)).join(' ')} after; ${cpus().length} cores\n`,
    );
    await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
    const file = join(
      ROOT,
      'bench',
      'results',
      `transcode-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`,
    );
    await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${file}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench:transcode: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
