import type { AslMachine } from './task-functions.js';

export interface FastOptions {
  /** Every Wait state pauses this long instead of its Seconds/SecondsPath. */
  waitMs?: number;
  /** Every retrier waits this long instead of IntervalSeconds × BackoffRate^n. */
  retryMs?: number;
}

export interface TimingOverrides {
  waitTimeOverrides: Record<string, number>;
  retryIntervalOverrides: Record<string, number>;
}

/** `--fast`: a short pause for every Wait state and every retrier, nested branches and iterators included. */
export function fastOverrides(
  definition: AslMachine,
  fast: boolean | FastOptions | undefined,
): TimingOverrides {
  const overrides: TimingOverrides = { waitTimeOverrides: {}, retryIntervalOverrides: {} };
  if (!fast) return overrides;
  const { waitMs = 200, retryMs = 50 } = fast === true ? {} : fast;
  const walk = (machine: AslMachine) => {
    for (const [name, state] of Object.entries(machine.States)) {
      const s = state as {
        Type?: string;
        Retry?: unknown[];
        Branches?: AslMachine[];
        ItemProcessor?: AslMachine;
        Iterator?: AslMachine;
      };
      if (s.Type === 'Wait') overrides.waitTimeOverrides[name] = waitMs;
      if (s.Retry?.length) overrides.retryIntervalOverrides[name] = retryMs;
      for (const b of s.Branches ?? []) walk(b);
      if (s.ItemProcessor) walk(s.ItemProcessor);
      if (s.Iterator) walk(s.Iterator);
    }
  };
  walk(definition);
  return overrides;
}
