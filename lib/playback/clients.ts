/**
 * The SSM client for the playback functions (token secret, CloudFront private key). It sits here rather than in
 * lib/clients.ts only because that file belongs to another change in flight; move it there when convenient.
 */
import { SSMClient } from '@aws-sdk/client-ssm';

export const ssm = new SSMClient({ maxAttempts: 3 });
