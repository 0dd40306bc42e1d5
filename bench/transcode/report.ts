/**
 * The transcode bench's results (per ffmpeg binary, per backend) and the markdown table `npm run bench:transcode`
 * prints, with every row's ratio to (a), bare ffmpeg producing the same ladder in one command.
 */
import { DEFAULT_JOB_CONCURRENCY } from '../../local/engine/index.js';

export type Backend = 'elastictranscoder' | 'mediaconvert';
export const BACKENDS: Backend[] = ['mediaconvert', 'elastictranscoder'];

export interface StackTimings {
  /** (b) submit → COMPLETE of the single job. */
  jobSeconds: number;
  /** (c) upload start → notification. */
  runSeconds: number;
  /** (d) first submit → last COMPLETE of the concurrent jobs. */
  fourJobsSeconds: number;
  /** (d) upload start → last notification of the concurrent jobs. */
  fourRunsSeconds: number;
  /** (c) the job's COMPLETE → the PollJob that saw it (how long a finished job waits for the workflow). */
  completionToWorkflowSeconds: number;
}

export interface Ratios {
  jobVsFfmpeg: number;
  runVsFfmpeg: number;
  fourJobsVsFfmpeg: number;
  perRenditionVsOneCommand: number;
}

export interface BackendResult {
  backend: Backend;
  /** (a) bare ffmpeg, this backend's ladder in one command. */
  ladderOneCommandSeconds: number;
  /** (a′) bare ffmpeg, this backend's ladder one command per rendition. */
  ladderPerRenditionSeconds: number;
  /** (d) bare ffmpeg, `jobs` of this backend's ladders at the transcoder's parallelism. */
  fourLaddersSeconds: number;
  timings: StackTimings;
  ratios: Ratios;
}

export interface BinaryResult {
  ffmpeg: { path: string; version: string; source: string };
  /** Per backend measured, in BACKENDS order. */
  stacks: BackendResult[];
}

export const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export function table(results: BinaryResult[], jobs: number): string {
  const rows: string[][] = [['ffmpeg', 'backend (its own ladder)', 'step', 's', '× (a)']];
  for (const r of results) {
    const name = `${r.ffmpeg.version} (${r.ffmpeg.source})`;
    for (const b of r.stacks) {
      const label = b.backend === 'mediaconvert' ? 'MediaConvert' : 'Elastic Transcoder';
      const a = b.ladderOneCommandSeconds;
      const t = b.timings;
      const add = (step: string, s: number, ratio: string) =>
        rows.push([name, label, step, s.toFixed(1), ratio]);
      add('(a) bare ffmpeg, ladder in one command', a, '1.00');
      add(
        '(a′) bare ffmpeg, one command per rendition',
        b.ladderPerRenditionSeconds,
        (b.ladderPerRenditionSeconds / a).toFixed(2),
      );
      add('(b) local job, submit → COMPLETE', t.jobSeconds, (t.jobSeconds / a).toFixed(2));
      add('(c) whole run, upload → notification', t.runSeconds, (t.runSeconds / a).toFixed(2));
      add('(c′) job COMPLETE → PollJob sees it', t.completionToWorkflowSeconds, '');
      add(`(d) ${jobs} bare ladders, ${DEFAULT_JOB_CONCURRENCY} at a time`, b.fourLaddersSeconds, '');
      add(
        `(d) ${jobs} jobs at once, first submit → last COMPLETE`,
        t.fourJobsSeconds,
        `${(t.fourJobsSeconds / b.fourLaddersSeconds).toFixed(2)} × (d) ffmpeg`,
      );
      add(
        `(d) ${jobs} runs at once, upload → last notification`,
        t.fourRunsSeconds,
        `${(t.fourRunsSeconds / b.fourLaddersSeconds).toFixed(2)} × (d) ffmpeg`,
      );
    }
  }
  return `${rows.map((cells) => `| ${cells.join(' | ')} |`).join('\n')}\n`;
}
