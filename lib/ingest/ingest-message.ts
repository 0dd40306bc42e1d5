/**
 * One SQS message of S3 ObjectCreated notifications: each accepted record starts (or finds) the execution for its
 * object version, under the profile its key's folder names.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { IngestConfig } from '../config/ingest.js';
import { logger } from '../logger.js';
import { relativeKey } from '../paths.js';
import { type Profile, profileNameForKey } from '../profiles.js';
import { decideRecord, parseS3EventBody } from './s3-events.js';
import { startWorkflow } from './start-execution.js';

export interface IngestDeps {
  config: IngestConfig;
  profiles: Map<string, Profile>;
  sfn?: SFNClient;
}

export async function ingestMessage(body: string, messageId: string, deps: IngestDeps): Promise<void> {
  const { config, profiles } = deps;
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
    const outcome = await startWorkflow(
      config.stateMachineArn,
      {
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
      },
      deps.sfn,
    );
    logger.info('execution', { messageId, key: decision.key, profile, ...outcome });
  }
}
