import { describe, expect, it } from '@jest/globals';
import {
  assetPaths,
  executionNameFor,
  isSafeKey,
  KEY_SEGMENT_RULE,
  keyRuleViolation,
  truncateUtf8,
} from '../../lib/paths.js';

const prefixes = {
  inputPrefix: 'incoming/',
  encryptedPrefix: 'encrypted/',
  outputPrefix: 'outputs/',
  assetPrefix: 'assets/',
};

describe('executionNameFor', () => {
  it.each([
    'incoming/plain.mp4',
    'incoming/with spaces & ampersand.mp4',
    'incoming/ünïcödé/日本語の動画.mp4',
    'incoming/100%+plus.mp4',
    `incoming/${'very-long-name-'.repeat(80)}.mp4`,
  ])('produces a valid Step Functions name for %s', (key) => {
    // Act
    const name = executionNameFor({ bucket: 'b', key, sequencer: '0A' });
    // Assess
    expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });

  it('differs per object version and is stable for the same version', () => {
    // Act
    const v1 = executionNameFor({ bucket: 'b', key: 'incoming/a.mp4', versionId: '1' });
    const v1again = executionNameFor({ bucket: 'b', key: 'incoming/a.mp4', versionId: '1' });
    const v2 = executionNameFor({ bucket: 'b', key: 'incoming/a.mp4', versionId: '2' });
    // Assess
    expect(v1).toBe(v1again);
    expect(v1).not.toBe(v2);
  });
});

describe('assetPaths', () => {
  it('places encrypted copies and outputs outside the input prefix, derived from the input path', () => {
    // Act
    const p = assetPaths({ bucket: 'b', key: 'incoming/show/ep 1.mp4', sequencer: '1' }, prefixes);
    // Assess
    expect(p.encryptedKey).toBe(`encrypted/show/ep 1.mp4.${p.assetId}.enc`);
    expect(p.outputKeyPrefix).toBe(`outputs/${p.assetId}/show/ep 1/`);
    expect(p.assetRecordKey).toBe(`assets/${p.assetId}.json`);
  });

  it('keeps the output prefix within Elastic Transcoder’s 255-character limit for very long unicode names', () => {
    // Act
    const p = assetPaths(
      { bucket: 'b', key: `incoming/${'動画'.repeat(200)}.mp4`, sequencer: '1' },
      prefixes,
    );
    // Assess
    expect(Buffer.byteLength(p.outputKeyPrefix)).toBeLessThanOrEqual(255);
    expect(Buffer.byteLength(p.encryptedKey)).toBeLessThanOrEqual(1024);
    expect(p.outputKeyPrefix).not.toContain('\uFFFD');
  });
});

describe('output prefixes', () => {
  it('never nest, even when an input path embeds another asset’s id', () => {
    // Prepare
    const first = assetPaths({ bucket: 'b', key: 'incoming/show.mp4', sequencer: '1' }, prefixes);
    // Act
    const second = assetPaths(
      { bucket: 'b', key: `incoming/show/${first.assetId}/ep1.mp4`, sequencer: '2' },
      prefixes,
    );
    // Assess
    expect(second.outputKeyPrefix.startsWith(first.outputKeyPrefix)).toBe(false);
    expect(first.outputKeyPrefix.startsWith(second.outputKeyPrefix)).toBe(false);
  });
});

describe('truncateUtf8', () => {
  it('never splits a multi-byte character', () => {
    // Assess
    expect(truncateUtf8('ééé', 3)).toBe('é');
  });
});

describe('the object-key rule', () => {
  it.each([
    ['incoming/../a0123/clip.mp4', '".."'],
    ['incoming/./x.mp4', '"."'],
    ['incoming//x.mp4', 'empty'],
    ['incoming/../assets/x.mp4', '".."'],
    ['/incoming/x.mp4', 'empty'],
    ['incoming/x.mp4/', 'empty'],
    ['incoming/..', '".."'],
  ])('refuses %s, naming the key, the segment and the rule', (key, segment) => {
    // Act
    const violation = keyRuleViolation(key);

    // Assess
    expect(isSafeKey(key)).toBe(false);
    expect(violation).toContain(`"${key}"`);
    expect(violation).toContain(segment);
    expect(violation).toContain(KEY_SEGMENT_RULE);
  });

  it.each([
    'incoming/x.mp4',
    'incoming/..x.mp4',
    'incoming/.hidden.mp4',
    'incoming/a..b/c...mp4',
    'incoming/with spaces & ampersand.mp4',
  ])('accepts %s', (key) => {
    // Assess
    expect(keyRuleViolation(key)).toBeUndefined();
  });

  it('takes one trailing slash as the end of a prefix, not as an empty segment', () => {
    // Assess
    expect(isSafeKey('outputs/a1/clip/', { prefix: true })).toBe(true);
    expect(isSafeKey('outputs/a1/clip//', { prefix: true })).toBe(false);
    expect(isSafeKey('outputs/a1/../clip/', { prefix: true })).toBe(false);
  });

  it('refuses to derive asset paths from a key that breaks it', () => {
    // Act
    const derive = () =>
      assetPaths({ bucket: 'b', key: 'incoming/../a1/clip.mp4', sequencer: '01' }, prefixes);

    // Assess
    expect(derive).toThrow(KEY_SEGMENT_RULE);
  });

  it.each([
    'incoming/show/...mp4',
    'incoming/show/..mp4',
    `incoming/${'x'.repeat(158)}/..${'y'.repeat(40)}.mp4`,
  ])('derives an output prefix with no dot-only segment from %s', (key) => {
    // Act
    const p = assetPaths({ bucket: 'b', key, sequencer: '01' }, prefixes);

    // Assess
    expect(p.outputKeyPrefix.startsWith(`outputs/${p.assetId}/`)).toBe(true);
    expect(isSafeKey(p.outputKeyPrefix, { prefix: true })).toBe(true);
    expect(isSafeKey(p.encryptedKey)).toBe(true);
  });
});
