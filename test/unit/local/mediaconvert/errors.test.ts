import { describe, expect, it } from '@jest/globals';
import { EngineError, type EngineErrorKind } from '../../../../local/engine/index.js';
import { fromEngine, JOB_ERRORS } from '../../../../local/mediaconvert/errors.js';

describe('fromEngine (MediaConvert)', () => {
  it.each<[EngineErrorKind, number]>([
    ['InputNotFound', JOB_ERRORS.inputNotFound],
    ['InputAccessDenied', JOB_ERRORS.permission],
    ['NotMedia', JOB_ERRORS.badInput],
    ['InvalidKeySize', JOB_ERRORS.badInput],
    ['DecryptionFailed', JOB_ERRORS.badInput],
    ['NothingToEncode', JOB_ERRORS.badInput],
    ['OutputWriteFailed', JOB_ERRORS.permission],
    ['EncodeFailed', JOB_ERRORS.unknown],
  ])('reports %s as job error %i, in words that name no other service', (kind, code) => {
    // Act
    const error = fromEngine(new EngineError(kind, 'bucket=b, key=k', { bucket: 'b', key: 'k' }));

    // Assess
    expect(error.code).toBe(code);
    expect(error.message).not.toMatch(/Elastic Transcoder|EngineError/);
  });

  it('names the object that could not be read or written as an s3:// URL', () => {
    // Act
    const read = fromEngine(new EngineError('NotMedia', undefined, { bucket: 'in', key: 'a/b.mp4' }));
    const write = fromEngine(new EngineError('OutputWriteFailed', 'x', { bucket: 'out', key: 'c/d.ts' }));

    // Assess
    expect(read.message).toBe('Unable to open input file [s3://in/a/b.mp4]');
    expect(write.message).toBe('Unable to write to output [s3://out/c/d.ts]');
  });

  it("says a wrong key or IV is a decryption problem (the workflow's bad-input check reads it)", () => {
    // Act
    const error = fromEngine(new EngineError('DecryptionFailed'));

    // Assess
    expect(error.message).toMatch(/decrypt/);
  });
});
