/**
 * SQS → Step Functions. Consumes S3 ObjectCreated notifications in batches and reports partial batch failures
 * (Powertools' batch utility), so one bad message never blocks or replays the rest; a message that keeps failing
 * reaches the DLQ via redrive.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ingestConfig } from '../../lib/config/ingest.js';
import { decideRecord, parseS3EventBody } from '../../lib/ingest/s3-events.js';
import { startWorkflow } from '../../lib/ingest/start-execution.js';
import { logger } from '../../lib/logger.js';
import { relativeKey } from '../../lib/paths.js';
import { loadProfiles, profileNameForKey } from '../../lib/profiles.js';

const config = ingestConfig();
const profiles = loadProfiles(config.profilesJson);

async function processMessage(body: string, messageId: string): Promise<void> {
  const parsed = parseS3EventBody(body);
  if (parsed.kind === 'test-event') {
    logger.info('ignoring s3:TestEvent', { messageId });
    return;
  }
  if (parsed.kind === 'invalid') {
    // Fail the item: after maxReceiveCount it lands in the DLQ for a human, instead of vanishing.
    throw new Error(`unprocessable message ${messageId}: ${parsed.reason}`);
  }
  for (const record of parsed.records) {
    const decision = decideRecord(record, config);
    if (!decision.accept) {
      // Refused records are not retried (a redelivery would be refused the same way) but are logged as errors.
      if (decision.refused) logger.error('refusing record', { messageId, reason: decision.reason });
      else logger.info('ignoring record', { messageId, reason: decision.reason, key: decision.key });
      continue;
    }
    const profile = profileNameForKey(
      relativeKey(decision.key, config.inputPrefix),
      profiles,
      config.defaultProfile,
    );
    const outcome = await startWorkflow(config.stateMachineArn, {
      source: {
        bucket: decision.bucket,
        key: decision.key,
        ...(decision.versionId ? { versionId: decision.versionId } : {}),
        ...(decision.sequencer ? { sequencer: decision.sequencer } : {}),
        ...(decision.etag ? { etag: decision.etag } : {}),
        eventName: decision.eventName,
      },
      profile,
      requestedAt: decision.eventTime ?? '1970-01-01T00:00:00.000Z',
    });
    logger.info('execution', { messageId, key: decision.key, profile, ...outcome });
  }
}

// One record at a time, as before: a batch is at most ten messages, and sequential starts keep StartExecution under
// its throttle when many uploads arrive at once. A batch whose every record fails is still a partial-failure
// response (not a thrown error), so the Lambda service returns exactly the failed messages to the queue.
const processor = new BatchProcessor(EventType.SQS);

async function processRecord(record: SQSRecord): Promise<void> {
  try {
    await processMessage(record.body, record.messageId);
  } catch (e) {
    logger.error('message failed', { messageId: record.messageId, error: (e as Error).message });
    throw e;
  }
}

export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>({ timeoutEarlyInMillis: 0 })
  .handler((event, context) =>
    processPartialResponse(event, processRecord, processor, {
      context,
      processInParallel: false,
      throwOnFullBatchFailure: false,
    }),
  )
  .use(injectLambdaContext(logger, { resetKeys: true }));
