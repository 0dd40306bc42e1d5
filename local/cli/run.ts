/**
 * `secure-transcode run [files…]`: the one-shot path. Starts the local stack, uploads each file under the input
 * prefix (exactly like any S3 client would), follows every execution live, then prints the notifications, output
 * locations, exported files and a player URL. Exit code 0 only if every job succeeded.
 */
import { readFileSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { SourceRetentionPolicy } from '../../lib/contracts.js';
import { describeFfmpeg } from '../engine/index.js';
import type { Stack, StackOptions } from '../stack/index.js';
import {
  backendFrom,
  type CliIo,
  CommandError,
  faultsFrom,
  parseCliArgs,
  privateDataDirFrom,
  requireReadableFile,
  selectFfmpegOrExplain,
  UsageError,
  untilInterrupted,
} from './common.js';
import { ProgressView } from './progress.js';
import { describeSourceRetention, sourceRetentionFrom } from './retention.js';
import { printResults, printSummary } from './run-report.js';
import { generateSampleClip } from './sample.js';

export const RUN_USAGE = `Usage: secure-transcode run [files…] [options]

Starts the local stack, uploads each file to s3://<bucket>/incoming/, follows each workflow execution and prints
the results. With no file, a 5-second sample clip is generated with ffmpeg. Exits 0 only if every job succeeded.
Your files are only read: the stack works on the copies it uploads, and SOURCE_RETENTION=delete (the default)
deletes those uploaded copies from the bucket once their jobs succeed, never your local files
(SOURCE_RETENTION=keep leaves the copies under incoming/).

Options:
  --backend NAME     mediaconvert (default, as deployed) or elastictranscoder
  --data-dir DIR     state directory (default ./.secure-transcode/); refused if another user owns it, can write
                     to it or could swap it
  --fast             shorten Wait states and retry intervals
  --faults SPEC      inject faults, e.g. kms:*:throttle:0.2,s3:GetObject:slowdown:0.2 (see local/faults.ts)
  --profile NAME     upload under incoming/NAME/ to select an encoding profile (default, ctr, mobile, or one
                     from PROFILES_JSON)
  --timeout SECONDS  give up on a job after this long (default 1800)
  --serve            keep the stack, the console and the player running after the jobs, until Ctrl-C
  --verbose          show the handlers' logs
  -h, --help         show this help`;

/**
 * The starter picks the profile from the key's first folder and silently falls back to `default` for any other
 * folder, so an unknown `--profile` must be refused here, before anything is uploaded.
 */
async function requireKnownProfile(name: string): Promise<void> {
  const { loadProfiles } = await import('../../lib/profiles.js');
  let profiles: Map<string, unknown>;
  try {
    profiles = loadProfiles(process.env.PROFILES_JSON || undefined);
  } catch (e) {
    throw new CommandError((e as Error).message);
  }
  if (!profiles.has(name.toLowerCase())) {
    throw new UsageError(
      `--profile: unknown profile "${name}"; the profiles are ${[...profiles.keys()].join(', ')} (PROFILES_JSON adds more)`,
    );
  }
}

function parse(argv: string[]) {
  return parseCliArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'data-dir': { type: 'string' },
      backend: { type: 'string' },
      fast: { type: 'boolean', default: false },
      faults: { type: 'string' },
      profile: { type: 'string' },
      timeout: { type: 'string' },
      serve: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

type RunOptions = Awaited<ReturnType<typeof readRunOptions>>;

/** Validates everything the user gave before any server starts, so bad input costs nothing. */
async function readRunOptions(argv: string[]) {
  const { values, positionals } = parse(argv);
  const timeoutSeconds = values.timeout === undefined ? 1800 : Number(values.timeout);
  if (!values.help && (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0))
    throw new UsageError(`--timeout must be a positive number of seconds, got "${values.timeout}"`);
  return { values, files: positionals.map((f) => resolve(f)), timeoutSeconds };
}

/** Refuses files whose extension the starter would ignore, before anything is uploaded. */
async function requireAcceptedExtensions(files: string[]): Promise<void> {
  const { ingestConfig } = await import('../../lib/config/ingest.js');
  const allowed = ingestConfig({
    ...process.env,
    STATE_MACHINE_ARN: 'unused',
    SOURCE_BUCKETS: 'unused',
  }).allowedExtensions;
  for (const file of files) {
    const ext = extname(file).toLowerCase();
    if (!allowed.includes(ext)) {
      throw new CommandError(
        `${file}: the workflow only accepts ${allowed.join(' ')} files (ALLOWED_EXTENSIONS); "${ext || '(none)'}" would be ignored.`,
      );
    }
  }
}

async function generateSampleIfNone(io: CliIo, files: string[], dataDir: string, ffmpegPath: string) {
  if (files.length > 0) return;
  const sample = join(dataDir, 'samples', 'sample.mp4');
  await mkdir(join(dataDir, 'samples'), { recursive: true, mode: 0o700 });
  io.stdout.write(`No file given: generating a 5 s sample clip at ${sample}\n`);
  await generateSampleClip(ffmpegPath, sample, 5);
  // ffmpeg creates it with the shell's umask; everything in the data directory is the owner's alone.
  await chmod(sample, 0o600);
  files.push(sample);
}

async function startStackOrExplain(options: StackOptions): Promise<Stack> {
  const { startStack, StackAlreadyRunningError, PortInUseError, UnsafeDataDirError } = await import(
    '../stack/index.js'
  );
  return startStack(options).catch((e: unknown) => {
    if (
      e instanceof StackAlreadyRunningError ||
      e instanceof PortInUseError ||
      e instanceof UnsafeDataDirError
    )
      throw new CommandError(e.message);
    throw e;
  });
}

export async function runRunCommand(
  argv: string[],
  io: CliIo,
  options: { signal?: AbortSignal } = {},
): Promise<number> {
  const { values, files, timeoutSeconds } = await readRunOptions(argv);
  if (values.help) {
    io.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  if (values.profile !== undefined) await requireKnownProfile(values.profile);
  const backend = backendFrom(values.backend);
  for (const file of files) await requireReadableFile(file);
  const sourceRetention = await sourceRetentionFrom(process.env);
  // Checked before the sample clip is written into it; the stack checks again when it starts.
  const dataDir = privateDataDirFrom(values['data-dir'], 'create');

  // Handlers log through Powertools at import time: choose the level before anything loads them.
  process.env.LOG_LEVEL ??= values.verbose ? 'INFO' : 'SILENT';
  await requireAcceptedExtensions(files);
  const ffmpeg = await selectFfmpegOrExplain();
  await generateSampleIfNone(io, files, dataDir, ffmpeg.path);

  const stack = await startStackOrExplain({
    dataDir,
    backend,
    fast: values.fast,
    faults: await faultsFrom(values.faults),
    quiet: true,
    ffmpeg,
    env: { SOURCE_RETENTION: sourceRetention },
  });
  const interruption = untilInterrupted(io, options.signal);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= stack.stop();
    return stopped;
  };
  try {
    const code = await runOnStack(
      io,
      stack,
      { values, files, timeoutSeconds, dataDir, sourceRetention },
      interruption.promise,
    );
    // Stopped while Ctrl-C is still handled, so a second one cannot cut the stop short.
    await stop();
    return code;
  } finally {
    interruption.dispose();
    await stop();
  }
}

/** Uploads and follows the jobs on a started stack, prints the results; the caller stops the stack. */
async function runOnStack(
  io: CliIo,
  stack: Stack,
  run: RunOptions & { dataDir: string; sourceRetention: SourceRetentionPolicy },
  interrupted: Promise<unknown>,
): Promise<number> {
  const { values, dataDir } = run;
  const { followJobs, runJobs, uniqueKeys } = await import('./run-jobs.js');
  const definition = JSON.parse(readFileSync(stack.definitionPath, 'utf8'));
  const view = new ProgressView(io, definition);
  const prefix = `${stack.config.inputPrefix}${values.profile ? `${values.profile}/` : ''}`;
  const jobs = uniqueKeys(run.files, prefix);
  io.stdout.write(
    `Local stack up (data dir ${dataDir}${values.fast ? ', fast' : ''}), transcoding with ${describeFfmpeg(stack.ffmpeg)}.\nUploading a copy of ${jobs.length} file(s) to s3://${stack.config.bucket}/${prefix} (your files are left as they are; ${describeSourceRetention(run.sourceRetention)})\n`,
  );
  const unfollow = followJobs(stack, view, jobs);
  const startedAt = Date.now();
  const work = runJobs(stack, view, jobs, run.timeoutSeconds);
  const outcome = await Promise.race([work, interrupted.then(() => undefined)]);
  unfollow();
  view.close();
  if (!outcome) {
    io.stderr.write('Interrupted: stopping the stack.\n');
    return 130;
  }
  const succeeded = await printResults(io, stack, outcome);
  printSummary(io, stack, {
    total: outcome.length,
    succeeded,
    elapsedMs: Date.now() - startedAt,
    dataDir,
    serve: values.serve,
  });
  if (values.serve) await interrupted;
  return succeeded === outcome.length ? 0 : 1;
}
