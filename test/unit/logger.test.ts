import { describe, expect, it } from '@jest/globals';
import { redactingReplacer } from '../../lib/logger.js';

describe('the log redactor', () => {
  it('masks key material and credentials but keeps S3 object keys', () => {
    // Prepare
    const key = Buffer.alloc(16, 7);
    const entry = {
      key: 'incoming/movie.mp4',
      plaintext: key.toString('base64'),
      dataKey: key.toString('hex'),
      token: 'eyJhc3NldElkIjoiYSJ9.sig',
      nested: { secretValue: 'hunter2', raw: key, view: new Uint8Array(key) },
    };
    // Act
    const out = JSON.stringify(entry, redactingReplacer);
    // Assess
    expect(JSON.parse(out)).toEqual({
      key: 'incoming/movie.mp4',
      plaintext: '[redacted]',
      dataKey: '[redacted]',
      token: '[redacted]',
      nested: { secretValue: '[redacted]', raw: '[16 bytes]', view: '[16 bytes]' },
    });
    expect(out).not.toContain(key.toString('base64'));
    expect(out).not.toContain(key.toString('hex'));
  });
});
