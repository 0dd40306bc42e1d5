import { describe, expect, it } from '@jest/globals';
import { fromEngine } from '../../../../local/elastictranscoder/errors.js';
import { EngineError, type EngineErrorKind } from '../../../../local/engine/index.js';

describe('fromEngine (Elastic Transcoder)', () => {
  it.each<[EngineErrorKind, number]>([
    ['InputNotFound', 3001],
    ['InputAccessDenied', 3003],
    ['NotMedia', 4000],
    ['NothingToEncode', 4000],
    ['DecryptionFailed', 4016],
    ['InvalidKeySize', 4017],
    ['EncodeFailed', 9000],
    ['OutputWriteFailed', 9001],
  ])('reports %s as job error %i', (kind, code) => {
    // Act
    const failure = fromEngine(new EngineError(kind));

    // Assess
    expect(failure.code).toBe(code);
  });

  it("puts the engine's detail after the code's text in the StatusDetail", () => {
    // Act
    const failure = fromEngine(new EngineError('InputNotFound', 'bucket=in, key=missing.enc'));

    // Assess
    expect(failure.statusDetail()).toMatch(
      /^3001 [0-9a-f-]{36}: The specified input file does not exist\. bucket=in, key=missing\.enc$/,
    );
  });
});
