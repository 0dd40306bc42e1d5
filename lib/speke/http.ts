/**
 * API Gateway REST (payload 1.0) adaptation of the SPEKE key provider: `POST /copyProtection`, behind AWS_IAM auth.
 * Only this layer turns errors into status codes. 4xx bodies say what to fix; a 5xx tells the encryptor to retry
 * (MediaConvert retries SPEKE calls). Logs name the asset, KIDs and outcome, never the key or the response body.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { KmsThrottledError } from '../errors.js';
import { logger } from '../logger.js';
import { SpekeKeyCustodyError, SpekeRequestError } from './errors.js';
import type { SpekeKeyProvider } from './key-provider.js';

/** SPEKE asks key providers to identify themselves in this response header. */
export const SPEKE_USER_AGENT = 'secure-transcode SPEKE key provider';

const NO_STORE = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

function refusal(status: number, error: string, message: string, extra: Record<string, string> = {}) {
  return {
    statusCode: status,
    headers: { ...NO_STORE, 'Content-Type': 'application/json', ...extra },
    body: JSON.stringify({ error, message }),
  };
}

export function createSpekeHttpHandler(
  provider: () => Promise<SpekeKeyProvider>,
): (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult> {
  return async (event) => {
    const requestId = event.requestContext?.requestId;
    const caller = event.requestContext?.identity?.userArn ?? undefined;
    const body = event.body
      ? event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body
      : '';
    const headers = event.headers ?? {};
    try {
      const answer = await (await provider()).answer(body, headers);
      logger.info('SPEKE key served', {
        requestId,
        caller,
        assetId: answer.request.contentId,
        kids: answer.request.kids,
        systemIds: answer.request.systems.map((s) => s.systemId),
      });
      return {
        statusCode: 200,
        headers: { ...NO_STORE, 'Content-Type': 'application/xml', 'Speke-User-Agent': SPEKE_USER_AGENT },
        body: answer.body,
      };
    } catch (e) {
      if (e instanceof SpekeRequestError) {
        logger.info('SPEKE request refused', { requestId, caller, status: e.status, reason: e.reason });
        return refusal(e.status, e.reason, e.message);
      }
      if (e instanceof KmsThrottledError) {
        logger.warn('SPEKE request throttled by KMS', { requestId, error: e.message });
        return refusal(503, 'throttled', 'Try again', { 'Retry-After': '1' });
      }
      const err = e as Error;
      logger.error('SPEKE request failed', {
        requestId,
        caller,
        error: err.name,
        detail: err.message,
        custody: e instanceof SpekeKeyCustodyError,
      });
      return refusal(500, 'internal', 'The key provider could not answer; see its logs');
    }
  };
}
