/**
 * Key delivery and playlist delivery (HTTP API, payload 2.0):
 *   GET /keys/{assetId}?token=T            → 16 raw key bytes, consumes the token
 *   GET /play/{assetId}/{playlist+}?token=T → rewritten playlist, validates the token without consuming it
 * The local stack serves the same factory from local/playback.
 */
import { dynamodb, kms, s3, ssm } from '../../lib/clients.js';
import { playbackConfig } from '../../lib/config/playback.js';
import { httpFunction } from '../../lib/handler.js';
import { buildKeyService, lazy, loadOriginSecret } from '../../lib/playback/deps.js';
import { createKeyServiceHttpHandler } from '../../lib/playback/http.js';

const config = playbackConfig();

export const handler = httpFunction(
  createKeyServiceHttpHandler(
    config,
    lazy(() => buildKeyService(config, { s3, kms, dynamodb, ssm })),
    lazy(() => loadOriginSecret(config, ssm)),
  ),
);
