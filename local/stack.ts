/**
 * The embedded local stack: every service the workflow talks to, on 127.0.0.1 free ports, with the same ASL and the
 * same handler modules as the deployment. Handlers reach the servers through the SDK's own `AWS_ENDPOINT_URL_*`
 * variables, which is why this module sets process.env before any handler loads — and why one process runs at most
 * one stack (SDK clients resolve their endpoint once, on first use).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ElasticTranscoderClient } from '@aws-sdk/client-elastic-transcoder';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import type { TranscoderBackend } from '../lib/config/transcoder.js';
import { FaultInjector } from './faults.js';
import { createLambdaInvoker } from './lambda/invoke.js';
import type { ObjectCreatedEvent, S3RequestRecord } from './s3/index.js';
import type { ExecutionRecord, HistoryEvent, LocalStepFunctions } from './sfn/index.js';
import { loadFunctionCatalog } from './sfn/index.js';
import { ensurePrivateDir, loadOrCreateCredentials, writePrivateFile } from './stack/credentials.js';
import { startLocalEventBridge } from './stack/eventbridge.js';
import { exportAsset } from './stack/exports.js';
import { acquireLock } from './stack/lock.js';
import { type Notification, startNotificationSink } from './stack/notifications.js';
import { provision } from './stack/resources.js';
import { toS3EventNotification } from './stack/s3-events.js';
import { migrateSnapshot } from './stack/snapshot.js';
import { type SqsPoller, startSqsPoller } from './stack/sqs-poller.js';
import type { FfmpegBinary, JobProgress } from './transcoder/index.js';

export { StackAlreadyRunningError } from './stack/lock.js';
export type { Notification } from './stack/notifications.js';

export const LOCAL_BUCKET = 'secure-transcode-local';
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
export const EVENT_BUS_NAME = 'secure-transcode-local';
export const LOCAL_MEDIACONVERT_ROLE_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:role/secure-transcode-local-mediaconvert`;

export interface EndpointsJson {
  region: string;
  /** The transcoder the workflow submits to. */
  transcoderBackend: TranscoderBackend;
  /** The IAM role MediaConvert jobs name (locally the stack's credentials stand in for it). */
  mediaConvertRoleArn: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  endpoints: {
    s3: string;
    sqs: string;
    sns: string;
    kms: string;
    elastictranscoder: string;
    mediaconvert: string;
    /** The SPEKE key provider's route (`SpekeKeyProvider.Url` of MediaConvert jobs). */
    speke: string;
    sfn: string;
    keyService: string;
    eventbridge: string;
    dynamodb: string;
  };
  bucket: string;
  inputPrefix: string;
  queueUrl: string;
  dlqUrl: string;
  topicArn: string;
  pipelineId: string;
  kmsKeyId: string;
  kmsKeyArn: string;
  /** The playback key (PLAYBACK_KMS_KEY_ID). */
  playbackKmsKeyArn: string;
  stateMachineArn: string;
  notificationsFile: string;
  eventsFile: string;
  exportsDir: string;
  /** Player page base; append `?asset=<assetId>&token=<token>` (the CLI prints complete URLs). */
  player: string;
  /** The local console, its per-stack access token included (loopback only). */
  console: string;
  /** The key service's 0600 token-signing secret (what `secure-transcode token` and `play` sign with). */
  tokenSecretFile: string;
}

export interface StackPorts {
  s3?: number;
  kms?: number;
  transcoder?: number;
  mediaconvert?: number;
  speke?: number;
  sfn?: number;
  keyService?: number;
  eventbridge?: number;
}

