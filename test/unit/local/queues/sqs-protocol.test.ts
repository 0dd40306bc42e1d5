import { describe, expect, it } from '@jest/globals';
import {
  QueueUrls,
  queryErrorFromJson,
  queryResponseXml,
  queryToJson,
} from '../../../../local/queues/sqs-protocol.js';

describe('SQS query protocol translation', () => {
  it('turns a SendMessageBatch form into the JSON request, attributes and all', () => {
    // Prepare
    const form = [
      'Action=SendMessageBatch',
      'QueueUrl=http%3A%2F%2F127.0.0.1%3A4566%2F000000000000%2Fq',
      'SendMessageBatchRequestEntry.1.Id=a',
      'SendMessageBatchRequestEntry.1.MessageBody=h%C3%A9llo+world',
      'SendMessageBatchRequestEntry.1.DelaySeconds=3',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=n',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=Number',
      'SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=42',
      'SendMessageBatchRequestEntry.2.Id=b',
      'SendMessageBatchRequestEntry.2.MessageBody=two',
    ].join('&');

    // Act
    const { action, body } = queryToJson(form);

    // Assess
    expect(action).toBe('SendMessageBatch');
    expect(body).toEqual({
      QueueUrl: 'http://127.0.0.1:4566/000000000000/q',
      Entries: [
        {
          Id: 'a',
          MessageBody: 'héllo world',
          DelaySeconds: 3,
          MessageAttributes: { n: { DataType: 'Number', StringValue: '42' } },
        },
        { Id: 'b', MessageBody: 'two' },
      ],
    });
  });

  it('answers ReceiveMessage as the 2012-11-05 XML with escaped bodies and attributes', () => {
    // Act
    const xml = queryResponseXml('ReceiveMessage', {
      Messages: [
        {
          MessageId: 'm1',
          ReceiptHandle: 'r1',
          MD5OfBody: 'abc',
          Body: '<a & b>',
          Attributes: { ApproximateReceiveCount: '1' },
          MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } },
        },
      ],
    });

    // Assess
    expect(xml).toContain(
      '<ReceiveMessageResult><Message><MessageId>m1</MessageId><ReceiptHandle>r1</ReceiptHandle><MD5OfBody>abc</MD5OfBody><Body>&#60;a &#38; b&#62;</Body><Attribute><Name>ApproximateReceiveCount</Name><Value>1</Value></Attribute><MessageAttribute><Name>k</Name><Value><StringValue>v</StringValue><DataType>String</DataType></Value></MessageAttribute></Message></ReceiveMessageResult>',
    );
  });

  it("names errors with the query protocol's code from x-amzn-query-error", () => {
    // Act
    const xml = queryErrorFromJson(400, 'AWS.SimpleQueueService.NonExistentQueue;Sender', {
      __type: 'com.amazonaws.sqs#QueueDoesNotExist',
      message: 'The specified queue does not exist.',
    });

    // Assess
    expect(xml).toContain(
      '<Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>The specified queue does not exist.</Message>',
    );
  });

  it('maps queue URLs between the 127.0.0.1 form clients see and the form fauxqs stores', () => {
    // Prepare
    const urls = new QueueUrls('http://127.0.0.1:4566', 'us-east-1');

    // Act
    const inbound = ['http://127.0.0.1:4566/000000000000/q', 'http://localhost:4566/000000000000/q'].map(
      (u) => urls.inbound(u),
    );
    const outbound = urls.outboundBody({ QueueUrls: ['http://sqs.us-east-1.localhost:4566/000000000000/q'] });

    // Assess
    expect(inbound).toEqual([
      'http://sqs.us-east-1.localhost:4566/000000000000/q',
      'http://sqs.us-east-1.localhost:4566/000000000000/q',
    ]);
    expect(outbound).toEqual({ QueueUrls: ['http://127.0.0.1:4566/000000000000/q'] });
  });
});
