/** The starter's section: which uploads start an execution, and which state machine runs them. */
import { z } from 'zod';
import { csv, load, prefix } from './env.js';

const IngestSchema = z.object({
  STATE_MACHINE_ARN: z.string().min(1),
  SOURCE_BUCKETS: z.string().min(1),
  INPUT_PREFIX: prefix.default('incoming/'),
  ALLOWED_EXTENSIONS: z.string().default('.mp4,.mov,.m4v,.mkv,.webm,.avi,.mpg,.mpeg,.ts,.mxf'),
  DEFAULT_PROFILE: z.string().default('default'),
  PROFILES_JSON: z.string().optional(),
});

export interface IngestConfig {
  stateMachineArn: string;
  /** The only buckets whose S3 records start a workflow; a record naming any other is refused. */
  sourceBuckets: string[];
  inputPrefix: string;
  allowedExtensions: string[];
  defaultProfile: string;
  /** Extra or overriding transcoding profiles (JSON array), parsed by lib/profiles.ts. */
  profilesJson: string | undefined;
}

export function ingestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const c = load(IngestSchema, env);
  return {
    stateMachineArn: c.STATE_MACHINE_ARN,
    sourceBuckets: csv(c.SOURCE_BUCKETS),
    inputPrefix: c.INPUT_PREFIX,
    allowedExtensions: csv(c.ALLOWED_EXTENSIONS).map((e) => (e.startsWith('.') ? e : `.${e}`).toLowerCase()),
    defaultProfile: c.DEFAULT_PROFILE,
    profilesJson: c.PROFILES_JSON || undefined,
  };
}
