/**
 * `baseUrl` (lib/config/env.ts) as every section reads KEY_SERVICE_URL with it: the base that `/keys/<assetId>` and
 * the player's paths are appended to loses the slashes a deployment may leave at its end, so no URL a player or
 * transcoder receives has `//`.
 */
import { describe, expect, it } from '@jest/globals';
import { playbackConfig, spekeConfig } from '../../../lib/config/playback.js';
import { notifyConfig, workflowConfig } from '../../../lib/config/workflow.js';

const URL_WITH_SLASHES = 'https://keys.example.com/prod//';

describe('KEY_SERVICE_URL', () => {
  it.each([
    [
      'workflowConfig',
      () =>
        workflowConfig({
          KMS_KEY_ID: 'alias/secure-transcode',
          PLAYBACK_KMS_KEY_ID: 'alias/secure-transcode-playback',
          PIPELINE_ID: '1111111111111-abcdef',
          KEY_SERVICE_URL: URL_WITH_SLASHES,
        }).keyServiceUrl,
    ],
    [
      'notifyConfig',
      () =>
        notifyConfig({
          TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:t',
          EVENT_BUS_NAME: 'b',
          KEY_SERVICE_URL: URL_WITH_SLASHES,
        }).keyServiceUrl,
    ],
    [
      'playbackConfig',
      () =>
        playbackConfig({
          TOKEN_TABLE: 'playback-tokens',
          TOKEN_SECRET_PARAM: '/st/token-secret',
          OUTPUT_BUCKET: 'media-out',
          KEY_SERVICE_URL: URL_WITH_SLASHES,
        }).keyServiceUrl,
    ],
    [
      'spekeConfig',
      () =>
        spekeConfig({
          OUTPUT_BUCKET: 'media-out',
          PLAYBACK_KMS_KEY_ID: 'k',
          KEY_SERVICE_URL: URL_WITH_SLASHES,
        }).keyServiceUrl,
    ],
  ])('loses its trailing slashes in %s', (_section, read) => {
    // Act
    const url = read();

    // Assess
    expect(url).toBe('https://keys.example.com/prod');
  });

  it('is refused when it is not a URL', () => {
    // Act
    const read = () =>
      spekeConfig({
        OUTPUT_BUCKET: 'media-out',
        PLAYBACK_KMS_KEY_ID: 'k',
        KEY_SERVICE_URL: 'keys.example.com',
      });

    // Assess
    expect(read).toThrow('Environment variable KEY_SERVICE_URL is invalid');
  });
});
