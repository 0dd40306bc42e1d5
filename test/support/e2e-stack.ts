/**
 * The one embedded stack an e2e file runs its cases on: started in a fresh work directory with a 2-second clip to
 * upload, `fast` (short waits and retries) and `quiet`, collecting every notification, with an SQS client for the
 * queue checks. Handlers read their configuration once per process, so a file that needs other settings passes them
 * here and gets a stack of its own.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { generateClip } from '../../bench/chaos/corpus.js';
import { sqsClientFor } from '../../bench/chaos/run.js';
import { logger } from '../../lib/logger.js';
import type { ExecutionRecord } from '../../local/sfn/index.js';
import { type Notification, type Stack, type StackOptions, startStack } from '../../local/stack/index.js';
import { untilQueueDrained } from './e2e-checks.js';
import { FFMPEG } from './ffmpeg.js';

export interface E2eStack {
  work: string;
  stack: Stack;
  sqs: SQSClient;
  /** A 2-second H.264/AAC MP4 (`clip.mp4` in `work`). */
  clip: Buffer;
  /** Every notification the stack has published, oldest first. */
  notifications: Notification[];
}

/** `name` prefixes the work directory; `options` go to startStack over the defaults above. */
export async function startE2eStack(
  name: string,
  options: Omit<StackOptions, 'dataDir'> = {},
): Promise<E2eStack> {
  logger.setLogLevel('SILENT');
  const work = mkdtempSync(join(tmpdir(), `st-${name}-`));
  try {
    await generateClip(FFMPEG, join(work, 'clip.mp4'), 2);
    const clip = readFileSync(join(work, 'clip.mp4'));
    const stack = await startStack({
      dataDir: join(work, 'data'),
      fast: true,
      quiet: true,
      ffmpegPath: FFMPEG,
      ...options,
    });
    const notifications: Notification[] = [];
    stack.onNotification((n) => notifications.push(n));
    return { work, stack, sqs: sqsClientFor(stack), clip, notifications };
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}

/** Stops what startE2eStack started, and the file's own `clients`; does nothing for a stack that never started. */
export async function stopE2eStack(
  e2e: E2eStack | undefined,
  ...clients: Array<{ destroy(): void } | undefined>
): Promise<void> {
  for (const client of [e2e?.sqs, ...clients]) client?.destroy();
  await e2e?.stack.stop();
  if (e2e) rmSync(e2e.work, { recursive: true, force: true });
}

/**
 * Starts a case with `act` (an upload, usually), waits for its execution and notification, then for the ingest queue
 * to drain, so that the next case starts from an empty queue.
 */
export async function runCase(
  e2e: E2eStack,
  key: string,
  act: () => Promise<unknown>,
): Promise<{ record: ExecutionRecord; notification: Notification }> {
  const since = Date.now();
  await act();
  const record = await e2e.stack.waitForExecution(key, 90_000, since);
  const notification = await e2e.stack.waitForNotification(record.name, 30_000);
  await untilQueueDrained(e2e.sqs, e2e.stack.config.queueUrl, 30_000);
  return { record, notification };
}
