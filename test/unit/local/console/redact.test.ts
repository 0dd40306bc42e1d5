import { describe, expect, it } from '@jest/globals';
import { shortenForDisplay, shortenPayload, WITHHELD_MARK } from '../../../../local/console/redact.js';
import { sampleEncrypted, sampleKeys } from '../../../support/state.js';

describe('what the console shows of a state payload', () => {
  it('withholds every key blob, however deep, and keeps object keys (S3 keys) readable', () => {
    // Prepare
    const state = { source: { key: 'incoming/a.mp4' }, keys: sampleKeys(), encrypted: sampleEncrypted() };
    // Act
    const shown = JSON.stringify(shortenForDisplay(state));
    // Assess
    expect(shown).toContain('incoming/a.mp4');
    expect(shown).toContain(WITHHELD_MARK);
    expect(shown).not.toContain(sampleEncrypted().wrappedKey);
    for (const blob of JSON.stringify(sampleKeys()).match(/[A-Za-z0-9+/]{40,}={0,2}/g) ?? []) {
      expect(shown).not.toContain(blob);
    }
  });

  it('shortens long strings and long arrays and leaves a non-JSON payload as a short string', () => {
    // Act
    const shown = shortenForDisplay({
      checkpoint: 'x'.repeat(500),
      parts: Array.from({ length: 50 }, (_, i) => i),
    });
    // Assess
    expect(shown).toEqual({
      checkpoint: `${'x'.repeat(40)}… (500 chars)`,
      parts: [...Array.from({ length: 20 }, (_, i) => i), '… 30 more'],
    });
    expect(shortenPayload('not json')).toBe('not json');
  });
});
