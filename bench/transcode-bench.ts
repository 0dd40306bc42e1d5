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
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BUILT_IN_PROFILES } from '../lib/profiles.js';
import { AAC_SAMPLE_RATE, PRESET_EQUIVALENTS } from '../lib/transcoder/mediaconvert.js';
import { renditionFromPreset, systemPresets } from '../local/elastictranscoder/index.js';
import {
  DEFAULT_JOB_CONCURRENCY,
  type FfmpegBinary,
  ffmpegVersion,
  type LadderPlan,
  ladderArgs,
  parseInput,
  type RenditionPlan,
  type RenditionSettings,
  runFfmpeg,
  selectFfmpeg,
} from '../local/engine/index.js';
import { settingsFor } from '../local/mediaconvert/index.js';

const RESULT_MARK = 'BENCH_RESULT ';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

type Backend = 'elastictranscoder' | 'mediaconvert';
const BACKENDS: Backend[] = ['mediaconvert', 'elastictranscoder'];

interface StackTimings {
  /** (b) submit → COMPLETE of the single job. */
  jobSeconds: number;
  /** (c) upload start → notification. */
  runSeconds: number;
  /** (d) first submit → last COMPLETE of the concurrent jobs. */
  fourJobsSeconds: number;
  /** (d) upload start → last notification of the concurrent jobs. */
  fourRunsSeconds: number;
  /** (c) the job's COMPLETE → the PollJob that saw it (how long a finished job waits for the workflow). */
  completionToWorkflowSeconds: number;
}

interface Ratios {
  jobVsFfmpeg: number;
  runVsFfmpeg: number;
  fourJobsVsFfmpeg: number;
  perRenditionVsOneCommand: number;
}

interface BackendResult {
  backend: Backend;
  /** (a) bare ffmpeg, this backend's ladder in one command. */
  ladderOneCommandSeconds: number;
  /** (a′) bare ffmpeg, this backend's ladder one command per rendition. */
  ladderPerRenditionSeconds: number;
  /** (d) bare ffmpeg, `jobs` of this backend's ladders at the transcoder's parallelism. */
  fourLaddersSeconds: number;
  timings: StackTimings;
  ratios: Ratios;
}

interface BinaryResult {
  ffmpeg: { path: string; version: string; source: string };
  /** Per backend measured, in BACKENDS order. */
  stacks: BackendResult[];
}

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

async function timed<T>(work: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const result = await work();
  return [(performance.now() - start) / 1000, result];
}

