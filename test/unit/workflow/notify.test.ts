import { describe, expect, it } from '@jest/globals';
import { parseTaskInput } from '../../../lib/contracts.js';
import { InvalidTaskInputError } from '../../../lib/errors.js';
import { NotifyInputSchema } from '../../../lib/workflow/notify.js';

const execution = { name: 'exec-1', arn: 'arn:aws:states:us-east-1:123456789012:execution:sm:exec-1' };

describe('NotifyInputSchema', () => {
  it('reads a state without `$.error` as the success path', () => {
    // Act
    const input = parseTaskInput(
      NotifyInputSchema,
      { source: { bucket: 'b', key: 'k' }, execution },
      'Notify',
    );
    // Assess
    expect(input.failed).toBe(false);
    expect(input.state.execution).toEqual(execution);
  });

  it('reads any state with `$.error` as the failure path, keeping only the fields of the right shape', () => {
    // Act
    const input = parseTaskInput(
      NotifyInputSchema,
      { error: { Error: 'SourceEmptyError', Cause: 'empty' }, execution: 'not-an-object', source: 7 },
      'Notify',
    );
    // Assess
    expect(input.failed).toBe(true);
    expect(input.state.error).toEqual({ Error: 'SourceEmptyError', Cause: 'empty' });
    expect(input.state.execution).toEqual({ name: 'unknown', arn: 'unknown' });
    expect(input.state.source).toEqual({});
  });

  it('rejects a malformed `$.error` instead of notifying success', () => {
    // Act
    const parse = () =>
      parseTaskInput(
        NotifyInputSchema,
        { error: 'boom', source: { bucket: 'b', key: 'k' }, execution },
        'Notify',
      );
    // Assess
    expect(parse).toThrow(InvalidTaskInputError);
    expect(parse).toThrow(/^Notify: invalid input — error: /);
  });

  it('rejects a success state without its execution', () => {
    // Act
    const parse = () => parseTaskInput(NotifyInputSchema, { source: { bucket: 'b', key: 'k' } }, 'Notify');
    // Assess
    expect(parse).toThrow(/^Notify: invalid input — execution: /);
  });
});
