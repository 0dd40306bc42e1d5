import type { Context } from 'aws-lambda';
import { lambdaContext as localLambdaContext } from '../../local/lambda/index.js';

/** The context Lambda hands a function (the local runtime's own builder): what injectLambdaContext puts on log lines. */
export function lambdaContext(
  awsRequestId: string,
  functionName = 'secure-transcode-dev-validateSource',
): Context {
  return localLambdaContext({
    functionName,
    region: 'us-east-1',
    accountId: '123456789012',
    requestId: awsRequestId,
  });
}
