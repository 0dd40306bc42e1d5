import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { ingestConfig } from '../../../lib/config/ingest.js';
import { ingestMessage } from '../../../lib/ingest/ingest-message.js';
import { logger } from '../../../lib/logger.js';
import { loadProfiles } from '../../../lib/profiles.js';
import { loadEvent } from '../../support/events.js';

const sfnMock = mockClient(SFNClient);
const config = ingestConfig({
  STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:secure-transcode-test',
  INPUT_PREFIX: 'incoming/',
  SOURCE_BUCKETS: 'media-bucket',
});
const deps = { config, profiles: loadProfiles(undefined), sfn: new SFNClient({ region: 'us-east-1' }) };

/** The body and id of the first message of an `events/sqs` fixture. */
function message(fixture: string): { body: string; messageId: string } {
  const [record] = loadEvent<SQSEvent>(fixture).Records;
  return { body: record?.body ?? '', messageId: record?.messageId ?? '' };
}

beforeEach(() => {
  sfnMock.reset();
  sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date() });
});

afterEach(() => {
  jest.restoreAllMocks();
});

describe('ingestMessage', () => {
  it('starts the execution for a multipart upload under the profile its folder names', async () => {
    // Prepare
    const { body, messageId } = message('sqs/s3-multipart.json');
    // Act
    await ingestMessage(body, messageId, deps);
    // Assess
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const input = JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}');
    expect(input.profile).toBe('ctr');
    expect(input.source).toEqual(
      expect.objectContaining({ bucket: 'media-bucket', key: 'incoming/ctr/big file.mov' }),
    );
    expect(input.requestedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it.each([
    ['s3:TestEvent', 'sqs/s3-test-event.json'],
    ['a folder marker', 'sqs/s3-folder-marker.json'],
    ['an object outside the input prefix (the workflow’s own writes)', 'sqs/s3-outside-prefix.json'],
    ['an extension outside the allow-list', 'sqs/s3-disallowed-extension.json'],
  ])('ignores %s without starting anything or failing', async (_label, fixture) => {
    // Prepare
    const { body, messageId } = message(fixture);
    // Act
    await ingestMessage(body, messageId, deps);
    // Assess
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('refuses a record for a bucket that is not a configured source bucket and logs it as an error', async () => {
    // Prepare
    const { body, messageId } = message('sqs/s3-put.json');
    const foreign = body.replaceAll('"media-bucket"', '"someone-elses-bucket"');
    const errors = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    // Act
    await ingestMessage(foreign, messageId, deps);
    // Assess
    expect(sfnMock).not.toHaveReceivedCommand(StartExecutionCommand);
    expect(errors).toHaveBeenCalledWith('refusing record', {
      messageId,
      reason: 'bucket "someone-elses-bucket" is not a configured source bucket',
    });
  });

  it('throws for a body that is not an S3 notification, so the message can reach the DLQ', async () => {
    // Prepare
    const { body, messageId } = message('sqs/invalid-body.json');
    // Act
    const run = ingestMessage(body, messageId, deps);
    // Assess
    await expect(run).rejects.toThrow(`unprocessable message ${messageId}: message body is not JSON`);
  });

  it('throws when StartExecution fails for another reason than a duplicate', async () => {
    // Prepare
    sfnMock
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const { body, messageId } = message('sqs/s3-put.json');
    // Act
    const run = ingestMessage(body, messageId, deps);
    // Assess
    await expect(run).rejects.toThrow('Rate exceeded');
  });
});