async function generateClip(ffmpeg: string, file: string, seconds: number, size: string): Promise<void> {
  const { code, stderr } = await runFfmpeg(ffmpeg, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=30`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-b:v',
    '4000k',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-shortest',
    '-y',
    file,
  ]);
  if (code !== 0) throw new Error(`clip generation failed: ${stderr.slice(-400)}`);
}

/**
 * The default profile's ladder as engine renditions, each with its own AES-128 key (as the job would have), in the
 * settings the backend's job gives the engine: Elastic Transcoder's system presets, or the MediaConvert job's inline
 * settings (Main profile for every rendition, no fixed GOP, 48 kHz audio), which cost more to encode. Each backend is
 * compared with bare ffmpeg producing its own ladder.
 */
async function ladderPlan(
  work: string,
  clip: string,
  ffmpeg: string,
  tag: string,
  backend: Backend,
): Promise<LadderPlan> {
  const profile = BUILT_IN_PROFILES.find((p) => p.name === 'default');
  if (!profile) throw new Error('no default profile');
  const presets = new Map(
    systemPresets('us-east-1', '000000000000').map((p) => [p.Id, renditionFromPreset(p)]),
  );
  const input = parseInput((await runFfmpeg(ffmpeg, ['-i', clip])).stderr);
  if (!input) throw new Error(`${clip} is not media ffmpeg can read`);
  const renditions: RenditionPlan[] = [];
  for (const output of profile.outputs) {
    const settings =
      backend === 'mediaconvert' ? mediaConvertSettings(output.presetId) : presets.get(output.presetId);
    if (!settings) throw new Error(`unknown preset ${output.presetId}`);
    const dir = join(work, tag, output.key);
    await mkdir(dir, { recursive: true });
    renditions.push({
      settings,
      dir,
      base: output.key,
      segmentDuration: profile.segmentDurationSeconds,
      encryption: { key: randomBytes(16), iv: randomBytes(16), uri: 'https://keys.example/asset' },
    });
  }
  return { inputFile: clip, input, renditions };
}

/** What the local MediaConvert hands the engine for this preset's MediaConvert equivalent (lib/transcoder). */
function mediaConvertSettings(presetId: string): RenditionSettings | undefined {
  const r = PRESET_EQUIVALENTS[presetId];
  if (!r) return undefined;
  return settingsFor({
    nameModifier: '',
    ...(r.video ? { video: r.video } : {}),
    ...(r.audio
      ? { audio: { bitrate: r.audio.bitrate, sampleRate: AAC_SAMPLE_RATE, selector: 'Audio Selector 1' } }
      : {}),
  });
}

/** Runs ladderArgs as a script would: key info files on disk, ffmpeg, nothing else. */
async function bareLadder(ffmpeg: string, plan: LadderPlan, work: string): Promise<void> {
  const infos = await Promise.all(
    plan.renditions.map(async (r, i) => {
      if (!r.encryption) return undefined;
      const keyFile = join(work, `${basename(r.dir)}-${i}.key`);
      await writeFile(keyFile, r.encryption.key);
      const info = `${keyFile}info`;
      await writeFile(info, `${r.encryption.uri}\n${keyFile}\n${r.encryption.iv.toString('hex')}\n`);
      return info;
    }),
  );
  const { code, stderr } = await runFfmpeg(ffmpeg, ladderArgs(plan, infos));
  if (code !== 0) throw new Error(`ffmpeg failed: ${stderr.slice(-400)}`);
}

async function inPool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
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

/** The transcoder's own submit → finish times of the jobs these executions created. */
async function jobWindows(
  backend: Backend,
  config: {
    endpoints: Record<string, string>;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    pipelineId: string;
  },
  executionNames: string[],
): Promise<Array<{ submit: number; finish: number }>> {
  const { sanitizeUserMetadata } = await import('../lib/transcoder/metadata.js');
  const markers = new Set(executionNames.map((n) => sanitizeUserMetadata({ execution: n }).execution));
  const common = { region: config.region, credentials: config.credentials };
  if (backend === 'mediaconvert') {
    const endpoint = config.endpoints.mediaconvert;
    if (!endpoint) throw new Error('this local stack has no MediaConvert endpoint (endpoints.mediaconvert)');
    const { ListJobsCommand, MediaConvertClient } = await import('@aws-sdk/client-mediaconvert');
    const client = new MediaConvertClient({ ...common, endpoint });
    const { Jobs = [] } = await client.send(new ListJobsCommand({ MaxResults: 20 }));
    client.destroy();
    return Jobs.filter((j) => markers.has(j.UserMetadata?.execution)).map((j) => ({
      submit: j.Timing?.SubmitTime?.getTime() ?? Number.NaN,
      finish: j.Timing?.FinishTime?.getTime() ?? Number.NaN,
    }));
  }
  const { ElasticTranscoderClient, ListJobsByPipelineCommand } = await import(
    '@aws-sdk/client-elastic-transcoder'
  );
  const client = new ElasticTranscoderClient({ ...common, endpoint: config.endpoints.elastictranscoder });
  const { Jobs = [] } = await client.send(new ListJobsByPipelineCommand({ PipelineId: config.pipelineId }));
  client.destroy();
  return Jobs.filter((j) => markers.has(j.UserMetadata?.execution)).map((j) => ({
    submit: j.Timing?.SubmitTimeMillis ?? Number.NaN,
    finish: j.Timing?.FinishTimeMillis ?? Number.NaN,
  }));
}

/** Child: one stack with default settings; one job, then `jobs` jobs at once. */
async function child(ffmpegPath: string, clip: string, jobs: number, backend: Backend): Promise<void> {
  process.env.LOG_LEVEL = 'SILENT';
  const { startStack } = await import('../local/stack/index.js');
  const { uploadFile } = await import('../local/stack/upload.js');
  const dataDir = await mkdtemp(join(tmpdir(), 'st-transcode-bench-'));
  const ffmpeg = await selectFfmpeg({ explicit: ffmpegPath });
  const stack = await startStack({ dataDir, quiet: true, ffmpeg, backend });
  const body = await readFile(clip);
  const arrived = new Map<string, number>();
  const unsubscribe = stack.onNotification((n) => {
    arrived.set(n.execution.name, performance.now());
  });
  const runBatch = async (keys: string[]) => {
    const start = performance.now();
    const since = Date.now();
    await Promise.all(keys.map((key) => uploadFile(stack.s3, { bucket: stack.config.bucket, key, body })));
    const names = await Promise.all(
      keys.map(async (key) => {
        const record = await stack.waitForExecution(key, 30 * 60_000, since);
        if (record.status !== 'SUCCEEDED')
          throw new Error(`${key}: execution ${record.status} ${record.error ?? ''}`);
        await stack.waitForNotification(record.name, 60_000);
        return record.name;
      }),
    );
    const last = Math.max(...names.map((n) => arrived.get(n) ?? Number.NaN));
    const windows = await jobWindows(backend, stack.config as never, names);
    if (windows.length !== keys.length) throw new Error(`found ${windows.length} of ${keys.length} jobs`);
    const sawComplete = names.map(
      (name) =>
        stack.sfn.getExecutionHistory(stack.sfn.executionArn(name)).find((e) => {
          const exited = (e as { stateExitedEventDetails?: { name: string; output?: string } })
            .stateExitedEventDetails;
          if (e.type !== 'TaskStateExited' || exited?.name !== 'PollJob' || !exited.output) return false;
          return (JSON.parse(exited.output) as { job?: { status?: string } }).job?.status === 'Complete';
        })?.timestamp ?? Number.NaN,
    );
    const jobSeconds =
      (Math.max(...windows.map((w) => w.finish)) - Math.min(...windows.map((w) => w.submit))) / 1000;
    const lastFinish = Math.max(...windows.map((w) => w.finish));
    return {
      runSeconds: (last - start) / 1000,
      jobSeconds,
      completionLag: (Math.max(...sawComplete) - lastFinish) / 1000,
    };
  };
  try {
    const one = await runBatch(['incoming/bench-single.mp4']);
    const many = await runBatch(
      Array.from({ length: jobs }, (_, i) => `incoming/bench-${i + 1}-of-${jobs}.mp4`),
    );
    const result: StackTimings = {
      jobSeconds: one.jobSeconds,
      runSeconds: one.runSeconds,
      fourJobsSeconds: many.jobSeconds,
      fourRunsSeconds: many.runSeconds,
      completionToWorkflowSeconds: one.completionLag,
    };
    process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`);
  } finally {
    unsubscribe();
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
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

const round = (n: number, digits = 2) => Number(n.toFixed(digits));

function table(results: BinaryResult[], jobs: number): string {
  const rows: string[][] = [['ffmpeg', 'backend (its own ladder)', 'step', 's', '× (a)']];
  for (const r of results) {
    const name = `${r.ffmpeg.version} (${r.ffmpeg.source})`;
    for (const b of r.stacks) {
      const label = b.backend === 'mediaconvert' ? 'MediaConvert' : 'Elastic Transcoder';
      const a = b.ladderOneCommandSeconds;
      const t = b.timings;
      const add = (step: string, s: number, ratio: string) =>
        rows.push([name, label, step, s.toFixed(1), ratio]);
      add('(a) bare ffmpeg, ladder in one command', a, '1.00');
      add(
        '(a′) bare ffmpeg, one command per rendition',
        b.ladderPerRenditionSeconds,
        (b.ladderPerRenditionSeconds / a).toFixed(2),
      );
      add('(b) local job, submit → COMPLETE', t.jobSeconds, (t.jobSeconds / a).toFixed(2));
      add('(c) whole run, upload → notification', t.runSeconds, (t.runSeconds / a).toFixed(2));
      add('(c′) job COMPLETE → PollJob sees it', t.completionToWorkflowSeconds, '');
      add(`(d) ${jobs} bare ladders, ${DEFAULT_JOB_CONCURRENCY} at a time`, b.fourLaddersSeconds, '');
      add(
        `(d) ${jobs} jobs at once, first submit → last COMPLETE`,
        t.fourJobsSeconds,
        `${(t.fourJobsSeconds / b.fourLaddersSeconds).toFixed(2)} × (d) ffmpeg`,
      );
      add(
        `(d) ${jobs} runs at once, upload → last notification`,
        t.fourRunsSeconds,
        `${(t.fourRunsSeconds / b.fourLaddersSeconds).toFixed(2)} × (d) ffmpeg`,
      );
    }
  }
  return `${rows.map((cells) => `| ${cells.join(' | ')} |`).join('\n')}\n`;
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
