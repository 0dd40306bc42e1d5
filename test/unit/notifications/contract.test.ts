/**
 * Notification contract v1.2: additive over v1.0 and v1.1 (stored messages still validate), documented field by
 * field, with enumerated error codes and steps, object locations, rendition facts, user metadata, an opt-in wrapped
 * key, and what became of the source (v1.2).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { buildNotification, type NotifyState } from '../../../lib/notifications/contract.js';
import { ERROR_CODES, ERROR_STEPS, WORKFLOW_ERROR_CODES } from '../../../lib/notifications/error-codes.js';
import { parseMasterPlaylist } from '../../../lib/notifications/variants.js';
import { boundedUserMetadata } from '../../../lib/workflow/user-metadata.js';
import { loadEvent, projectRoot } from '../../support/events.js';
import { sampleAsset, sampleEncrypted, sampleExecution, sampleSource } from '../../support/state.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ allErrors: true });
addFormats(ajv);
const schema = JSON.parse(readFileSync(join(projectRoot, 'schemas/notification.v1.schema.json'), 'utf8'));
const validate = ajv.compile(schema);
const asl = JSON.parse(readFileSync(join(projectRoot, 'statemachines/transcode.asl.json'), 'utf8')) as {
  States: Record<string, { Type: string; Result?: unknown }>;
};

const MASTER = `#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=2100000,AVERAGE-BANDWIDTH=1800000,RESOLUTION=640x360,CODECS="avc1.4d401f,mp4a.40.2"
hls-2000k.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=420000,RESOLUTION=400x224,CODECS="avc1.42e01e,mp4a.40.2"
hls-400k.m3u8
`;

const success = (): NotifyState => ({
  source: { ...sampleSource(), metadata: { 'customer-id': 'c-42' } },
  profile: 'default',
  execution: sampleExecution(),
  asset: sampleAsset(),
  encrypted: sampleEncrypted(),
  job: {
    backend: 'elastictranscoder',
    id: '1700000000000-abcdef',
    status: 'Complete',
    sourceDurationMillis: 4020,
    outputs: [
      {
        key: 'outputs/x/hls-2000k.m3u8',
        presetId: '1351620000001-200010',
        durationMillis: 4000,
        width: 640,
        height: 360,
        fileSize: 99,
      },
    ],
    playlists: [{ key: 'outputs/x/index.m3u8', format: 'HLSv3' }],
  },
});

/** Every field `properties` declares below `node`, with its path (the `if` condition declares no field). */
function propertiesOf(node: unknown, at = ''): Array<[string, Record<string, unknown>]> {
  if (!node || typeof node !== 'object') return [];
  const out: Array<[string, Record<string, unknown>]> = [];
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    if (key === 'if') continue;
    if (key === 'properties' && value && typeof value === 'object') {
      for (const [name, sub] of Object.entries(value as Record<string, Record<string, unknown>>)) {
        out.push([`${at}/${name}`, sub]);
      }
    }
    out.push(...propertiesOf(value, at));
  }
  return out;
}

