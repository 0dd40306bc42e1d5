import type { WorkflowConfig } from '../config/workflow.js';
import { ConfigurationError } from '../errors.js';
import { ElasticTranscoderAdapter } from './elastic-transcoder.js';
import { MediaConvertAdapter } from './mediaconvert.js';
import type { CancellableTranscoder } from './types.js';

export type TranscoderConfig = Pick<
  WorkflowConfig,
  | 'transcoderBackend'
  | 'pipelineId'
  | 'mediaConvertRoleArn'
  | 'mediaConvertQueueArn'
  | 'mediaConvertSpekeUrl'
  | 'mediaConvertSpekeCertificateArn'
>;

/** The adapter for `TRANSCODER_BACKEND`; throws ConfigurationError at start-up when its settings are missing. */
export function createTranscoder(config: TranscoderConfig): CancellableTranscoder {
  if (config.transcoderBackend === 'mediaconvert') {
    return new MediaConvertAdapter({
      roleArn: config.mediaConvertRoleArn,
      queueArn: config.mediaConvertQueueArn,
      spekeUrl: config.mediaConvertSpekeUrl,
      spekeCertificateArn: config.mediaConvertSpekeCertificateArn,
    });
  }
  if (!config.pipelineId)
    throw new ConfigurationError('Environment variable PIPELINE_ID is required', { code: 'CONFIGURATION' });
  return new ElasticTranscoderAdapter(config.pipelineId);
}