export interface StackOptions {
  dataDir: string;
  /** The transcoder the workflow uses (default `mediaconvert`, as deployed); both local services always run. */
  backend?: TranscoderBackend;
  /** Shorten Wait states, retry intervals and the transcoder poll (`--fast`). */
  fast?: boolean;
  /** A fault spec (see local/faults.ts) or an injector shared with the caller. Default: `SECURE_TRANSCODE_FAULTS`. */
  faults?: string | FaultInjector;
  /** Do not print notifications and ingest problems (the caller shows its own progress). */
  quiet?: boolean;
  ports?: StackPorts;
  /** The ffmpeg for the local transcoder, already chosen (the CLI's), else `ffmpegPath`, else selectFfmpeg's choice. */
  ffmpeg?: FfmpegBinary;
  ffmpegPath?: string;
  /** Where human-readable lines go when not quiet. */
  log?: (line: string) => void;
  /** Repository root holding serverless.yml and statemachines/ (defaults to this checkout). */
  root?: string;
  /**
   * Extra handler environment (e.g. `MAX_SOURCE_BYTES`, `PART_SIZE_MIB`, `POLL_DEADLINE_SECONDS`), applied over the
   * stack's own like a deployment's `environment:`. Handlers read their configuration once, on first load.
   */
  env?: Record<string, string>;
  /** Sees every S3 request the gateway receives, before faults (tests time actions against the workflow's I/O). */
  onS3Request?: (r: S3RequestRecord) => void;
  /** Replace the data directory's credentials with new random ones before starting (`--rotate-credentials`). */
  rotateCredentials?: boolean;
}

export interface Stack {
  config: EndpointsJson;
  env: Record<string, string>;
  dataDir: string;
  /** The ASL file the local Step Functions runs. */
  definitionPath: string;
  faults: FaultInjector;
  sfn: LocalStepFunctions;
  s3: S3Client;
  /** The key service's token issuer (what `secure-transcode token` uses). */
  issueToken(assetId: string): Promise<string>;
  playerUrl(assetId: string, token: string): string;
  onNotification(listener: (n: Notification) => void): () => void;
  onExecutionEvent(listener: (record: ExecutionRecord, event: HistoryEvent) => void): () => void;
  /** The ffmpeg the local transcoder runs (path, version, where it was found). */
  ffmpeg: FfmpegBinary;
  /** Progress of running transcode jobs (per rendition, from ffmpeg), a few times a second each. */
  onTranscodeProgress(listener: (progress: JobProgress) => void): () => void;
  /** Executions started for an object key (newest last). */
  executionsFor(key: string): ExecutionRecord[];
  /** Waits until an execution started at or after `since` (epoch ms) for `key`; resolves with its ARN. */
  waitForExecutionStart(key: string, timeoutMs?: number, since?: number): Promise<string>;
  /** Waits until the workflow for `key` has started (at or after `since`) and finished. */
  waitForExecution(key: string, timeoutMs?: number, since?: number): Promise<ExecutionRecord>;
  /** Waits for the notification of an execution (by name). */
  waitForNotification(executionName: string, timeoutMs?: number): Promise<Notification>;
  /** Where a finished asset was exported, once its notification has been processed. */
  exportDirFor(assetId: string): string | undefined;
  stop(): Promise<void>;
}

export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
}

const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

function portError(what: string, port: number | undefined) {
  return (e: unknown) => {
    if ((e as NodeJS.ErrnoException)?.code === 'EADDRINUSE') {
      throw new PortInUseError(
        `Port ${port} for ${what} is already in use on 127.0.0.1: choose another or stop the process using it.`,
      );
    }
    throw e;
  };
}

function describeNotification(n: Notification): string {
  const src =
    n.source.bucket && n.source.key
      ? `s3://${n.source.bucket}/${n.source.key}`
      : 'an execution input without a source';
  if (n.status === 'SUCCEEDED') {
    return `notification: SUCCEEDED ${src} → ${n.playback?.masterPlaylist ?? n.playlists[0]?.key ?? '(no playlist)'} (execution ${n.execution.name})`;
  }
  return `notification: FAILED ${src} at ${n.error?.step ?? '?'}: ${n.error?.code ?? '?'} ${n.error?.message ?? ''} (execution ${n.execution.name})`;
}

