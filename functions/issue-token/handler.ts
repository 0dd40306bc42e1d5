/**
 * POST /tokens {assetId, ttlSeconds?, maxUses?, viewerId?} → 201 {token, expiresAt, keyUrl, playUrl}.
 * The route is IAM-authorized (AWS_IAM on the HTTP API route): only the business side's roles may mint tokens.
 */
import { s3, ssm } from '../../lib/clients.js';
import { playbackConfig } from '../../lib/config/playback.js';
import { httpFunction } from '../../lib/handler.js';
import { buildTokenIssuer, lazy } from '../../lib/playback/deps.js';
import { createIssueTokenHttpHandler } from '../../lib/playback/http.js';

const config = playbackConfig();

export const handler = httpFunction(
  createIssueTokenHttpHandler(
    config,
    lazy(() => buildTokenIssuer(config, { s3, ssm })),
  ),
);
