/**
 * PollJob: reads the transcode job once and either returns the next wait (the ASL loops through a Wait state) or
 * throws the error the state machine routes on: an internal transcoder error goes back to SubmitJob, every other
 * terminal failure and the overall poll deadline go to CleanUp.
 */
import type { WorkflowConfig } from '../config/workflow.js';
import type { Job, Poll } from '../contracts.js';
import {
  PollDeadlineExceededError,
  TranscodeJobCanceledError,
  TranscodeJobFailedError,
  TranscoderInternalError,
} from '../errors.js';
import type { TranscoderAdapter } from '../transcoder/types.js';

/** Exponential backoff with full jitter in [base/2, base], capped; at least 1 s (the ASL Wait's unit). */
export function nextWait(
  attempt: number,
  initial: number,
  cap: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(cap, initial * 2 ** attempt);
  return Math.max(1, Math.min(cap, Math.round(base / 2 + (random() * base) / 2)));
}

export async function pollJob(
  input: { job: Job; poll: Poll },
  deps: {
    transcoder: TranscoderAdapter;
    config: Pick<WorkflowConfig, 'pollInitialSeconds' | 'pollMaxSeconds'>;
    now?: () => Date;
    random?: () => number;
  },
): Promise<{ job: Job; poll: Poll }> {
  const now = deps.now ?? (() => new Date());
  const job = await deps.transcoder.read(input.job.id);
  if (job.status === 'Error' && job.errorCode && deps.transcoder.isInternalError(job.errorCode)) {
    throw new TranscoderInternalError(
      `Transcode job ${job.id} ended in internal error ${job.errorCode}: ${job.statusDetail ?? 'no detail'}`,
      { code: `TRANSCODER_${job.errorCode}` },
    );
  }
  if (job.status === 'Error') {
    throw new TranscodeJobFailedError(
      `Transcode job ${job.id} ended in Error${job.errorCode ? ` (code ${job.errorCode})` : ''}: ${job.statusDetail ?? 'no detail'}`,
      { code: job.errorCode ? `TRANSCODER_${job.errorCode}` : 'TRANSCODER_ERROR' },
    );
  }
  if (job.status === 'Canceled') {
    throw new TranscodeJobCanceledError(`Transcode job ${job.id} was canceled`, {
      code: 'TRANSCODER_CANCELED',
    });
  }
  if (job.status !== 'Complete' && now().getTime() >= Date.parse(input.poll.deadline)) {
    throw new PollDeadlineExceededError(
      `Transcode job ${job.id} still ${job.status} at the poll deadline ${input.poll.deadline}`,
      { code: 'POLL_DEADLINE_EXCEEDED' },
    );
  }
  const attempt = input.poll.attempt + 1;
  return {
    job,
    poll: {
      attempt,
      waitSeconds: nextWait(attempt, deps.config.pollInitialSeconds, deps.config.pollMaxSeconds, deps.random),
      deadline: input.poll.deadline,
    },
  };
}
