/**
 * SQS and SNS on the S3 gateway's endpoint: requests the gateway recognises as queue or topic calls are forwarded
 * to an in-process fauxqs (`upstream.ts`), with SQS's query protocol and 127.0.0.1 queue URLs added
 * (`sqs-protocol.ts`).
 */
export {
  forwardQueueOrTopic,
  isQueueOrTopicRequest,
  startUpstream,
  stopUpstream,
  type Upstream,
} from './upstream.js';