/** Sets variables and returns a function putting back what was there (tests run several stacks, one at a time). */
function applyEnv(vars: Record<string, string>): () => void {
  const previous = new Map(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of previous) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const dataDir = resolve(options.dataDir);
  const root = options.root ?? REPO_ROOT;
  const fast = options.fast ?? false;
  const log = options.quiet ? () => undefined : (options.log ?? ((line: string) => console.log(line)));
  const ports = options.ports ?? {};
  ensurePrivateDir(dataDir);
  const release = acquireLock(dataDir);
  const portsPath = join(dataDir, 'ports.json');
  const previousPorts = existsSync(portsPath)
    ? (JSON.parse(readFileSync(portsPath, 'utf8')) as StackPorts)
    : {};
  const chosenPorts: StackPorts = {};
  /**
   * An explicit port must be free. Otherwise the port of the previous run is tried first, so endpoints (and player
   * URLs, AWS CLI profiles) stay the same across restarts of `up`; a free port is taken if it is busy.
   */
  const onPort = async <T extends { endpoint: string }>(
    what: string,
    key: keyof StackPorts,
    start: (port: number | undefined) => Promise<T>,
  ): Promise<T> => {
    const explicit = ports[key];
    let server: T | undefined;
    if (explicit !== undefined) server = await start(explicit).catch(portError(what, explicit));
    else if (previousPorts[key]) {
      server = await start(previousPorts[key]).catch((e: unknown) => {
        if ((e as NodeJS.ErrnoException)?.code === 'EADDRINUSE') return undefined;
        throw e;
      });
    }
    server ??= await start(undefined);
    chosenPorts[key] = Number(new URL(server.endpoint).port);
    return server;
  };
  const cleanups: Array<() => Promise<void> | void> = [release];
  const runCleanups = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    cleanups.length = 0;
  };

  try {
    const faults =
      options.faults instanceof FaultInjector
        ? options.faults
        : new FaultInjector(FaultInjector.parse(options.faults ?? process.env.SECURE_TRANSCODE_FAULTS));
    const resumeFaults = faults.suspend();
    cleanups.push(resumeFaults);
    const region = LOCAL_REGION;
    // Per data directory, random, 0600: every endpoint below accepts only requests signed with these.
    const credentials = loadOrCreateCredentials(dataDir, { rotate: options.rotateCredentials ?? false });
    const auth = { credentials: { ...credentials }, region };
    const restoreBaseEnv = applyEnv({
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      // A developer's real session token or profile must never be mixed with the fake keys.
      AWS_SESSION_TOKEN: '',
      AWS_PROFILE: '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // Handlers log through Powertools (JSON on stdout); a quiet stack keeps only warnings unless told otherwise.
      ...(options.quiet && !process.env.LOG_LEVEL ? { LOG_LEVEL: 'WARN' } : {}),
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    cleanups.push(restoreBaseEnv);

    const { startS3Gateway } = await import('./s3/index.js');
    const gateway = await onPort('S3/SQS/SNS', 's3', (port) =>
      startS3Gateway({
        auth,
        port,
        dataDir,
        // Versioned like the deployment's bucket, so each upload has its own version and its own execution.
        versionedBuckets: [LOCAL_BUCKET],
        faults,
        ...(options.onS3Request ? { onS3Request: options.onS3Request } : {}),
      }),
    );
    cleanups.push(() => gateway.stop());

    const { startKmsServer } = await import('./kms/index.js');
    const kmsServer = await onPort('KMS', 'kms', (port) =>
      startKmsServer({ dataDir, auth, port, region, faults }),
    );
    cleanups.push(() => kmsServer.stop());

    const { startTranscoderServer } = await import('./transcoder/index.js');
    const transcoder = await onPort('Elastic Transcoder', 'transcoder', (port) =>
      startTranscoderServer({
        dataDir,
        port,
        region,
        s3: { endpoint: gateway.endpoint },
        kms: { endpoint: kmsServer.endpoint },
        sns: { endpoint: gateway.endpoint },
        credentials: { ...credentials },
        faults,
        ...(options.ffmpeg ? { ffmpeg: options.ffmpeg } : {}),
        ...((options.ffmpegPath ?? process.env.FFMPEG_PATH)
          ? { ffmpegPath: options.ffmpegPath ?? process.env.FFMPEG_PATH }
          : {}),
      }),
    );
    cleanups.push(() => transcoder.stop());

    const eventsFile = join(dataDir, 'events.jsonl');
    const eventBridge = await onPort('EventBridge', 'eventbridge', (port) =>
      startLocalEventBridge({ eventsFile, region, auth, buses: [EVENT_BUS_NAME], port }),
    );
    cleanups.push(() => eventBridge.stop());

    const { startMediaConvertServer } = await import('./mediaconvert/index.js');
    const mediaconvert = await onPort('MediaConvert', 'mediaconvert', (port) =>
      startMediaConvertServer({
        dataDir,
        port,
        region,
        s3: { endpoint: gateway.endpoint },
        kms: { endpoint: kmsServer.endpoint },
        eventbridge: { endpoint: eventBridge.endpoint },
        credentials: { ...credentials },
        faults,
        ...((options.ffmpegPath ?? process.env.FFMPEG_PATH)
          ? { ffmpegPath: options.ffmpegPath ?? process.env.FFMPEG_PATH }
          : {}),
      }),
    );
    cleanups.push(() => mediaconvert.stop());

    // The SDK annotates the credentials object it is given; each client gets its own copy.
    const clientConfig = () => ({ region, credentials: { ...credentials }, maxAttempts: 3 });
    const s3 = new S3Client({ ...clientConfig(), endpoint: gateway.endpoint, forcePathStyle: true });
    const sqs = new SQSClient({ ...clientConfig(), endpoint: gateway.endpoint });
    const sns = new SNSClient({ ...clientConfig(), endpoint: gateway.endpoint });
    const kms = new KMSClient({ ...clientConfig(), endpoint: kmsServer.endpoint });
    const et = new ElasticTranscoderClient({ ...clientConfig(), endpoint: transcoder.endpoint });
    cleanups.push(() => {
      for (const client of [s3, sqs, sns, kms, et]) client.destroy();
    });

    const provisioned = await provision({
      dataDir,
      bucket: LOCAL_BUCKET,
      accountId: LOCAL_ACCOUNT,
      // The deployment uses 6 × the starter's timeout; locally a failed message should come back within seconds.
      ingestVisibilitySeconds: fast ? 2 : 30,
      maxReceiveCount: 3,
      sqs,
      sns,
      kms,
      et,
    });

    const serviceEnv: Record<string, string> = {
      AWS_ENDPOINT_URL_S3: gateway.endpoint,
      AWS_ENDPOINT_URL_SQS: gateway.endpoint,
      AWS_ENDPOINT_URL_SNS: gateway.endpoint,
      AWS_ENDPOINT_URL_KMS: kmsServer.endpoint,
      AWS_ENDPOINT_URL_ELASTIC_TRANSCODER: transcoder.endpoint,
      AWS_ENDPOINT_URL_MEDIACONVERT: mediaconvert.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
      OUTPUT_BUCKET: LOCAL_BUCKET,
      ENCRYPTED_BUCKET: LOCAL_BUCKET,
      PLAYBACK_KMS_KEY_ID: provisioned.playbackKmsKeyArn,
      SOURCE_BUCKETS: LOCAL_BUCKET,
    };
    cleanups.push(applyEnv(serviceEnv));

    const { startKeyService } = await import('./playback/server.js');
    const keyService = await onPort('the key service', 'keyService', (port) =>
      startKeyService({
        dataDir: join(dataDir, 'playback'),
        port,
        faults,
        env: {
          ...serviceEnv,
          AWS_REGION: region,
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        },
      }),
    );
    cleanups.push(() => keyService.stop());

    const { startSpekeServer } = await import('./speke/index.js');
    const speke = await onPort('the SPEKE key provider', 'speke', (port) =>
      startSpekeServer({
        port,
        region,
        s3: { endpoint: gateway.endpoint },
        kms: { endpoint: kmsServer.endpoint },
        credentials: { ...credentials },
        bucket: LOCAL_BUCKET,
        assetPrefix: options.env?.ASSET_PREFIX ?? 'assets/',
        keyServiceUrl: keyService.endpoint,
      }),
    );
    cleanups.push(() => speke.stop());
    const backend = options.backend ?? 'mediaconvert';

    const { startSfnServer } = await import('./sfn/index.js');
    const serverlessPath = join(root, 'serverless.yml');
    const definitionPath = join(root, 'statemachines', 'transcode.asl.json');
    const sfnServer = await onPort('Step Functions', 'sfn', (port) =>
      startSfnServer({
        auth,
        dataDir,
        definitionPath,
        serverlessPath,
        stateMachineName: 'secure-transcode-local',
        region,
        accountId: LOCAL_ACCOUNT,
        fast,
        port,
        faults,
        resumeInterrupted: true,
      }),
    );
    cleanups.push(() => sfnServer.stop());

    const workflowEnv: Record<string, string> = {
      AWS_ENDPOINT_URL_SFN: sfnServer.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: keyService.dynamodbEndpoint,
      STATE_MACHINE_ARN: sfnServer.stateMachineArn,
      INPUT_PREFIX: 'incoming/',
      KMS_KEY_ID: provisioned.kmsKeyArn,
      PIPELINE_ID: provisioned.pipelineId,
      TRANSCODER_BACKEND: backend,
      MEDIACONVERT_ROLE_ARN: LOCAL_MEDIACONVERT_ROLE_ARN,
      MEDIACONVERT_SPEKE_URL: speke.url,
      KEY_SERVICE_URL: keyService.endpoint,
      TOPIC_ARN: provisioned.topicArn,
      EVENT_BUS_NAME,
      // Locally the notification carries the wrapped key, so the encrypted copy can be checked against openssl
      // from the notification alone (README.md, "Notification contract"); a deployment leaves it out by default.
      NOTIFY_INCLUDE_WRAPPED_KEY: 'true',
      // The local engine costs nothing to ask, so PollJob runs every second and a finished job reaches the workflow
      // within about a second; a deployment keeps its backoff (5 s doubling to 60 s), which bounds cost.
      POLL_INITIAL_SECONDS: '1',
      POLL_MAX_SECONDS: '1',
      ...options.env,
    };
    cleanups.push(applyEnv(workflowEnv));
    const env = {
      ...serviceEnv,
      ...workflowEnv,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    };

    // A data directory from before objects lived on disk holds a snapshot; its objects move into the store once,
    // before the S3 → SQS bridge is attached, so they start nothing.
    const migrated = await migrateSnapshot(s3, LOCAL_BUCKET, join(dataDir, 's3'));
    if (migrated > 0) log(`moved ${migrated} object(s) from the old S3 snapshot into s3://${LOCAL_BUCKET}`);

    const engine = sfnServer.engine;
    const keysToExecutions = new Map<string, string[]>();
    const executionListeners = new Set<(record: ExecutionRecord, event: HistoryEvent) => void>();
    const trackExecution = (record: ExecutionRecord) => {
      const key = (JSON.parse(record.input) as { source?: { key?: string } }).source?.key;
      if (!key) return;
      const arns = keysToExecutions.get(key) ?? [];
      if (!arns.includes(record.executionArn)) arns.push(record.executionArn);
      keysToExecutions.set(key, arns);
    };
    for (const record of engine.listExecutions({ stateMachineArn: engine.stateMachineArn }).reverse())
      trackExecution(record);
    const unsubscribeEngine = engine.onEvent((record, event) => {
      if (event.type === 'ExecutionStarted') trackExecution(record);
      for (const l of executionListeners) l(record, event);
    });
    cleanups.push(unsubscribeEngine);

    const exportsDir = join(dataDir, 'exports');
    const notifications: Notification[] = [];
    const exported = new Map<string, string>();
    const notificationListeners = new Set<(n: Notification) => void>();
    const notificationsFile = join(dataDir, 'notifications.jsonl');
    const sink = startNotificationSink({
      sqs,
      queueUrl: provisioned.notifications.url,
      queueArn: provisioned.notifications.arn,
      region,
      file: notificationsFile,
      onError: (e) => log(`notifications: ${(e as Error).message}`),
      onForeign: (m) =>
        log(
          `notifications: recorded a message on the topic that is not a secure-transcode notification (${m.reason})`,
        ),
      onNotification: (n) => {
        log(describeNotification(n));
        const deliver = () => {
          notifications.push(n);
          for (const l of notificationListeners) l(n);
        };
        if (n.status !== 'SUCCEEDED' || !n.playback?.assetId) return deliver();
        // Export before announcing, so whoever waits on the notification finds the files in place.
        void exportAsset(s3, LOCAL_BUCKET, exportsDir, n)
          .then((result) => {
            if (result && n.playback) exported.set(n.playback.assetId, result.dir);
          })
          .catch((e: unknown) => log(`export of ${n.playback?.assetId} failed: ${(e as Error).message}`))
          .finally(deliver);
      },
    });
    cleanups.push(() => sink.stop());

    const catalog = loadFunctionCatalog(serverlessPath);
    const starter = catalog.get('starter');
    if (!starter) throw new Error(`${serverlessPath} has no functions.starter`);
    const invoker = createLambdaInvoker({ region, accountId: LOCAL_ACCOUNT, faults });
    const ingest: SqsPoller = startSqsPoller({
      sqs,
      queueUrl: provisioned.ingest.url,
      queueArn: provisioned.ingest.arn,
      region,
      waitTimeSeconds: 2,
      invoke: (event: SQSEvent) => invoker.invoke(starter, event).result,
      onBatch: (report) => {
        if (report.error || report.failed.length > 0) {
          log(
            `ingest: ${report.failed.length} of ${report.received} message(s) failed${report.error ? ` (${report.error})` : ''}; they will be retried, then moved to the DLQ`,
          );
        }
      },
      onError: (e) => log(`ingest: ${(e as Error).message}`),
    });
    cleanups.push(() => ingest.stop());

    let bridging = true;
    cleanups.push(() => {
      bridging = false;
    });
    gateway.onObjectCreated((e: ObjectCreatedEvent) => {
      if (
        !bridging ||
        e.bucket !== LOCAL_BUCKET ||
        !e.key.startsWith(workflowEnv.INPUT_PREFIX ?? 'incoming/')
      )
        return;
      const body = JSON.stringify(toS3EventNotification(e, { region }));
      sqs
        .send(new SendMessageCommand({ QueueUrl: provisioned.ingest.url, MessageBody: body }))
        .catch((err: unknown) => {
          log(`S3 event for ${e.key} could not be queued: ${(err as Error).message}`);
        });
    });

    const { createConsole } = await import('./console/server.js');
    const consoleApp = createConsole({
      dataDir,
      definitionPath,
      schemaPath: join(root, 'schemas', 'notification.v1.schema.json'),
      notificationsFile,
      eventsFile,
      sfn: engine,
      keyService,
    });
    keyService.mount('/console', consoleApp.handle);

    const config: EndpointsJson = {
      region,
      transcoderBackend: backend,
      mediaConvertRoleArn: LOCAL_MEDIACONVERT_ROLE_ARN,
      credentials: { ...credentials },
      endpoints: {
        s3: gateway.endpoint,
        sqs: gateway.endpoint,
        sns: gateway.endpoint,
        kms: kmsServer.endpoint,
        elastictranscoder: transcoder.endpoint,
        mediaconvert: mediaconvert.endpoint,
        speke: speke.url,
        sfn: sfnServer.endpoint,
        keyService: keyService.endpoint,
        eventbridge: eventBridge.endpoint,
        dynamodb: keyService.dynamodbEndpoint,
      },
      bucket: LOCAL_BUCKET,
      inputPrefix: workflowEnv.INPUT_PREFIX ?? 'incoming/',
      queueUrl: provisioned.ingest.url,
      dlqUrl: provisioned.dlq.url,
      topicArn: provisioned.topicArn,
      pipelineId: provisioned.pipelineId,
      kmsKeyId: provisioned.kmsKeyId,
      kmsKeyArn: provisioned.kmsKeyArn,
      playbackKmsKeyArn: provisioned.playbackKmsKeyArn,
      stateMachineArn: sfnServer.stateMachineArn,
      notificationsFile,
      eventsFile,
      exportsDir,
      player: `${keyService.endpoint}/player/`,
      console: consoleApp.url,
      tokenSecretFile: keyService.secretFile,
    };
    writeFileSync(portsPath, `${JSON.stringify(chosenPorts)}\n`);
    const endpointsPath = join(dataDir, 'endpoints.json');
    // It carries the credentials: owner-only, like credentials.json.
    writePrivateFile(endpointsPath, `${JSON.stringify(config, null, 2)}\n`);
    // A stale endpoints.json would point tools at dead ports: it exists exactly while the stack runs.
    cleanups.push(() => rmSync(endpointsPath, { force: true }));

    const waitFor = <T>(
      find: () => T | undefined,
      subscribe: (check: () => void) => () => void,
      timeoutMs: number,
      what: string,
    ) =>
      new Promise<T>((resolvePromise, reject) => {
        let unsubscribe: () => void = () => undefined;
        const timer = setTimeout(() => {
          unsubscribe();
          reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        const check = () => {
          const found = find();
          if (found === undefined) return;
          clearTimeout(timer);
          unsubscribe();
          resolvePromise(found);
        };
        unsubscribe = subscribe(check);
        check();
      });

    const stack: Stack = {
      config,
      env,
      dataDir,
      definitionPath,
      faults,
      sfn: engine,
      s3,
      issueToken: (assetId) => keyService.issueToken(assetId),
      playerUrl: (assetId, token) => keyService.playerUrl(assetId, token),
      onNotification(listener) {
        notificationListeners.add(listener);
        return () => notificationListeners.delete(listener);
      },
      onExecutionEvent(listener) {
        executionListeners.add(listener);
        return () => executionListeners.delete(listener);
      },
      ffmpeg: transcoder.ffmpeg,
      onTranscodeProgress: (listener) => transcoder.onProgress(listener),
      executionsFor(key) {
        return (keysToExecutions.get(key) ?? []).map((arn) => engine.describeExecution(arn));
      },
      waitForExecutionStart(key, timeoutMs = 60_000, since = 0) {
        return waitFor(
          () =>
            (keysToExecutions.get(key) ?? []).findLast(
              (arn) => engine.describeExecution(arn).startDate >= since,
            ),
          (check) => {
            executionListeners.add(check);
            return () => executionListeners.delete(check);
          },
          timeoutMs,
          `an execution for ${key}`,
        );
      },
      async waitForExecution(key, timeoutMs = 10 * 60_000, since = 0) {
        const started = Date.now();
        const arn = await stack.waitForExecutionStart(key, timeoutMs, since);
        return engine.waitForExecution(arn, Math.max(1, timeoutMs - (Date.now() - started)));
      },
      waitForNotification(executionName, timeoutMs = 60_000) {
        return waitFor(
          () => notifications.find((n) => n.execution?.name === executionName),
          (check) => {
            notificationListeners.add(check);
            return () => notificationListeners.delete(check);
          },
          timeoutMs,
          `the notification of ${executionName}`,
        );
      },
      exportDirFor: (assetId) => exported.get(assetId),
      async stop() {
        await runCleanups();
      },
    };
    // What a killed (or stopped) stack left unfinished continues now that every service and listener is in place:
    // executions from the state they were in, and uploads whose S3 event never became an execution (the ingest
    // queue lives in memory) are announced again — the starter's execution names make a repeat a no-op.
    const resumed = engine.resumeInterrupted();
    if (resumed.length > 0) log(`resumed ${resumed.length} interrupted execution(s)`);
    const started = new Set(
      engine.listExecutions({ stateMachineArn: engine.stateMachineArn }).map((r) => {
        const source = (JSON.parse(r.input) as { source?: { key?: string; versionId?: string } }).source;
        return `${source?.key}\u0000${source?.versionId ?? ''}`;
      }),
    );
    for (const o of gateway.currentObjects(LOCAL_BUCKET, config.inputPrefix)) {
      if (!started.has(`${o.key}\u0000${o.versionId ?? ''}`)) gateway.announce(o);
    }
    resumeFaults();
    return stack;
  } catch (e) {
    await runCleanups().catch(() => undefined);
    throw e;
  }
}