describe('notification contract v1.2', () => {
  it.each(['v1.0-succeeded.json', 'v1.0-failed.json'])('still accepts the v1.0 message %s', (file) => {
    // Prepare
    const message = loadEvent(`notifications/${file}`);
    // Act
    const ok = validate(message);
    // Assess
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('describes every field and names its version and dedupe key', () => {
    // Act
    const undocumented = propertiesOf(schema)
      .filter(([, sub]) => typeof sub.description !== 'string' || sub.description === '')
      .map(([path]) => path);
    // Assess
    expect(undocumented).toEqual([]);
    expect(schema.$comment).toMatch(/1\.1 \(additive/);
    expect(schema.$comment).toMatch(/1\.2 \(additive/);
    expect(schema.description).toMatch(/dedupe key is execution\.name \+ status/);
  });

  it('enumerates exactly the error codes and failed steps the workflow can report', () => {
    // Act
    const codes = schema.properties.error.properties.code.enum as string[];
    const steps = schema.properties.error.properties.step.enum as string[];
    const stepsInAsl = Object.values(asl.States)
      .filter((s) => s.Type === 'Pass' && typeof s.Result === 'string')
      .map((s) => s.Result as string);
    // Assess
    expect([...codes].sort()).toEqual([...ERROR_CODES].sort());
    expect(WORKFLOW_ERROR_CODES).toContain('InvalidTaskInputError');
    expect([...steps].sort()).toEqual([...ERROR_STEPS].sort());
    expect(stepsInAsl.filter((s) => !steps.includes(s))).toEqual([]);
  });

  it('gives every output and playlist its bucket, s3:// URI and CDN URL, and each rendition its bitrate and codecs', () => {
    // Act
    const n = buildNotification(success(), {
      keyServiceUrl: 'https://keys.example.com',
      cdnDomain: 'https://d111111abcdef8.cloudfront.net/',
      variants: parseMasterPlaylist(MASTER, 'outputs/x/index.m3u8'),
    });
    // Assess
    expect(validate(n)).toBe(true);
    expect(n.version).toBe('1.2');
    expect(n.outputs[0]).toMatchObject({
      bucket: sampleAsset().outputBucket,
      uri: `s3://${sampleAsset().outputBucket}/outputs/x/hls-2000k.m3u8`,
      url: 'https://d111111abcdef8.cloudfront.net/outputs/x/hls-2000k.m3u8',
      width: 640,
      height: 360,
      bitrate: 2_100_000,
      averageBitrate: 1_800_000,
      codecs: 'avc1.4d401f,mp4a.40.2',
    });
    expect(n.playlists[0]).toMatchObject({
      uri: `s3://${sampleAsset().outputBucket}/outputs/x/index.m3u8`,
      url: 'https://d111111abcdef8.cloudfront.net/outputs/x/index.m3u8',
    });
    expect(n.source).toMatchObject({ durationMillis: 4020, metadata: { 'customer-id': 'c-42' } });
  });

  it('has null URLs without a CDN and leaves the wrapped key out unless configured', () => {
    // Act
    const plain = buildNotification(success(), { keyServiceUrl: 'https://k' });
    const withKey = buildNotification(success(), { keyServiceUrl: 'https://k', includeWrappedKey: true });
    // Assess
    expect(validate(plain)).toBe(true);
    expect(plain.outputs[0]?.url).toBeNull();
    expect(plain.encrypted).not.toHaveProperty('wrappedKey');
    expect(withKey.encrypted?.wrappedKey).toBe(sampleEncrypted().wrappedKey);
  });

  it('builds a valid failure message from an input with no source at all', () => {
    // Act
    const n = buildNotification(
      {
        execution: sampleExecution(),
        error: { Error: 'InvalidTaskInputError', Cause: 'ValidateSource: invalid input — source: Required' },
        failedStep: 'ValidateSource',
      },
      { keyServiceUrl: 'https://k' },
    );
    // Assess
    expect(validate.errors ?? []).toEqual([]);
    expect(validate(n)).toBe(true);
    expect(n.source).toMatchObject({ bucket: null, key: null, uri: null });
    expect(n.error).toMatchObject({ code: 'InvalidTaskInputError', step: 'ValidateSource' });
  });

  it('reports an error name outside the enumeration as UnexpectedError, keeping the name in the message', () => {
    // Act
    const n = buildNotification(
      { ...success(), error: { Error: 'TypeError', Cause: 'x is undefined' }, failedStep: 'Elsewhere' },
      { keyServiceUrl: 'https://k' },
    );
    // Assess
    expect(validate(n)).toBe(true);
    expect(n.error).toEqual({
      code: 'UnexpectedError',
      message: 'TypeError: x is undefined',
      step: 'Unknown',
    });
  });

  it('reports what DisposeSource did with the source on success', () => {
    // Prepare
    const sourceRetention = { policy: 'delete' as const, deleted: true, versionId: 'v-17' };
    // Act
    const n = buildNotification(
      { ...success(), sourceRetention },
      { keyServiceUrl: 'https://k', sourceRetention: 'keep' },
    );
    // Assess
    expect(validate.errors ?? []).toEqual([]);
    expect(validate(n)).toBe(true);
    expect(n.source.retention).toEqual(sourceRetention);
  });

  it('reports the source of a failed job as kept, whatever its input claims', () => {
    // Prepare
    const failed: NotifyState = {
      ...success(),
      source: { ...sampleSource(), versionId: 'v-3' },
      sourceRetention: { policy: 'delete', deleted: true, versionId: 'v-3' },
      error: { Error: 'TranscodeJobFailedError', Cause: '4018' },
      failedStep: 'PollJob',
    };
    // Act
    const n = buildNotification(failed, { keyServiceUrl: 'https://k', sourceRetention: 'delete' });
    // Assess
    expect(validate(n)).toBe(true);
    expect(n.source.retention).toEqual({ policy: 'delete', deleted: false, versionId: 'v-3' });
  });

  it('still accepts a v1.1 message without source.retention, and refuses an unknown policy', () => {
    // Prepare
    const v11 = { ...buildNotification(success(), { keyServiceUrl: 'https://k' }), version: '1.1' };
    const unknownPolicy = buildNotification(
      { ...success(), sourceRetention: { policy: 'archive' as never, deleted: false, versionId: null } },
      { keyServiceUrl: 'https://k' },
    );
    // Act
    const accepted = validate(v11);
    const refused = validate(unknownPolicy);
    // Assess
    expect(v11.source).not.toHaveProperty('retention');
    expect(accepted).toBe(true);
    expect(refused).toBe(false);
  });

  it('bounds user metadata in count, length and size, dropping rather than cutting', () => {
    // Prepare
    const many = Object.fromEntries(
      Array.from({ length: 15 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v']),
    );
    // Act
    const bounded = boundedUserMetadata({ ...many, long: 'x'.repeat(513) });
    // Assess
    expect(Object.keys(bounded)).toHaveLength(10);
    expect(bounded).not.toHaveProperty('long');
    expect(Object.values(bounded).every((v) => v === 'v')).toBe(true);
  });
});
