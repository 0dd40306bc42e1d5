/**
 * What the gateway adds to fauxqs's SQS so the clients users already have can talk to it:
 *  - the **query protocol** (form-encoded `Action=…`, XML answers and `<ErrorResponse>`), which AWS CLI v2 before
 *    2.13 and boto3 before 1.28 speak (Debian 12's `awscli` 2.9 and `python3-boto3` 1.26). A query request becomes
 *    the equivalent JSON 1.0 call to fauxqs, and its answer the XML of the 2012-11-05 API;
 *  - **queue URLs on 127.0.0.1**: fauxqs names queues `http://sqs.<region>.localhost:<port>/…`, a host that the system
 *    resolver does not resolve on a stock machine. Clients see `http://127.0.0.1:<port>/<account>/<name>`; any URL
 *    naming the same account and queue is mapped back to fauxqs's form on the way in.
 */
import { randomUUID } from 'node:crypto';
import { parseRawQuery, queryErrorDocument } from '../http/index.js';

export const SQS_XML_NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';

type Json = Record<string, unknown>;

const QUEUE_PATH = /^\/(\d{12})\/([\w-]{1,80}(?:\.fifo)?)$/;

/** Maps queue URLs between what clients see and what fauxqs stores. */
export class QueueUrls {
  constructor(
    private readonly endpoint: string,
    private readonly region: string,
  ) {}

  /** fauxqs's form of any URL naming `/<account>/<queue>`, whatever host the client used. */
  inbound(url: string): string {
    let path: string;
    try {
      path = new URL(url).pathname;
    } catch {
      return url;
    }
    if (!QUEUE_PATH.test(path)) return url;
    return `http://sqs.${this.region}.localhost:${new URL(this.endpoint).port}${path}`;
  }

  outbound(url: string): string {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return url;
    }
    return QUEUE_PATH.test(parsed.pathname) ? `${this.endpoint}${parsed.pathname}` : url;
  }

  /** Rewrites the `QueueUrl` of a JSON request body (and of batch entries, which carry none). */
  inboundBody(body: Json): Json {
    return typeof body.QueueUrl === 'string' ? { ...body, QueueUrl: this.inbound(body.QueueUrl) } : body;
  }

  outboundBody(body: Json): Json {
    const out: Json = { ...body };
    if (typeof out.QueueUrl === 'string') out.QueueUrl = this.outbound(out.QueueUrl);
    for (const field of ['QueueUrls', 'queueUrls']) {
      const list = out[field];
      if (Array.isArray(list)) out[field] = list.map((u) => (typeof u === 'string' ? this.outbound(u) : u));
    }
    return out;
  }
}

export class SqsQueryError extends Error {
  override readonly name = 'SqsQueryError';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** `Prefix.1`, `Prefix.2`, … in order. */
function list(params: Map<string, string>, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; params.has(`${prefix}.${i}`); i++) out.push(params.get(`${prefix}.${i}`) ?? '');
  return out;
}

/** `Prefix.N.<name>` / `Prefix.N.<value>` pairs as a map. */
function pairs(
  params: Map<string, string>,
  prefix: string,
  name: string,
  value: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 1; params.has(`${prefix}.${i}.${name}`); i++)
    out[params.get(`${prefix}.${i}.${name}`) ?? ''] = params.get(`${prefix}.${i}.${value}`) ?? '';
  return out;
}

function messageAttributes(params: Map<string, string>, prefix: string): Record<string, Json> | undefined {
  const out: Record<string, Json> = {};
  for (let i = 1; params.has(`${prefix}.${i}.Name`); i++) {
    const base = `${prefix}.${i}.Value`;
    const value: Json = { DataType: params.get(`${base}.DataType`) ?? 'String' };
    if (params.has(`${base}.StringValue`)) value.StringValue = params.get(`${base}.StringValue`);
    if (params.has(`${base}.BinaryValue`)) value.BinaryValue = params.get(`${base}.BinaryValue`);
    out[params.get(`${prefix}.${i}.Name`) ?? ''] = value;
  }
  return Object.keys(out).length ? out : undefined;
}

/** The entries `Prefix.N.*` of a batch request, each as its own parameter map. */
function entries(params: Map<string, string>, prefix: string): Array<Map<string, string>> {
  const out: Array<Map<string, string>> = [];
  for (let i = 1; params.has(`${prefix}.${i}.Id`); i++) {
    const head = `${prefix}.${i}.`;
    out.push(
      new Map([...params].filter(([k]) => k.startsWith(head)).map(([k, v]) => [k.slice(head.length), v])),
    );
  }
  return out;
}

