/**
 * `secure-transcode up`: the stack in the foreground until Ctrl-C. Any S3 client that uploads under the input prefix
 * starts the workflow — the AWS CLI included — and each notification is printed as it arrives.
 */
import { describeFfmpeg } from '../engine/index.js';
import {
  backendFrom,
  type CliIo,
  CommandError,
  dataDirFrom,
  faultsFrom,
  formatDuration,
  parseCliArgs,
  portFrom,
  selectFfmpegOrExplain,
  untilInterrupted,
} from './common.js';
import { describeSourceRetention, sourceRetentionFrom } from './retention.js';

export const UP_USAGE = `Usage: secure-transcode up [options]

Runs the local stack in the foreground until Ctrl-C and writes <data-dir>/endpoints.json. Uploading a file under
s3://<bucket>/incoming/ with any S3 client starts the workflow; notifications are printed and appended to
<data-dir>/notifications.jsonl. The console URL (executions, graph, history, notifications, assets, player) is
printed and is "console" in endpoints.json. State in the data dir (keys, executions, jobs, objects) survives a restart.
A data dir another user owns, can write to or could swap is refused (exit 1); what the stack writes is owner-only.

Environment:
  SOURCE_RETENTION=delete  (default) once a job has succeeded, the exact uploaded version is deleted from the
                           bucket; a failed job keeps its upload
  SOURCE_RETENTION=keep    uploads stay under incoming/

Options:
  --backend NAME           mediaconvert (default, as deployed) or elastictranscoder
  --data-dir DIR           state directory (default ./.secure-transcode/)
  --fast                   shorten Wait states and retry intervals
  --faults SPEC            inject faults (see local/faults.ts)
  --s3-port PORT           S3/SQS/SNS endpoint port (default: the previous run's, else a free one)
  --key-service-port PORT  key service and player port
  --sfn-port PORT          Step Functions endpoint port
  --kms-port PORT          KMS endpoint port
  --transcoder-port PORT   Elastic Transcoder endpoint port
  --rotate-credentials     replace the data dir's access and secret keys with new random ones before starting
  --mediaconvert-port PORT MediaConvert endpoint port
  --speke-port PORT        SPEKE key provider port
  --verbose                show the handlers' logs
  -h, --help               show this help`;

