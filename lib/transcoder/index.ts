import type { WorkflowConfig } from '../config.js';
import { ConfigurationError } from '../errors.js';
import { ElasticTranscoderAdapter } from './elastic-transcoder.js';
import type { CancellableTranscoder } from './types.js';

export function createTranscoder(config: Pick<WorkflowConfig, 'transcoderBackend' | 'pipelineId'>): CancellableTranscoder {
  if (!config.pipelineId) throw new ConfigurationError('Environment variable PIPELINE_ID is required', { code: 'CONFIGURATION' });
  return new ElasticTranscoderAdapter(config.pipelineId);
}
