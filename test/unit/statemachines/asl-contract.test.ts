import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import * as errors from '../../../lib/errors.js';
import { projectRoot } from '../../support/events.js';

type State = {
  Type: string;
  Resource?: { 'Fn::GetAtt': [string, string] };
  Retry?: Array<{ ErrorEquals: string[] }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
  Next?: string;
};
const asl = JSON.parse(readFileSync(join(projectRoot, 'statemachines/transcode.asl.json'), 'utf8')) as {
  States: Record<string, State>;
};
const serverless = parse(readFileSync(join(projectRoot, 'serverless.yml'), 'utf8')) as {
  functions: Record<string, { handler: string }>;
};
const tasks = Object.entries(asl.States).filter(([, s]) => s.Type === 'Task');
/** Every loop below asserts it saw all of these, so a renamed or mis-typed state cannot empty a loop silently. */
const TASK_STATES = [
  'ValidateSource',
  'GenerateKeys',
  'EncryptSource',
  'CompleteUpload',
  'WrapKey',
  'SubmitJob',
  'PollJob',
  'DisposeSource',
  'NotifySuccess',
  'CleanUp',
  'NotifyFailure',
];
const exportedErrorNames = (Object.values(errors) as unknown[])
  .filter(
    (v): v is new (m: string) => Error =>
      typeof v === 'function' && (v as { prototype: unknown }).prototype instanceof Error,
  )
  .map((cls) => new cls('probe').name);

describe('the ASL error contract', () => {
  it('finds every Task state of the workflow', () => {
    // Assess
    expect(tasks.map(([name]) => name)).toEqual(TASK_STATES);
  });

  it('names only exported error classes (or States./Lambda. built-ins) in ErrorEquals', () => {
    // Act
    const named = tasks.flatMap(([, s]) =>
      [...(s.Retry ?? []), ...(s.Catch ?? [])].flatMap((r) => r.ErrorEquals),
    );
    const custom = [...new Set(named.filter((n) => !n.startsWith('States.') && !n.startsWith('Lambda.')))];
    // Assess
    expect(custom.length).toBeGreaterThan(0);
    expect(custom.filter((n) => !exportedErrorNames.includes(n))).toEqual([]);
  });

  it('retries every transient error class in every task, and no permanent one', () => {
    expect(tasks).toHaveLength(TASK_STATES.length);
    for (const [name, state] of tasks) {
      const retried = (state.Retry ?? []).flatMap((r) => r.ErrorEquals);
      // Assess
      expect({
        name,
        missing: errors.TRANSIENT_ERRORS.filter((e) => !retried.includes(e)),
      }).toEqual({ name, missing: [] });
      expect({ name, permanent: errors.PERMANENT_ERRORS.filter((e) => retried.includes(e)) }).toEqual({
        name,
        permanent: [],
      });
    }
  });

  it('retries no task on States.ALL, so a validation error is never retried (the notify steps included)', () => {
    // Act
    const retryAll = tasks.filter(([, s]) =>
      (s.Retry ?? []).some((r) => r.ErrorEquals.includes('States.ALL')),
    );
    // Assess
    expect(tasks).toHaveLength(TASK_STATES.length);
    expect(retryAll.map(([name]) => name)).toEqual([]);
  });

  it('classifies every exported error class as transient or permanent', () => {
    // Assess
    const classified: string[] = [...errors.TRANSIENT_ERRORS, ...errors.PERMANENT_ERRORS];
    expect([...exportedErrorNames].sort()).toEqual([...classified].sort());
  });

  it('catches every failure of every task into the failure path', () => {
    expect(tasks).toHaveLength(TASK_STATES.length);
    for (const [name, state] of tasks) {
      const catchAll = (state.Catch ?? []).find((c) => c.ErrorEquals.includes('States.ALL'));
      if (name === 'NotifyFailure') continue; // the end of the failure path: retried, then the execution fails
      if (name === 'NotifySuccess') continue; // asserted below: a finished transcode is never cleaned up
      // Assess
      expect({ name, next: catchAll?.Next }).toEqual({
        name,
        next: expect.stringMatching(/Failed$|^NotifyFailure$/),
      });
    }
  });

  it('resolves every Task resource to a function in serverless.yml whose handler file exists', () => {
    expect(tasks).toHaveLength(TASK_STATES.length);
    for (const [, state] of tasks) {
      const fnKey = state.Resource?.['Fn::GetAtt'][0] ?? '';
      const fn = serverless.functions[fnKey];
      // Assess
      expect(fn).toBeDefined();
      const file = `${fn?.handler.replace(/\.handler$/, '')}.ts`;
      expect(() => readFileSync(join(projectRoot, file))).not.toThrow();
    }
  });

  it('keeps a finished transcode when only its success notification cannot be delivered', () => {
    // Assess
    const catchAll = asl.States.NotifySuccess?.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
    expect(catchAll?.Next).toBe('SuccessNotificationUndelivered');
    expect(asl.States.SuccessNotificationUndelivered?.Type).toBe('Fail');
  });

  it('ends every failure path in the failure notification', () => {
    // Assess
    const failedPasses = Object.entries(asl.States).filter(
      ([k]) => k.endsWith('Failed') && k !== 'WorkflowFailed',
    );
    expect(failedPasses.length).toBeGreaterThan(5);
    for (const [, s] of failedPasses) expect(s.Next).toBe('CleanUp');
    expect(asl.States.CleanUp?.Next).toBe('NotifyFailure');
    expect(asl.States.NotifyFailure?.Next).toBe('WorkflowFailed');
  });
});
