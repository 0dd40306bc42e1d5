/**
 * Uploads whose keys have an empty, `.` or `..` segment, through the real workflow (S3 upload → SQS → starter → Step
 * Functions → ValidateSource): each ends in one failure notification naming the key and the rule, before any key is
 * generated or byte copied, and its message leaves the queue instead of being retried. Among them the upload that
 * once made the key service sign another asset's segments: `incoming/../<victim asset>/<victim name>.mp4`.
 */
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { queueDepth } from '../../bench/chaos/run.js';
import { assetIdFor, KEY_SEGMENT_RULE } from '../../lib/paths.js';
import type { Stack } from '../../local/stack/index.js';
import { uploadFile } from '../../local/stack/upload.js';
import { type E2eStack, runCase, startE2eStack, stopE2eStack } from '../support/e2e-stack.js';

jest.setTimeout(180_000);

describe('object keys with empty, . or .. segments on the local stack', () => {
  let e2e: E2eStack;
  let stack: Stack;
  let victimAsset: string;

  const upload = (key: string) => uploadFile(stack.s3, { bucket: stack.config.bucket, key, body: e2e.clip });

  /** Every object key in the bucket that mentions the asset id. */
  async function objectsOf(assetId: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await stack.s3.send(
        new ListObjectsV2Command({ Bucket: stack.config.bucket, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key?.includes(assetId)) keys.push(o.Key);
      token = page.NextContinuationToken;
    } while (token);
    return keys;
  }

  beforeAll(async () => {
    e2e = await startE2eStack('key-segments');
    stack = e2e.stack;
    const victim = await runCase(e2e, 'incoming/victim/clip.mp4', () => upload('incoming/victim/clip.mp4'));
    expect(victim.notification.status).toBe('SUCCEEDED');
    victimAsset = victim.notification.playback?.assetId ?? '';
  });

  afterAll(() => stopE2eStack(e2e));

  it.each([
    ["climbs into another asset's outputs", () => `incoming/../${victimAsset}/victim/clip.mp4`],
    ['has a . segment', () => 'incoming/./x.mp4'],
    ['has an empty segment', () => 'incoming//x.mp4'],
    ['climbs into the asset records', () => 'incoming/../assets/x.mp4'],
  ])('fails an upload whose key %s at ValidateSource, naming the key and the rule', async (_what, keyOf) => {
    // Prepare
    const key = keyOf();

    // Act
    const { record, notification } = await runCase(e2e, key, () => upload(key));

    // Assess: one failure notification, nothing derived from the key, nothing left queued
    expect(record.status).toBe('FAILED');
    expect(notification).toMatchObject({
      status: 'FAILED',
      source: { key },
      error: { code: 'InvalidTaskInputError', step: 'ValidateSource' },
    });
    expect(notification.error?.message).toContain(`"${key}"`);
    expect(notification.error?.message).toContain(KEY_SEGMENT_RULE);
    expect(e2e.notifications.filter((n) => n.execution.name === record.name)).toHaveLength(1);
    const source = JSON.parse(record.input).source as { bucket: string; key: string; versionId?: string };
    expect(await objectsOf(assetIdFor(source))).toEqual([]);
    expect(await queueDepth(e2e.sqs, stack.config.queueUrl)).toBe(0);
    expect(await queueDepth(e2e.sqs, stack.config.dlqUrl)).toBe(0);
  });

  it("leaves the victim's asset record and outputs as its own workflow wrote them", async () => {
    // Act
    const record = JSON.parse(
      (await (
        await stack.s3.send(
          new GetObjectCommand({ Bucket: stack.config.bucket, Key: `assets/${victimAsset}.json` }),
        )
      ).Body?.transformToString('utf8')) ?? '{}',
    ) as { assetId: string; outputKeyPrefix: string };
    const objects = await objectsOf(victimAsset);

    // Assess
    expect(record).toMatchObject({
      assetId: victimAsset,
      outputKeyPrefix: `outputs/${victimAsset}/victim/clip/`,
    });
    expect(
      objects.filter((k) => k.startsWith('outputs/')).every((k) => k.startsWith(record.outputKeyPrefix)),
    ).toBe(true);
  });
});