function parse(argv: string[]) {
  return parseCliArgs({
    args: argv,
    allowPositionals: false,
    options: {
      'data-dir': { type: 'string' },
      backend: { type: 'string' },
      fast: { type: 'boolean', default: false },
      faults: { type: 'string' },
      's3-port': { type: 'string' },
      'key-service-port': { type: 'string' },
      'sfn-port': { type: 'string' },
      'kms-port': { type: 'string' },
      'transcoder-port': { type: 'string' },
      'rotate-credentials': { type: 'boolean', default: false },
      'mediaconvert-port': { type: 'string' },
      'speke-port': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

/** The execution's source as an S3 URI, or what is wrong with an input started by hand. */
export function sourceOf(input: string): string {
  let source: { bucket?: unknown; key?: unknown } | undefined;
  try {
    source = (JSON.parse(input) as { source?: { bucket?: unknown; key?: unknown } } | null)?.source;
  } catch {
    return 'an input that is not JSON';
  }
  return typeof source?.bucket === 'string' && typeof source.key === 'string'
    ? `s3://${source.bucket}/${source.key}`
    : 'an input without source.bucket and source.key (it will fail validation and be notified)';
}

export async function runUpCommand(
  argv: string[],
  io: CliIo,
  options: { signal?: AbortSignal } = {},
): Promise<number> {
  const { values } = parse(argv);
  if (values.help) {
    io.stdout.write(`${UP_USAGE}\n`);
    return 0;
  }
  const ports = {
    s3: portFrom('--s3-port', values['s3-port']),
    keyService: portFrom('--key-service-port', values['key-service-port']),
    sfn: portFrom('--sfn-port', values['sfn-port']),
    kms: portFrom('--kms-port', values['kms-port']),
    transcoder: portFrom('--transcoder-port', values['transcoder-port']),
    mediaconvert: portFrom('--mediaconvert-port', values['mediaconvert-port']),
    speke: portFrom('--speke-port', values['speke-port']),
  };
  const dataDir = dataDirFrom(values['data-dir']);
  const backend = backendFrom(values.backend);
  const sourceRetention = await sourceRetentionFrom(process.env);
  process.env.LOG_LEVEL ??= values.verbose ? 'INFO' : 'WARN';
  const ffmpeg = await selectFfmpegOrExplain();
  const { startStack, StackAlreadyRunningError, PortInUseError, UnsafeDataDirError } = await import(
    '../stack/index.js'
  );
  const log = (line: string) => io.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  const stack = await startStack({
    dataDir,
    backend,
    fast: values.fast,
    faults: await faultsFrom(values.faults),
    ports,
    ffmpeg,
    log,
    rotateCredentials: values['rotate-credentials'],
    env: { SOURCE_RETENTION: sourceRetention },
  }).catch((e: unknown) => {
    if (
      e instanceof StackAlreadyRunningError ||
      e instanceof PortInUseError ||
      e instanceof UnsafeDataDirError
    )
      throw new CommandError(e.message);
    throw e;
  });
  const c = stack.config;
  // Listen for Ctrl-C before the banner says the stack is up: whoever reads the banner may stop it at once.
  const interruption = untilInterrupted(io, options.signal);
  io.stdout.write(
    [
      `secure-transcode local stack is up (data dir ${dataDir}${values.fast ? ', fast' : ''}, transcoder ${c.transcoderBackend})`,
      `  S3 / SQS / SNS     ${c.endpoints.s3}   bucket ${c.bucket}, uploads under ${c.inputPrefix}`,
      `                     ${describeSourceRetention(sourceRetention)}`,
      `  KMS                ${c.endpoints.kms}   key ${c.kmsKeyArn} (alias/secure-transcode)`,
      `                     playback key ${c.playbackKmsKeyArn} (alias/secure-transcode-playback)`,
      `  MediaConvert       ${c.endpoints.mediaconvert}   role ${c.mediaConvertRoleArn}`,
      `  SPEKE provider     ${c.endpoints.speke}`,
      `  Elastic Transcoder ${c.endpoints.elastictranscoder}   pipeline ${c.pipelineId}`,
      `                     ${describeFfmpeg(stack.ffmpeg)}`,
      `  Step Functions     ${c.endpoints.sfn}   ${c.stateMachineArn}`,
      `  Key service        ${c.endpoints.keyService}   player ${c.player}`,
      `  Console            ${c.console}`,
      `  endpoints.json     ${dataDir}/endpoints.json`,
      `  notifications      ${c.notificationsFile}`,
      '',
      `Every endpoint accepts only requests signed with this stack's keys (${dataDir}/credentials.json, 0600).`,
      'Try:',
      `  eval "$(npx secure-transcode credentials --data-dir ${dataDir})"`,
      `  aws --endpoint-url ${c.endpoints.s3} s3 cp video.mp4 s3://${c.bucket}/${c.inputPrefix}`,
      `  secure-transcode status --data-dir ${dataDir}`,
      'Ctrl-C stops the stack.',
      '',
    ].join('\n'),
  );
  const unsubscribe = stack.onExecutionEvent((record, event) => {
    if (event.type === 'ExecutionStarted') {
      log(`execution ${record.name} started for ${sourceOf(record.input)}`);
    } else if (event.type === 'StateRetried' || event.type === 'StateCaught') {
      const d = (event as { evaluationFailedEventDetails?: { state: string; error: string } })
        .evaluationFailedEventDetails;
      log(
        `execution ${record.name}: ${event.type === 'StateRetried' ? 'retrying' : 'caught'} ${d?.error} in ${d?.state}`,
      );
    } else if (event.type.startsWith('Execution') && event.type !== 'ExecutionStarted') {
      log(
        `execution ${record.name} ${record.status === 'RUNNING' ? event.type : record.status} after ${formatDuration(event.timestamp - record.startDate)}`,
      );
    }
  });
  const reason = await interruption.promise;
  unsubscribe();
  io.stdout.write(`${reason === 'abort' ? '' : '\n'}Stopping…\n`);
  await stack.stop();
  interruption.dispose();
  io.stdout.write('Stopped.\n');
  return 0;
}
