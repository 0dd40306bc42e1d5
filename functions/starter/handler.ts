/** SQS → Step Functions: each S3 ObjectCreated notification starts the workflow for its object version. */
import { ingestConfig } from '../../lib/config/ingest.js';
import { sqsBatchFunction } from '../../lib/handler.js';
import { ingestMessage } from '../../lib/ingest/ingest-message.js';
import { loadProfiles } from '../../lib/profiles.js';

const config = ingestConfig();
const profiles = loadProfiles(config.profilesJson);

export const handler = sqsBatchFunction((record) =>
  ingestMessage(record.body, record.messageId, { config, profiles }),
);
