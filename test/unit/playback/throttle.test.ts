import { describe, expect, it } from '@jest/globals';
import { TokenBucketLimiter } from '../../../lib/playback/throttle.js';

describe('TokenBucketLimiter', () => {
  it('allows a burst, refuses the next request, and refills over time', () => {
    // Prepare
    let now = 0;
    const limiter = new TokenBucketLimiter({ burst: 3, perSecond: 2, now: () => now });

    // Act
    const burst = [limiter.take('t'), limiter.take('t'), limiter.take('t'), limiter.take('t')];
    now += 500;
    const afterHalfSecond = [limiter.take('t'), limiter.take('t')];

    // Assess
    expect(burst).toEqual([true, true, true, false]);
    expect(afterHalfSecond).toEqual([true, false]);
  });

  it('counts each key separately', () => {
    const limiter = new TokenBucketLimiter({ burst: 1, perSecond: 1, now: () => 0 });

    expect([limiter.take('a'), limiter.take('b'), limiter.take('a')]).toEqual([true, true, false]);
  });

  it('forgets the least recently seen keys beyond maxKeys', () => {
    // Prepare
    const limiter = new TokenBucketLimiter({ burst: 1, perSecond: 0.001, maxKeys: 2, now: () => 0 });
    limiter.take('a');
    limiter.take('b');

    // Act
    limiter.take('c');

    // Assess: 'a' was forgotten, so it starts with a full bucket again; 'c' is still empty
    expect(limiter.take('a')).toBe(true);
    expect(limiter.take('c')).toBe(false);
  });
});
