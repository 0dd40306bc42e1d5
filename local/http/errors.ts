/**
 * The AWS error envelope of each wire protocol, written the way the official clients (the JS SDK v3, botocore, so
 * `/usr/bin/aws` and boto3) parse it back into the error's code and message:
 *  - AWS JSON 1.0 / 1.1 (Step Functions, SQS, DynamoDB / KMS, EventBridge): `{"__type": code, "message": …}` as
 *    `application/x-amz-json-1.x`, the code also in `x-amzn-ErrorType` (which the JS SDK reads first);
 *  - REST-JSON (Elastic Transcoder, MediaConvert): the code in `x-amzn-ErrorType`, `{"message": …}` as the body;
 *  - REST-XML as S3 writes it, without a wrapping `<ErrorResponse>`:
 *    `<Error><Code/><Message/><Resource/><RequestId/></Error>`, its request id also in `x-amz-request-id`;
 *  - query (SNS, SQS's query form): `<ErrorResponse><Error><Type>Sender|Receiver</Type><Code/><Message/></Error>
 *    <RequestId/></ErrorResponse>` in the service's XML namespace;
 *  - API Gateway's own answers (a route's authorizer, throttling, payload limit): `{"message": …}`.
 * Every envelope carries `Cache-Control: no-store`; an answer to HEAD has the status and headers only.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/** The wire protocols of the local endpoints, by their error envelope. */
export type AwsProtocol = 'rest-xml' | 'json' | 'rest-json' | 'query' | 'api-gateway';

export interface ErrorEnvelopeOptions {
  /** The request's method: a HEAD answer has no body. */
  method?: string;
  /** More response headers (e.g. `Retry-After`). */
  headers?: Record<string, string>;
  /** The request id to report; a fresh one otherwise. */
  requestId?: string;
  /** AWS JSON: `1.0` (Step Functions, SQS, DynamoDB) or `1.1` (KMS, EventBridge; the default). */
  jsonVersion?: '1.0' | '1.1';
  /** Query: the service's XML namespace (SQS's `http://queue.amazonaws.com/doc/2012-11-05/`). */
  queryNamespace?: string;
  /** Query: whether the caller is at fault (`Sender`) or the service (`Receiver`); by status when absent. */
  sender?: boolean;
  /** REST-XML: the bucket or object the error is about. */
  resource?: string;
}

/** XML text or attribute content: the five predefined entities. */
/**
 * Text for an XML element. A carriage return is written as a reference: a parser turns a literal one into a line
 * feed (XML's end-of-line handling), so a key ending in `\r` would come back changed, as S3 avoids.
 */
export function escapeXml(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;')
    .replaceAll('\r', '&#13;');
}

/** The request id S3 writes: 16 upper-case hex digits. */
export const newS3RequestId = (): string => randomBytes(8).toString('hex').toUpperCase();

function element(name: string, value: string): string {
  return `<${name}>${escapeXml(value)}</${name}>`;
}

function writeEnvelope(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  options: ErrorEnvelopeOptions,
  headers: Record<string, string>,
): void {
  res.writeHead(status, {
    'cache-control': 'no-store',
    ...headers,
    ...options.headers,
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
  });
  res.end(options.method === 'HEAD' ? undefined : body);
}

/** Writes one protocol's error answer. */
export type ErrorSender = (
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  options?: ErrorEnvelopeOptions,
) => void;

/** AWS JSON 1.0 / 1.1: `__type` in the body and `x-amzn-ErrorType` as a header. */
export const sendAwsJsonError: ErrorSender = (res, status, code, message, options = {}) => {
  const contentType = `application/x-amz-json-${options.jsonVersion ?? '1.1'}`;
  writeEnvelope(res, status, contentType, JSON.stringify({ __type: code, message }), options, {
    'x-amzn-requestid': options.requestId ?? randomUUID(),
    'x-amzn-errortype': code,
  });
};

/** REST-JSON: the code in `x-amzn-ErrorType`, the message in the body. */
export const sendRestJsonError: ErrorSender = (res, status, code, message, options = {}) => {
  writeEnvelope(res, status, 'application/json', JSON.stringify({ message }), options, {
    'x-amzn-requestid': options.requestId ?? randomUUID(),
    'x-amzn-errortype': code,
  });
};

/** S3's `<Error>` document. */
export function restXmlErrorDocument(
  code: string,
  message: string,
  resource: string,
  requestId: string,
): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${element('Code', code)}${element('Message', message)}${element('Resource', resource)}${element('RequestId', requestId)}</Error>`;
}

/** REST-XML as S3 answers: the `<Error>` document, its request id in `x-amz-request-id`. */
export const sendRestXmlError: ErrorSender = (res, status, code, message, options = {}) => {
  const requestId = options.requestId ?? newS3RequestId();
  const body = restXmlErrorDocument(code, message, options.resource ?? '', requestId);
  writeEnvelope(res, status, 'application/xml', body, options, {
    'x-amz-request-id': requestId,
    'x-amzn-requestid': requestId,
  });
};

/** The query protocol's `<ErrorResponse>` document. */
export function queryErrorDocument(
  code: string,
  message: string,
  options: Pick<ErrorEnvelopeOptions, 'queryNamespace' | 'requestId'> & { sender: boolean },
): string {
  const xmlns = options.queryNamespace ? ` xmlns="${escapeXml(options.queryNamespace)}"` : '';
  return `<?xml version="1.0"?>\n<ErrorResponse${xmlns}><Error><Type>${options.sender ? 'Sender' : 'Receiver'}</Type>${element('Code', code)}${element('Message', message)}<Detail/></Error>${element('RequestId', options.requestId ?? randomUUID())}</ErrorResponse>`;
}

/** Query protocol: `<ErrorResponse>` as `text/xml`; the caller is at fault below 500 unless told otherwise. */
export const sendQueryError: ErrorSender = (res, status, code, message, options = {}) => {
  const requestId = options.requestId ?? randomUUID();
  const body = queryErrorDocument(code, message, {
    sender: options.sender ?? status < 500,
    requestId,
    ...(options.queryNamespace ? { queryNamespace: options.queryNamespace } : {}),
  });
  writeEnvelope(res, status, 'text/xml', body, options, { 'x-amzn-requestid': requestId });
};

/** API Gateway's own answer: `{"message": …}`, with any further fields (e.g. why a request was refused). */
export function sendApiGatewayError(
  res: ServerResponse,
  status: number,
  message: string,
  options: ErrorEnvelopeOptions & { fields?: Record<string, unknown> } = {},
): void {
  writeEnvelope(res, status, 'application/json', JSON.stringify({ message, ...options.fields }), options, {
    'x-amzn-requestid': options.requestId ?? randomUUID(),
  });
}

const SENDERS: Record<AwsProtocol, ErrorSender> = {
  json: sendAwsJsonError,
  'rest-json': sendRestJsonError,
  'rest-xml': sendRestXmlError,
  query: sendQueryError,
  'api-gateway': (res, status, _code, message, options) => sendApiGatewayError(res, status, message, options),
};

/** The envelope of `protocol`; API Gateway's names no code, so `code` is left out there. */
export function sendAwsError(
  res: ServerResponse,
  protocol: AwsProtocol,
  status: number,
  code: string,
  message: string,
  options: ErrorEnvelopeOptions = {},
): void {
  SENDERS[protocol](res, status, code, message, options);
}

/**
 * An error a local service answers with its own code and status (400 unless told otherwise); each server maps it
 * to its protocol's envelope.
 */
export class AwsServiceError extends Error {
  override readonly name: string = 'AwsServiceError';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}
