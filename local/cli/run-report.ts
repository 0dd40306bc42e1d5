/** What `secure-transcode run` prints once its jobs are done: one block per job, then a summary. */
import type { Notification, Stack } from '../stack/index.js';
import { type CliIo, formatDuration } from './common.js';
import type { JobOutcome } from './run-jobs.js';

/** Prints each job's result; resolves with the number of jobs whose execution and notification both succeeded. */
export async function printResults(io: CliIo, stack: Stack, outcome: JobOutcome[]): Promise<number> {
  io.stdout.write('\nResults\n');
  let succeededCount = 0;
  for (const { job, record, notification } of outcome) {
    const succeeded = record?.status === 'SUCCEEDED' && notification?.status === 'SUCCEEDED';
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
    await printDelivery(io, stack, notification);
  }
  return succeededCount;
}

/** Where a succeeded job's encrypted source, playlists and outputs are, and a player URL for it. */
async function printDelivery(io: CliIo, stack: Stack, notification: Notification): Promise<void> {
  const bucket = stack.config.bucket;
  io.stdout.write(
    `      encrypted     s3://${bucket}/${notification.encrypted?.key} (${notification.encrypted?.mode})\n`,
  );
  if (notification.playback?.masterPlaylist)
    io.stdout.write(`      master        s3://${bucket}/${notification.playback.masterPlaylist}\n`);
  for (const o of notification.outputs) {
    // MediaConvert reports no output sizes (Elastic Transcoder does): print only what the transcoder reported.
    const facts = [
      o.width && o.height ? `${o.width}x${o.height}` : undefined,
      o.durationMillis ? `${(o.durationMillis / 1000).toFixed(1)} s` : undefined,
      typeof o.fileSize === 'number' ? `${o.fileSize} bytes` : undefined,
    ].filter((f) => f !== undefined);
    io.stdout.write(`      output        s3://${bucket}/${o.key}  ${facts.join(' ')}\n`);
  }
  const assetId = notification.playback?.assetId;
  if (!assetId) return;
  const dir = stack.exportDirFor(assetId);
  if (dir) io.stdout.write(`      exported      ${dir}/\n`);
  const token = await stack.issueToken(assetId).catch(() => undefined);
  if (token) io.stdout.write(`      player        ${stack.playerUrl(assetId, token)}\n`);
}

/** The closing lines: the tally, where notifications and the console are, and how to serve the stack again. */
export function printSummary(
  io: CliIo,
  stack: Stack,
  summary: { total: number; succeeded: number; elapsedMs: number; dataDir: string; serve: boolean },
): void {
  const { total, succeeded, dataDir } = summary;
  const failed = total - succeeded;
  io.stdout.write(
    `\n${failed === 0 ? '✔' : '✖'} ${succeeded} of ${total} job(s) succeeded${failed ? `, ${failed} failed` : ''} in ${formatDuration(summary.elapsedMs)}\n`,
  );
  io.stdout.write(`Notifications: ${stack.config.notificationsFile}\n`);
  io.stdout.write(`Console:       ${stack.config.console}\n`);
  if (summary.serve) {
    io.stdout.write(
      `Serving the stack (console, player, key service, S3) until Ctrl-C. \`secure-transcode play <assetId> --data-dir ${dataDir}\` gives a fresh player URL.\n`,
    );
  } else {
    io.stdout.write(
      `The stack stops now; \`secure-transcode up --data-dir ${dataDir}\` serves the same endpoints again and \`secure-transcode play <assetId> --data-dir ${dataDir}\` gives a fresh player URL.\n`,
    );
  }
}
