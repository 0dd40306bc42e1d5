/**
 * Fault injection for the local servers (`npm run chaos`, the reliability tests): per service and operation, a rate or a schedule of call ordinals.
 * Each server asks `decide(service, operation)` once per request and, if a fault comes back, answers with that
 * service's real wire error (KMS ThrottlingException, S3 SlowDown/500, transcoder 429) or resets the connection.
 * The local Lambda invoker asks `decide('lambda', <function key>)` once per invocation; `crash` kills that
 * invocation part-way, as an out-of-memory kill or a lost sandbox would (local/lambda/invoke.ts).
 *
 * Spec string (CLI flag / env `SECURE_TRANSCODE_FAULTS`): comma-separated `service:operation:kind[:rate|@n+m…]`, e.g.
 * `kms:*:throttle:0.2,s3:GetObject:slowdown:0.2,s3:UploadPart:internal@3+7,transcoder:CreateJob:throttle:0.2`,
 * `lambda:encryptSource:crash@1+2`.
 */

export type FaultKind = 'throttle' | 'slowdown' | 'internal' | 'reset' | 'crash';
export type FaultService =
  | 's3'
  | 'kms'
  | 'transcoder'
  | 'sfn'
  | 'sqs'
  | 'sns'
  | 'keyservice'
  | 'lambda'
  | '*';

export interface FaultRule {
  service: FaultService;
  /** API operation name (`GetObject`, `Decrypt`, `CreateJob` …), for `lambda` the function key, or `*`. */
  operation: string;
  kind: FaultKind;
  /** Probability in [0, 1] per matching call. */
  rate?: number;
  /** 1-based ordinals of matching calls that fail (deterministic alternative to `rate`). */
  schedule?: number[];
}

export interface FaultStat {
  service: string;
  operation: string;
  calls: number;
  injected: number;
}

const KINDS: readonly FaultKind[] = ['throttle', 'slowdown', 'internal', 'reset', 'crash'];

export class FaultInjector {
  private readonly rules: FaultRule[] = [];
  private readonly counters = new Map<string, FaultStat>();
  private readonly ruleCalls = new Map<FaultRule, number>();
  private suspended = 0;

  constructor(
    rules: FaultRule[] = [],
    private readonly random: () => number = Math.random,
  ) {
    for (const r of rules) this.add(r);
  }

  static parse(spec: string | undefined): FaultRule[] {
    if (!spec?.trim()) return [];
    return spec.split(',').map((part) => {
      const [service, operation, kindAndSched, rate] = part.trim().split(':');
      const [kind, sched] = (kindAndSched ?? '').split('@');
      if (!service || !operation || !kind || !KINDS.includes(kind as FaultKind)) {
        throw new Error(`Invalid fault rule "${part}": expected service:operation:kind[:rate|@n+m]`);
      }
      const rule: FaultRule = { service: service as FaultService, operation, kind: kind as FaultKind };
      if (sched) rule.schedule = sched.split('+').map((n) => Number.parseInt(n, 10));
      else rule.rate = rate === undefined ? 1 : Number.parseFloat(rate);
      if (rule.rate !== undefined && !(rule.rate >= 0 && rule.rate <= 1)) {
        throw new Error(`Invalid fault rate in "${part}": must be between 0 and 1`);
      }
      // A wire error has no meaning for an invocation, and a crash none for a server request.
      if ((rule.service === 'lambda') !== (rule.kind === 'crash')) {
        throw new Error(`Invalid fault rule "${part}": crash applies to lambda, and lambda only to crash`);
      }
      return rule;
    });
  }

  add(rule: FaultRule): void {
    this.rules.push(rule);
  }

  clear(): void {
    this.rules.length = 0;
    this.ruleCalls.clear();
  }

  /**
   * Switches injection off until the returned function is called: the stack provisions its own resources (queues,
   * keys, pipeline) without faults, so a fault spec tests the workflow rather than crashing start-up.
   */
  suspend(): () => void {
    this.suspended += 1;
    let resumed = false;
    return () => {
      if (!resumed) this.suspended -= 1;
      resumed = true;
    };
  }

  /** Called once per request. Returns the fault to inject, if any, and counts the call either way. */
  decide(service: string, operation: string): FaultKind | undefined {
    if (this.suspended > 0) return undefined;
    const id = `${service}:${operation}`;
    const stat = this.counters.get(id) ?? { service, operation, calls: 0, injected: 0 };
    stat.calls += 1;
    this.counters.set(id, stat);
    for (const rule of this.rules) {
      if (rule.service !== '*' && rule.service !== service) continue;
      if (rule.operation !== '*' && rule.operation !== operation) continue;
      const n = (this.ruleCalls.get(rule) ?? 0) + 1;
      this.ruleCalls.set(rule, n);
      const hit = rule.schedule ? rule.schedule.includes(n) : this.random() < (rule.rate ?? 0);
      if (hit) {
        stat.injected += 1;
        return rule.kind;
      }
    }
    return undefined;
  }

  stats(): FaultStat[] {
    return [...this.counters.values()].sort(
      (a, b) => a.service.localeCompare(b.service) || a.operation.localeCompare(b.operation),
    );
  }

  totalInjected(): number {
    return this.stats().reduce((n, s) => n + s.injected, 0);
  }
}
