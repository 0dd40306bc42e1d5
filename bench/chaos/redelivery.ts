/**
 * Redeliveries for the chaos run and the reliability tests: the S3 event an execution was started for, rebuilt, and
 * many copies of it sent to the ingest queue at once.
 */
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ExecutionInput } from '../../lib/contracts.js';
import type { Stack } from '../../local/stack/index.js';
import { toS3EventNotification } from '../../local/stack/s3-events.js';

/**
 * The S3 event of the object version an execution was started for, rebuilt from its input (what a redelivery
 * carries) and the uploaded size. Nothing is read from S3: with SOURCE_RETENTION=delete the source version is gone
 * once its job succeeds, and a redelivery must still be recognised as a duplicate then.
 */
export function s3EventFor(stack: Stack, executionArn: string, size: number): string {
  const record = stack.sfn.describeExecution(executionArn);
  const input = JSON.parse(record.input) as ExecutionInput;
  const event = toS3EventNotification(
    {
      bucket: input.source.bucket,
      key: input.source.key,
      size,
      etag: input.source.etag ?? '',
      eventName: (input.source.eventName ?? 'ObjectCreated:Put') as 'ObjectCreated:Put',
      sequencer: input.source.sequencer ?? '',
      // A versioned bucket's events name the version, as the original did.
      ...(input.source.versionId ? { versionId: input.source.versionId } : {}),
      eventTime: input.requestedAt,
    },
    { region: stack.config.region },
  );
  return JSON.stringify(event);
}

/** Sends `copies` identical messages to the ingest queue, all batches in flight at once. */
export async function sendCopies(
  sqs: SQSClient,
  queueUrl: string,
  body: string,
  copies: number,
): Promise<void> {
  const batches: Promise<unknown>[] = [];
  for (let start = 0; start < copies; start += 10) {
    const entries = Array.from({ length: Math.min(10, copies - start) }, (_, i) => ({
      Id: `m${start + i}`,
      MessageBody: body,
    }));
    batches.push(
      sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries })).then((out) => {
        if (out.Failed?.length)
          throw new Error(
            `SendMessageBatch refused ${out.Failed.length} message(s): ${out.Failed[0]?.Message}`,
          );
      }),
    );
  }
  await Promise.all(batches);
}
