/**
 * Pipeline notifications: the documented message (`Message` of the SNS publish) with the job's settings in
 * lowerCamelCase, as the service sends them. Key material is left out: only the encryption mode and the HLS
 * method, URL and storage policy are included — consumers never need a wrapped key from a notification.
 */
import type { Job, Notifications, Pipeline, Playlist } from '@aws-sdk/client-elastic-transcoder';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { logger } from '../../lib/logger.js';

export type NotificationState = 'PROGRESSING' | 'COMPLETED' | 'WARNING' | 'ERROR';

const TOPIC: Record<NotificationState, keyof Notifications> = {
  PROGRESSING: 'Progressing',
  COMPLETED: 'Completed',
  WARNING: 'Warning',
  ERROR: 'Error',
};

function camel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camel);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k.charAt(0).toLowerCase() + k.slice(1), camel(v)]),
  );
}

function playlistView(p: Playlist): unknown {
  const { HlsContentProtection: hls, ...rest } = p;
  const protection = hls && {
    Method: hls.Method,
    LicenseAcquisitionUrl: hls.LicenseAcquisitionUrl,
    KeyStoragePolicy: hls.KeyStoragePolicy,
  };
  return camel({ ...rest, ...(protection ? { HlsContentProtection: protection } : {}) });
}

export interface NotificationError {
  code: number;
  /** The StatusDetail of the failure (`<code> <request id>: <message>`). */
  detail: string;
}

export function notificationMessage(job: Job, state: NotificationState, failure?: NotificationError) {
  const { Encryption, ...input } = job.Input ?? {};
  return {
    state,
    version: '2012-09-25',
    jobId: job.Id,
    pipelineId: job.PipelineId,
    input: camel({ ...input, ...(Encryption?.Mode ? { Encryption: { Mode: Encryption.Mode } } : {}) }),
    ...(failure ? { errorCode: failure.code, messageDetails: failure.detail } : {}),
    outputKeyPrefix: job.OutputKeyPrefix ?? '',
    outputs: (job.Outputs ?? []).map(camel),
    ...(job.Playlists?.length ? { playlists: job.Playlists.map(playlistView) } : {}),
    ...(job.UserMetadata ? { userMetadata: job.UserMetadata } : {}),
  };
}

/** Publishing is best effort, as in the service: a missing topic never fails the job. */
export async function publishNotification(
  sns: SNSClient,
  pipeline: Pipeline,
  job: Job,
  state: NotificationState,
  failure?: NotificationError,
): Promise<void> {
  const topicArn = pipeline.Notifications?.[TOPIC[state]];
  if (!topicArn) return;
  const message = notificationMessage(job, state, failure);
  await sns
    .send(new PublishCommand({ TopicArn: topicArn, Message: JSON.stringify(message) }))
    .catch((e: unknown) => {
      logger.warn('transcoder notification not published', {
        jobId: job.Id,
        state,
        error: e instanceof Error ? e.message : String(e),
      });
    });
}
