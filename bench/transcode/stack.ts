/**
 * The local-stack side of the transcode bench, run in a child process per ffmpeg binary and backend (one stack per
 * process: handlers resolve their endpoints once): one job, then several at once, timed from the upload, from the
 * transcoder's own job timing and from the workflow's history.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectFfmpeg } from '../../local/engine/index.js';
import type { Backend, StackTimings } from './report.js';

export const RESULT_MARK = 'BENCH_RESULT ';

/** The transcoder's own submit → finish times of the jobs these executions created. */
async function jobWindows(
  backend: Backend,
  config: {
    endpoints: Record<string, string>;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    pipelineId: string;
  },
  executionNames: string[],
): Promise<Array<{ submit: number; finish: number }>> {
  const { sanitizeUserMetadata } = await import('../../lib/transcoder/metadata.js');
  const markers = new Set(executionNames.map((n) => sanitizeUserMetadata({ execution: n }).execution));
  const common = { region: config.region, credentials: config.credentials };
  if (backend === 'mediaconvert') {
    const endpoint = config.endpoints.mediaconvert;
    if (!endpoint) throw new Error('this local stack has no MediaConvert endpoint (endpoints.mediaconvert)');
    const { ListJobsCommand, MediaConvertClient } = await import('@aws-sdk/client-mediaconvert');
    const client = new MediaConvertClient({ ...common, endpoint });
    const { Jobs = [] } = await client.send(new ListJobsCommand({ MaxResults: 20 }));
    client.destroy();
    return Jobs.filter((j) => markers.has(j.UserMetadata?.execution)).map((j) => ({
      submit: j.Timing?.SubmitTime?.getTime() ?? Number.NaN,
      finish: j.Timing?.FinishTime?.getTime() ?? Number.NaN,
    }));
  }
  const { ElasticTranscoderClient, ListJobsByPipelineCommand } = await import(
    '@aws-sdk/client-elastic-transcoder'
  );
  const client = new ElasticTranscoderClient({ ...common, endpoint: config.endpoints.elastictranscoder });
  const { Jobs = [] } = await client.send(new ListJobsByPipelineCommand({ PipelineId: config.pipelineId }));
  client.destroy();
  return Jobs.filter((j) => markers.has(j.UserMetadata?.execution)).map((j) => ({
    submit: j.Timing?.SubmitTimeMillis ?? Number.NaN,
    finish: j.Timing?.FinishTimeMillis ?? Number.NaN,
  }));
}

/** Child: one stack with default settings; one job, then `jobs` jobs at once. */
export async function child(ffmpegPath: string, clip: string, jobs: number, backend: Backend): Promise<void> {
  process.env.LOG_LEVEL = 'SILENT';
  const { startStack } = await import('../../local/stack/index.js');
  const { uploadFile } = await import('../../local/stack/upload.js');
  const dataDir = await mkdtemp(join(tmpdir(), 'st-transcode-bench-'));
  const ffmpeg = await selectFfmpeg({ explicit: ffmpegPath });
  const stack = await startStack({ dataDir, quiet: true, ffmpeg, backend });
  const body = await readFile(clip);
  const arrived = new Map<string, number>();
  const unsubscribe = stack.onNotification((n) => {
    arrived.set(n.execution.name, performance.now());
  });
  const runBatch = async (keys: string[]) => {
    const start = performance.now();
    const since = Date.now();
    await Promise.all(keys.map((key) => uploadFile(stack.s3, { bucket: stack.config.bucket, key, body })));
    const names = await Promise.all(
      keys.map(async (key) => {
        const record = await stack.waitForExecution(key, 30 * 60_000, since);
        if (record.status !== 'SUCCEEDED')
          throw new Error(`${key}: execution ${record.status} ${record.error ?? ''}`);
        await stack.waitForNotification(record.name, 60_000);
        return record.name;
      }),
    );
    const last = Math.max(...names.map((n) => arrived.get(n) ?? Number.NaN));
    const windows = await jobWindows(backend, stack.config as never, names);
    if (windows.length !== keys.length) throw new Error(`found ${windows.length} of ${keys.length} jobs`);
    const sawComplete = names.map(
      (name) =>
        stack.sfn.getExecutionHistory(stack.sfn.executionArn(name)).find((e) => {
          const exited = (e as { stateExitedEventDetails?: { name: string; output?: string } })
            .stateExitedEventDetails;
          if (e.type !== 'TaskStateExited' || exited?.name !== 'PollJob' || !exited.output) return false;
          return (JSON.parse(exited.output) as { job?: { status?: string } }).job?.status === 'Complete';
        })?.timestamp ?? Number.NaN,
    );
    const jobSeconds =
      (Math.max(...windows.map((w) => w.finish)) - Math.min(...windows.map((w) => w.submit))) / 1000;
    const lastFinish = Math.max(...windows.map((w) => w.finish));
    return {
      runSeconds: (last - start) / 1000,
      jobSeconds,
      completionLag: (Math.max(...sawComplete) - lastFinish) / 1000,
    };
  };
  try {
    const one = await runBatch(['incoming/bench-single.mp4']);
    const many = await runBatch(
      Array.from({ length: jobs }, (_, i) => `incoming/bench-${i + 1}-of-${jobs}.mp4`),
    );
    const result: StackTimings = {
      jobSeconds: one.jobSeconds,
      runSeconds: one.runSeconds,
      fourJobsSeconds: many.jobSeconds,
      fourRunsSeconds: many.runSeconds,
      completionToWorkflowSeconds: one.completionLag,
    };
    process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`);
  } finally {
    unsubscribe();
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
