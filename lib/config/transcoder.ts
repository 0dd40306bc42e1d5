/** Which transcoder runs the jobs, and what each backend needs before the workflow may start. */
import { ConfigurationError } from '../errors.js';

export const TRANSCODER_BACKENDS = ['elastictranscoder', 'mediaconvert'] as const;
export type TranscoderBackend = (typeof TRANSCODER_BACKENDS)[number];

/**
 * MediaConvert needs a job role it can assume and, for HLS AES-128, a SPEKE key server. A StaticKeyProvider is the
 * only alternative and it writes the plaintext segment key into the job spec (visible to GetJob/ListJobs callers),
 * so it is never used: without a SPEKE URL the workflow refuses to start rather than silently weakening protection.
 */
export function requireMediaConvertSettings(s: {
  roleArn: string | undefined;
  spekeUrl: string | undefined;
}): void {
  if (!s.roleArn) {
    throw new ConfigurationError(
      'Environment variable MEDIACONVERT_ROLE_ARN is required when TRANSCODER_BACKEND=mediaconvert',
      {
        code: 'CONFIGURATION',
      },
    );
  }
  if (!s.spekeUrl) {
    throw new ConfigurationError(
      'Environment variable MEDIACONVERT_SPEKE_URL is required when TRANSCODER_BACKEND=mediaconvert: HLS AES-128 keys ' +
        'must come from a SPEKE key server, because the only alternative (a static key) puts the plaintext key into ' +
        'the job specification',
      { code: 'CONFIGURATION' },
    );
  }
}
