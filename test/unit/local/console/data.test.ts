import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createNotificationReader } from '../../../../local/console/data.js';

const SCHEMA = JSON.parse(
  readFileSync(resolve(import.meta.dirname, '../../../../schemas/notification.v1.schema.json'), 'utf8'),
) as object;

describe('console notification reader', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("shows another service's event on the bus as not ours, and checks ours against the schema", () => {
    // Prepare
    dir = mkdtempSync(join(tmpdir(), 'st-console-data-'));
    const eventBridge = join(dir, 'events.jsonl');
    const mediaconvert = {
      source: 'aws.mediaconvert',
      'detail-type': 'MediaConvert Job State Change',
      time: '2026-12-01T05:00:00Z',
      detail: { status: 'COMPLETE', jobId: '1' },
    };
    const ours = {
      source: 'secure-transcode',
      'detail-type': 'Transcode Succeeded',
      time: '2026-12-01T05:00:01Z',
      detail: { status: 'SUCCEEDED' },
    };
    writeFileSync(eventBridge, `${JSON.stringify(mediaconvert)}\n${JSON.stringify(ours)}\n`);
    // Act
    const [newest, oldest] = createNotificationReader(SCHEMA, {
      sns: join(dir, 'none.jsonl'),
      eventBridge,
    }).all();
    // Assess
    expect(oldest).toMatchObject({
      valid: false,
      status: null,
      problems: [
        'not a secure-transcode notification: an event from aws.mediaconvert (MediaConvert Job State Change)',
      ],
    });
    expect(newest).toMatchObject({ valid: false, status: 'SUCCEEDED' });
    expect(newest?.problems.join(' ')).toMatch(/must have required property/);
  });
});