const NUMBERS = ['MaxResults', 'MaxNumberOfMessages', 'VisibilityTimeout', 'WaitTimeSeconds', 'DelaySeconds'];

/** The JSON members a message-shaped parameter map carries (SendMessage and its batch entries). */
function messageFields(p: Map<string, string>): Json {
  const out: Json = {};
  for (const name of ['Id', 'MessageBody', 'MessageDeduplicationId', 'MessageGroupId', 'ReceiptHandle'])
    if (p.has(name)) out[name] = p.get(name);
  for (const name of NUMBERS) if (p.has(name)) out[name] = Number(p.get(name));
  const attrs = messageAttributes(p, 'MessageAttribute');
  if (attrs) out.MessageAttributes = attrs;
  const system = messageAttributes(p, 'MessageSystemAttribute');
  if (system) out.MessageSystemAttributes = system;
  return out;
}

/** The JSON 1.0 request equivalent to a query-protocol form body. */
export function queryToJson(form: string): { action: string; body: Json } {
  const params = new Map(parseRawQuery(form.replace(/\+/g, '%20')));
  const action = params.get('Action') ?? '';
  if (!action) throw new SqsQueryError('MissingAction', 'The request must contain the parameter Action.');
  const body: Json = {};
  for (const name of [
    'QueueUrl',
    'QueueName',
    'QueueNamePrefix',
    'QueueOwnerAWSAccountId',
    'NextToken',
    'ReceiveRequestAttemptId',
  ])
    if (params.has(name)) body[name] = params.get(name);
  Object.assign(body, messageFields(params));
  const attributeNames = list(params, 'AttributeName');
  if (attributeNames.length) body.AttributeNames = attributeNames;
  const systemNames = list(params, 'MessageSystemAttributeName');
  if (systemNames.length) body.MessageSystemAttributeNames = systemNames;
  const attributeMessageNames = list(params, 'MessageAttributeName');
  if (attributeMessageNames.length) body.MessageAttributeNames = attributeMessageNames;
  const attributes = pairs(params, 'Attribute', 'Name', 'Value');
  if (Object.keys(attributes).length) body.Attributes = attributes;
  const tags = pairs(params, 'Tag', 'Key', 'Value');
  if (Object.keys(tags).length) body[action === 'CreateQueue' ? 'tags' : 'Tags'] = tags;
  const tagKeys = list(params, 'TagKey');
  if (tagKeys.length) body.TagKeys = tagKeys;
  const batchPrefix = {
    SendMessageBatch: 'SendMessageBatchRequestEntry',
    DeleteMessageBatch: 'DeleteMessageBatchRequestEntry',
    ChangeMessageVisibilityBatch: 'ChangeMessageVisibilityBatchRequestEntry',
  }[action];
  if (batchPrefix) body.Entries = entries(params, batchPrefix).map(messageFields);
  return { action, body };
}

