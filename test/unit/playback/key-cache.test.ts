import { describe, expect, it } from '@jest/globals';
import { KeyCache } from '../../../lib/playback/key-cache.js';

const key = (n: number) => Buffer.alloc(16, n);

describe('KeyCache', () => {
  it('keeps at most maxEntries keys, evicting the least recently used', () => {
    // Prepare
    const cache = new KeyCache({ maxEntries: 2, ttlMs: 60_000 });
    cache.set('a', key(1));
    cache.set('b', key(2));
    cache.get('a');

    // Act
    cache.set('c', key(3));

    // Assess
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual(key(1));
    expect(cache.get('c')).toEqual(key(3));
  });

  it('forgets a key once its time is up', () => {
    // Prepare
    let now = 1_000;
    const cache = new KeyCache({ maxEntries: 10, ttlMs: 300_000, now: () => now });
    cache.set('a', key(1));

    // Act
    now += 299_999;
    const before = cache.get('a');
    now += 1;
    const after = cache.get('a');

    // Assess
    expect(before).toEqual(key(1));
    expect(after).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('hands out copies, so a caller scrubbing its key leaves the cache intact', () => {
    // Prepare
    const cache = new KeyCache({ maxEntries: 10, ttlMs: 60_000 });
    const original = key(7);
    cache.set('a', original);

    // Act
    original.fill(0);
    cache.get('a')?.fill(0);

    // Assess
    expect(cache.get('a')).toEqual(key(7));
  });

  it('zeroes and drops expired keys of other assets on the next request, not only on their own lookup', () => {
    // Prepare
    let now = 1_000;
    const cache = new KeyCache({ maxEntries: 10, ttlMs: 300_000, now: () => now });
    cache.set('idle', key(1));
    // Reach into the entry the way a heap inspector would, to see what stays in memory.
    const held = (cache as unknown as { entries: Map<string, { key: Buffer }> }).entries.get('idle')?.key;

    // Act
    now += 300_000;
    cache.set('busy', key(2));

    // Assess
    expect(cache.size).toBe(1);
    expect(held?.equals(Buffer.alloc(16))).toBe(true);
  });
});
