/**
 * Starts one execution per object version. The name is deterministic (lib/paths.ts) and the input contains only
 * values that are identical across duplicate deliveries (the event time, not "now"), so a duplicate either gets the
 * same answer or ExecutionAlreadyExists — both mean "already started".
 */
import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { sfn as defaultSfn } from '../clients.js';
import type { ExecutionInput } from '../contracts.js';
import { executionNameFor } from '../paths.js';

export type StartOutcome = { status: 'started' | 'duplicate'; executionName: string; executionArn?: string };

export async function startWorkflow(
  stateMachineArn: string,
  input: ExecutionInput,
  client: SFNClient = defaultSfn,
): Promise<StartOutcome> {
  const name = executionNameFor(input.source);
  try {
    const out = await client.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
    );
    return {
      status: 'started',
      executionName: name,
      ...(out.executionArn ? { executionArn: out.executionArn } : {}),
    };
  } catch (e) {
    if (e instanceof ExecutionAlreadyExists || (e as Error)?.name === 'ExecutionAlreadyExists') {
      return { status: 'duplicate', executionName: name };
    }
    throw e;
  }
}