function xml(s: unknown): string {
  return String(s).replace(/[<>&'"\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function element(name: string, value: unknown): string {
  return value === undefined || value === null ? '' : `<${name}>${xml(value)}</${name}>`;
}

function attributeList(name: string, attrs: unknown): string {
  if (!attrs || typeof attrs !== 'object') return '';
  return Object.entries(attrs as Record<string, unknown>)
    .map(([k, v]) => `<${name}>${element('Name', k)}${element('Value', v)}</${name}>`)
    .join('');
}

function messageAttributeList(name: string, attrs: unknown): string {
  if (!attrs || typeof attrs !== 'object') return '';
  return Object.entries(attrs as Record<string, Json>)
    .map(
      ([k, v]) =>
        `<${name}>${element('Name', k)}<Value>${element('StringValue', v.StringValue)}${element('BinaryValue', v.BinaryValue)}${element('DataType', v.DataType)}</Value></${name}>`,
    )
    .join('');
}

function fields(o: Json, names: string[]): string {
  return names.map((n) => element(n, o[n])).join('');
}

function batchResult(out: Json, entryName: string, entryFields: string[]): string {
  const ok = ((out.Successful as Json[] | undefined) ?? [])
    .map((e) => `<${entryName}>${fields(e, entryFields)}</${entryName}>`)
    .join('');
  const failed = ((out.Failed as Json[] | undefined) ?? [])
    .map(
      (e) =>
        `<BatchResultErrorEntry>${fields(e, ['Id', 'SenderFault', 'Code', 'Message'])}</BatchResultErrorEntry>`,
    )
    .join('');
  return ok + failed;
}

const SEND_FIELDS = [
  'MessageId',
  'MD5OfMessageBody',
  'MD5OfMessageAttributes',
  'MD5OfMessageSystemAttributes',
  'SequenceNumber',
];

/** The inner XML of `<{action}Result>` for a JSON answer. */
function resultXml(action: string, out: Json): string | undefined {
  switch (action) {
    case 'ListQueues':
      return `${((out.QueueUrls as string[] | undefined) ?? []).map((u) => element('QueueUrl', u)).join('')}${element('NextToken', out.NextToken)}`;
    case 'GetQueueUrl':
    case 'CreateQueue':
      return element('QueueUrl', out.QueueUrl);
    case 'GetQueueAttributes':
      return attributeList('Attribute', out.Attributes);
    case 'SendMessage':
      return fields(out, SEND_FIELDS);
    case 'SendMessageBatch':
      return batchResult(out, 'SendMessageBatchResultEntry', ['Id', ...SEND_FIELDS]);
    case 'DeleteMessageBatch':
      return batchResult(out, 'DeleteMessageBatchResultEntry', ['Id']);
    case 'ChangeMessageVisibilityBatch':
      return batchResult(out, 'ChangeMessageVisibilityBatchResultEntry', ['Id']);
    case 'ReceiveMessage':
      return ((out.Messages as Json[] | undefined) ?? [])
        .map(
          (m) =>
            `<Message>${fields(m, ['MessageId', 'ReceiptHandle', 'MD5OfBody', 'Body'])}${attributeList('Attribute', m.Attributes)}${element('MD5OfMessageAttributes', m.MD5OfMessageAttributes)}${messageAttributeList('MessageAttribute', m.MessageAttributes)}</Message>`,
        )
        .join('');
    case 'ListQueueTags':
      return Object.entries((out.Tags as Record<string, string> | undefined) ?? {})
        .map(([k, v]) => `<Tag>${element('Key', k)}${element('Value', v)}</Tag>`)
        .join('');
    default:
      return undefined;
  }
}

export function queryResponseXml(action: string, out: Json): string {
  const result = resultXml(action, out);
  const requestId = randomUUID();
  return `<?xml version="1.0"?>\n<${action}Response xmlns="${SQS_XML_NAMESPACE}">${result === undefined ? '' : `<${action}Result>${result}</${action}Result>`}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

/**
 * The query protocol's error document for a JSON error answer: the code comes from fauxqs's `x-amzn-query-error`
 * header (`AWS.SimpleQueueService.NonExistentQueue;Sender`) when present, as AWS's own JSON endpoint sends it.
 */
export function queryErrorFromJson(status: number, queryErrorHeader: string | undefined, body: Json): string {
  const [headerCode, fault] = (queryErrorHeader ?? '').split(';');
  const type = typeof body.__type === 'string' ? body.__type : 'InternalError';
  const code = headerCode || type.slice(type.lastIndexOf('#') + 1);
  const message =
    typeof body.message === 'string' ? body.message : typeof body.Message === 'string' ? body.Message : '';
  return queryErrorDocument(code, message, {
    queryNamespace: SQS_XML_NAMESPACE,
    sender: fault ? fault === 'Sender' : status < 500,
  });
}

/** SQS actions of the query protocol, told apart from SNS's on the shared endpoint. */
export const SQS_QUERY_ACTIONS = new Set([
  'ListQueues',
  'GetQueueUrl',
  'CreateQueue',
  'DeleteQueue',
  'GetQueueAttributes',
  'SetQueueAttributes',
  'PurgeQueue',
  'SendMessage',
  'SendMessageBatch',
  'ReceiveMessage',
  'DeleteMessage',
  'DeleteMessageBatch',
  'ChangeMessageVisibility',
  'ChangeMessageVisibilityBatch',
  'ListQueueTags',
  'TagQueue',
  'UntagQueue',
]);

/** The `Action` of a form body, if any. */
export function formAction(form: string): string | undefined {
  return parseRawQuery(form.replace(/\+/g, '%20')).find(([k]) => k === 'Action')?.[1];
}
