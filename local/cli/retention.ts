/**
 * `SOURCE_RETENTION` for the local stack, read from the environment of `up` and `run` before anything starts, so a
 * misspelt value is refused at once instead of failing every job at its last step.
 */
import type { SourceRetentionPolicy } from '../../lib/contracts.js';
import { CommandError } from './common.js';

export async function sourceRetentionFrom(env: NodeJS.ProcessEnv): Promise<SourceRetentionPolicy> {
  const { sourceRetentionConfig } = await import('../../lib/config/workflow.js');
  try {
    return sourceRetentionConfig(env).policy;
  } catch (e) {
    throw new CommandError(`${(e as Error).message} (SOURCE_RETENTION is delete or keep)`);
  }
}

/** One line for the banners: what happens to an upload once its job is done. */
export function describeSourceRetention(policy: SourceRetentionPolicy): string {
  return policy === 'delete'
    ? 'SOURCE_RETENTION=delete: an upload is deleted (that version) once its job succeeds; a failed job keeps it'
    : 'SOURCE_RETENTION=keep: uploads stay under the input prefix';
}
