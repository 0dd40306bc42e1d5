import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { eventBridge as defaultEventBridge, sns as defaultSns } from '../clients.js';
import { isNetworkError, NotificationPublishError, sdkErrorInfo } from '../errors.js';
import { DETAIL_TYPES, EVENT_SOURCE, type Notification } from './contract.js';

/**
 * Publishes to SNS and EventBridge. Both are retried by the state machine (the error is transient by contract);
 * EventBridge reports per-entry failures in a 200 response, which is checked explicitly.
 */
export async function publishNotification(
  notification: Notification,
  target: { topicArn: string; eventBusName: string },
  clients: { sns?: SNSClient; eventBridge?: EventBridgeClient } = {},
): Promise<{ messageId: string | undefined }> {
  const sns = clients.sns ?? defaultSns;
  const eb = clients.eventBridge ?? defaultEventBridge;
  const message = JSON.stringify(notification);
  const published = await sns
    .send(
      new PublishCommand({
        TopicArn: target.topicArn,
        Subject: `secure-transcode ${notification.status}`,
        Message: message,
        MessageAttributes: {
          status: { DataType: 'String', StringValue: notification.status },
          profile: { DataType: 'String', StringValue: notification.profile ?? 'unknown' },
        },
      }),
    )
    .catch((e: unknown) => {
      throw publishError('SNS Publish', e);
    });
  const events = await eb
    .send(
      new PutEventsCommand({
        Entries: [
          {
            Source: EVENT_SOURCE,
            DetailType: DETAIL_TYPES[notification.status],
            Detail: message,
            EventBusName: target.eventBusName,
            Resources: [notification.execution.arn],
          },
        ],
      }),
    )
    .catch((e: unknown) => {
      throw publishError('EventBridge PutEvents', e);
    });
  if ((events.FailedEntryCount ?? 0) > 0) {
    const entry = events.Entries?.find((x) => x.ErrorCode);
    throw new NotificationPublishError(
      `EventBridge PutEvents rejected the event: ${entry?.ErrorCode} ${entry?.ErrorMessage ?? ''}`,
      {
        code: 'EVENTBRIDGE_FAILED',
      },
    );
  }
  return { messageId: published.MessageId };
}

function publishError(what: string, e: unknown): Error {
  const { name, message } = sdkErrorInfo(e);
  // Publishing has no permanent failure mode worth losing a notification over: retry, and Catch keeps the execution FAILED.
  return new NotificationPublishError(
    `${what} failed: ${name} — ${message}${isNetworkError(e) ? ' (network)' : ''}`,
    {
      code: 'NOTIFY_FAILED',
      cause: e,
    },
  );
}
