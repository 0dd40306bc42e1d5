/**
 * `secure-transcode run [files…]`: the one-shot path. Starts the local stack, uploads each file under the input
 * prefix (exactly like any S3 client would), follows every execution live, then prints the notifications, output
 * locations, exported files and a player URL. Exit code 0 only if every job succeeded.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { describeFfmpeg } from '../transcoder/ffmpeg.js';
import {
  backendFrom,
  type CliIo,
  CommandError,
  dataDirFrom,
  faultsFrom,
  formatDuration,
  parseCliArgs,
  requireReadableFile,
  selectFfmpegOrExplain,
  UsageError,
  untilInterrupted,
} from './common.js';
import { ProgressView } from './progress.js';
import { generateSampleClip } from './sample.js';

export const RUN_USAGE = `Usage: secure-transcode run [files…] [options]

Starts the local stack, uploads each file to s3://<bucket>/incoming/, follows each workflow execution and prints
the results. With no file, a 5-second sample clip is generated with ffmpeg. Exits 0 only if every job succeeded.

Options:
  --backend NAME     mediaconvert (default, as deployed) or elastictranscoder
  --data-dir DIR     state directory (default ./.secure-transcode/)
  --fast             shorten Wait states and retry intervals
  --faults SPEC      inject faults, e.g. kms:*:throttle:0.2,s3:GetObject:slowdown:0.2 (see local/faults.ts)
  --profile NAME     upload under incoming/NAME/ to select an encoding profile (default, ctr, mobile, or one
                     from PROFILES_JSON)
  --timeout SECONDS  give up on a job after this long (default 1800)
  --serve            keep the stack, the console and the player running after the jobs, until Ctrl-C
  --verbose          show the handlers' logs
  -h, --help         show this help`;

interface Job {
  file: string;
  key: string;
  label: string;
  uploadedAt: number;
}

function uniqueKeys(files: string[], prefix: string): Job[] {
  const used = new Set<string>();
  return files.map((file) => {
    const ext = extname(file);
    const stem = basename(file, ext);
    let name = `${stem}${ext}`;
    for (let n = 2; used.has(name); n += 1) name = `${stem} (${n})${ext}`;
    used.add(name);
    return { file, key: `${prefix}${name}`, label: name, uploadedAt: 0 };
  });
}

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

export async function runRunCommand(
  argv: string[],
  io: CliIo,
  options: { signal?: AbortSignal } = {},
): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    io.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  const timeoutSeconds = values.timeout === undefined ? 1800 : Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0)
    throw new UsageError(`--timeout must be a positive number of seconds, got "${values.timeout}"`);
  if (values.profile !== undefined) await requireKnownProfile(values.profile);
  const dataDir = dataDirFrom(values['data-dir']);
  const backend = backendFrom(values.backend);
  const files = positionals.map((f) => resolve(f));
  for (const file of files) await requireReadableFile(file);

  // Handlers log through Powertools at import time: choose the level before anything loads them.
  process.env.LOG_LEVEL ??= values.verbose ? 'INFO' : 'SILENT';
  const { ingestConfig } = await import('../../lib/config.js');
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
  const ffmpeg = await selectFfmpegOrExplain();

  if (files.length === 0) {
    const sample = join(dataDir, 'samples', 'sample.mp4');
    await mkdir(join(dataDir, 'samples'), { recursive: true });
    io.stdout.write(`No file given: generating a 5 s sample clip at ${sample}\n`);
    await generateSampleClip(ffmpeg.path, sample, 5);
    files.push(sample);
  }

  const { startStack, StackAlreadyRunningError, PortInUseError } = await import('../stack.js');
  const { uploadFile } = await import('../stack/upload.js');
  const stack = await startStack({
    dataDir,
    backend,
    fast: values.fast,
    faults: await faultsFrom(values.faults),
    quiet: true,
    ffmpeg,
  }).catch((e: unknown) => {
    if (e instanceof StackAlreadyRunningError || e instanceof PortInUseError)
      throw new CommandError(e.message);
    throw e;
  });
  const interruption = untilInterrupted(io, options.signal);
  const interrupted = interruption.promise;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stack.stop();
  };

  try {
    const definition = JSON.parse(readFileSync(stack.definitionPath, 'utf8'));
    const view = new ProgressView(io, definition);
    const prefix = `${stack.config.inputPrefix}${values.profile ? `${values.profile}/` : ''}`;
    const jobs = uniqueKeys(files, prefix);
    const byKey = new Map(jobs.map((j) => [j.key, j]));
    const executionToKey = new Map<string, string>();

    io.stdout.write(
      `Local stack up (data dir ${dataDir}${values.fast ? ', fast' : ''}), transcoding with ${describeFfmpeg(stack.ffmpeg)}.\nUploading ${jobs.length} file(s) to s3://${stack.config.bucket}/${prefix}\n`,
    );
    const executionNameToKey = new Map<string, string>();
    const unsubscribeProgress = stack.onTranscodeProgress((p) => {
      const key = executionNameToKey.get(p.userMetadata.execution ?? '');
      if (!key) return;
      view.transcoding(key, {
        percent: p.percent,
        renditions: p.renditions.map((percent, i) => ({
          name: basename(p.outputKeys[i] ?? `#${i + 1}`),
          percent,
        })),
      });
    });
    const unsubscribe = stack.onExecutionEvent((record, event) => {
      if (event.type === 'ExecutionStarted') {
        const key = (JSON.parse(record.input) as { source?: { key?: string } }).source?.key;
        const job = key === undefined ? undefined : byKey.get(key);
        if (!job || record.startDate < job.uploadedAt) return;
        executionToKey.set(record.executionArn, job.key);
        executionNameToKey.set(record.name, job.key);
        view.started(job.key, record.name, record.startDate);
        return;
      }
      const key = executionToKey.get(record.executionArn);
      if (!key) return;
      const details = event as {
        stateEnteredEventDetails?: { name: string };
        evaluationFailedEventDetails?: { state: string; error: string; location: string };
      };
      if (event.type.endsWith('StateEntered') && details.stateEnteredEventDetails)
        view.entered(key, details.stateEnteredEventDetails.name);
      else if (event.type === 'StateRetried')
        view.note(
          key,
          `retry ${details.evaluationFailedEventDetails?.state}: ${details.evaluationFailedEventDetails?.error}`,
        );
      else if (event.type === 'StateCaught')
        view.note(
          key,
          `caught ${details.evaluationFailedEventDetails?.error} in ${details.evaluationFailedEventDetails?.state}`,
        );
    });

    const startedAt = Date.now();
    const work = (async () => {
      for (const job of jobs) {
        view.add(job.key, job.label);
        job.uploadedAt = Date.now();
        await uploadFile(stack.s3, {
          bucket: stack.config.bucket,
          key: job.key,
          body: readFileSync(job.file),
        });
      }
      return Promise.all(
        jobs.map(async (job) => {
          const arn = await stack
            .waitForExecutionStart(job.key, 120_000, job.uploadedAt)
            .catch(() => undefined);
          if (!arn) {
            view.finished(job.key, 'FAILED', 'no execution started (see the ingest DLQ)');
            return { job, record: undefined, notification: undefined };
          }
          const record = await stack.sfn.waitForExecution(arn, timeoutSeconds * 1000).catch(() => undefined);
          if (!record) {
            view.finished(job.key, 'TIMED_OUT', `still running after ${timeoutSeconds} s`);
            return { job, record: stack.sfn.describeExecution(arn), notification: undefined };
          }
          const notification = await stack.waitForNotification(record.name, 30_000).catch(() => undefined);
          view.finished(
            job.key,
            record.status,
            notification?.error ? `${notification.error.code} at ${notification.error.step}` : '',
            record.stopDate,
          );
          return { job, record, notification };
        }),
      );
    })();
    const outcome = await Promise.race([work, interrupted.then(() => undefined)]);
    unsubscribe();
    unsubscribeProgress();
    view.close();
    if (!outcome) {
      io.stderr.write('Interrupted: stopping the stack.\n');
      await stop();
      return 130;
    }

    io.stdout.write('\nResults\n');
    let ok = true;
    let succeededCount = 0;
    for (const { job, record, notification } of outcome) {
      const succeeded = record?.status === 'SUCCEEDED' && notification?.status === 'SUCCEEDED';
      ok &&= succeeded;
      if (succeeded) succeededCount += 1;
      const took = record?.stopDate ? formatDuration(record.stopDate - record.startDate) : '';
      io.stdout.write(
        `  ${succeeded ? '✔' : '✖'} ${job.label}  ${record?.status ?? 'NOT STARTED'}${took ? ` in ${took}` : ''}${record ? `  (execution ${record.name})` : ''}\n`,
      );
      if (!notification) {
        io.stdout.write(
          `      notification  none received${record?.error ? ` — execution error ${record.error}` : ''}\n`,
        );
        continue;
      }
      if (notification.status === 'FAILED') {
        io.stdout.write(
          `      error         ${notification.error?.code} at ${notification.error?.step}: ${notification.error?.message}\n`,
        );
        continue;
      }
      const bucket = stack.config.bucket;
      io.stdout.write(
        `      encrypted     s3://${bucket}/${notification.encrypted?.key} (${notification.encrypted?.mode})\n`,
      );
      if (notification.playback?.masterPlaylist)
        io.stdout.write(`      master        s3://${bucket}/${notification.playback.masterPlaylist}\n`);
      for (const o of notification.outputs) {
        const dims = o.width && o.height ? `${o.width}x${o.height}` : '?';
        const seconds = o.durationMillis ? `${(o.durationMillis / 1000).toFixed(1)} s` : '?';
        io.stdout.write(
          `      output        s3://${bucket}/${o.key}  ${dims} ${seconds} ${o.fileSize ?? '?'} bytes\n`,
        );
      }
      const assetId = notification.playback?.assetId;
      if (assetId) {
        const dir = stack.exportDirFor(assetId);
        if (dir) io.stdout.write(`      exported      ${dir}/\n`);
        const token = await stack.issueToken(assetId).catch(() => undefined);
        if (token) io.stdout.write(`      player        ${stack.playerUrl(assetId, token)}\n`);
      }
    }
    const failedCount = outcome.length - succeededCount;
    io.stdout.write(
      `\n${ok ? '✔' : '✖'} ${succeededCount} of ${outcome.length} job(s) succeeded${failedCount ? `, ${failedCount} failed` : ''} in ${formatDuration(Date.now() - startedAt)}\n`,
    );
    io.stdout.write(`Notifications: ${stack.config.notificationsFile}\n`);
    io.stdout.write(`Console:       ${stack.config.console}\n`);
    if (values.serve) {
      io.stdout.write(
        `Serving the stack (console, player, key service, S3) until Ctrl-C. \`secure-transcode play <assetId> --data-dir ${dataDir}\` gives a fresh player URL.\n`,
      );
      await interrupted;
    } else {
      io.stdout.write(
        `The stack stops now; \`secure-transcode up --data-dir ${dataDir}\` serves the same endpoints again and \`secure-transcode play <assetId> --data-dir ${dataDir}\` gives a fresh player URL.\n`,
      );
    }
    await stop();
    return ok ? 0 : 1;
  } finally {
    interruption.dispose();
    await stop();
  }
}
