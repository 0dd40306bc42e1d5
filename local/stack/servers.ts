/**
 * Boots the local servers, in two phases: the AWS services (S3/SQS/SNS, KMS, Elastic Transcoder, EventBridge,
 * MediaConvert), then, once the resources exist and the service endpoints are in the environment, the servers that
 * load workflow code (the key service, the SPEKE key provider, Step Functions), and the console on the key service's
 * server. Server modules load on first use, after the environment they read is in place. Each server's stop is registered as soon as it is up.
 */
import { join } from 'node:path';
import { type LocalEventBridge, startLocalEventBridge } from '../eventbridge/index.js';
import type { FaultInjector } from '../faults.js';
import type { LocalAuth } from '../http/index.js';
import type { Cleanups } from './cleanups.js';
import type { StackCredentials } from './credentials.js';
import type { OnPort } from './ports.js';
import { EVENT_BUS_NAME, LOCAL_ACCOUNT, LOCAL_BUCKET, type StackOptions } from './types.js';

type Started<M, K extends keyof M> = M[K] extends (...args: never[]) => Promise<infer T> ? T : never;
type S3Gateway = Started<typeof import('../s3/index.js'), 'startS3Gateway'>;
type KmsServer = Started<typeof import('../kms/index.js'), 'startKmsServer'>;
type TranscoderServer = Started<typeof import('../elastictranscoder/index.js'), 'startTranscoderServer'>;
type MediaConvertServer = Started<typeof import('../mediaconvert/index.js'), 'startMediaConvertServer'>;
type KeyService = Started<typeof import('../playback/index.js'), 'startKeyService'>;
type SpekeServer = Started<typeof import('../speke/index.js'), 'startSpekeServer'>;
type SfnServer = Started<typeof import('../sfn/index.js'), 'startSfnServer'>;

export interface ServerContext {
  dataDir: string;
  region: string;
  auth: LocalAuth;
  credentials: StackCredentials;
  faults: FaultInjector;
  onPort: OnPort;
  cleanups: Cleanups;
  options: StackOptions;
}

export interface ServiceServers {
  gateway: S3Gateway;
  kms: KmsServer;
  transcoder: TranscoderServer;
  eventBridge: LocalEventBridge;
  mediaconvert: MediaConvertServer;
  eventsFile: string;
}

function ffmpegPathOption(options: StackOptions): { ffmpegPath?: string } {
  const ffmpegPath = options.ffmpegPath ?? process.env.FFMPEG_PATH;
  return ffmpegPath ? { ffmpegPath } : {};
}

export async function startServiceServers(ctx: ServerContext): Promise<ServiceServers> {
  const { dataDir, region, auth, credentials, faults, onPort, cleanups, options } = ctx;
  const { startS3Gateway } = await import('../s3/index.js');
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

  const { startKmsServer } = await import('../kms/index.js');
  const kms = await onPort('KMS', 'kms', (port) => startKmsServer({ dataDir, auth, port, region, faults }));
  cleanups.push(() => kms.stop());

  const { startTranscoderServer } = await import('../elastictranscoder/index.js');
  const transcoder = await onPort('Elastic Transcoder', 'transcoder', (port) =>
    startTranscoderServer({
      dataDir,
      port,
      region,
      s3: { endpoint: gateway.endpoint },
      kms: { endpoint: kms.endpoint },
      sns: { endpoint: gateway.endpoint },
      credentials: { ...credentials },
      faults,
      ...(options.ffmpeg ? { ffmpeg: options.ffmpeg } : {}),
      ...ffmpegPathOption(options),
    }),
  );
  cleanups.push(() => transcoder.stop());

  const eventsFile = join(dataDir, 'events.jsonl');
  const eventBridge = await onPort('EventBridge', 'eventbridge', (port) =>
    startLocalEventBridge({ eventsFile, region, auth, buses: [EVENT_BUS_NAME], port }),
  );
  cleanups.push(() => eventBridge.stop());

  const { startMediaConvertServer } = await import('../mediaconvert/index.js');
  const mediaconvert = await onPort('MediaConvert', 'mediaconvert', (port) =>
    startMediaConvertServer({
      dataDir,
      port,
      region,
      s3: { endpoint: gateway.endpoint },
      kms: { endpoint: kms.endpoint },
      eventbridge: { endpoint: eventBridge.endpoint },
      credentials: { ...credentials },
      faults,
      // The binary the Elastic Transcoder chose, which the CLI reports: both backends run the same ffmpeg.
      ffmpeg: transcoder.ffmpeg,
    }),
  );
  cleanups.push(() => mediaconvert.stop());
  return { gateway, kms, transcoder, eventBridge, mediaconvert, eventsFile };
}

export interface WorkflowServers {
  keyService: KeyService;
  speke: SpekeServer;
  sfnServer: SfnServer;
  definitionPath: string;
  serverlessPath: string;
}

function requiredEnv(env: Record<string, string>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`The stack's service environment has no ${name}`);
  return value;
}

export async function startWorkflowServers(
  ctx: ServerContext,
  services: ServiceServers,
  serviceEnv: Record<string, string>,
  root: string,
): Promise<WorkflowServers> {
  const { dataDir, region, auth, credentials, faults, onPort, cleanups, options } = ctx;
  const { startKeyService } = await import('../playback/index.js');
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

  const { startSpekeServer } = await import('../speke/index.js');
  const speke = await onPort('the SPEKE key provider', 'speke', (port) =>
    startSpekeServer({
      port,
      region,
      s3: { endpoint: services.gateway.endpoint },
      kms: { endpoint: services.kms.endpoint },
      credentials: { ...credentials },
      bucket: LOCAL_BUCKET,
      assetPrefix: options.env?.ASSET_PREFIX ?? 'assets/',
      keyServiceUrl: keyService.endpoint,
      playbackKmsKeyId: requiredEnv(serviceEnv, 'PLAYBACK_KMS_KEY_ID'),
    }),
  );
  cleanups.push(() => speke.stop());

  const { startSfnServer } = await import('../sfn/index.js');
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
      fast: options.fast ?? false,
      port,
      faults,
      resumeInterrupted: true,
    }),
  );
  cleanups.push(() => sfnServer.stop());
  return { keyService, speke, sfnServer, definitionPath, serverlessPath };
}

/** The console, mounted under `/console` on the key service's server; returns its URL. */
export async function startConsole(
  ctx: ServerContext,
  servers: { services: ServiceServers; workflow: WorkflowServers },
  notificationsFile: string,
  root: string,
): Promise<string> {
  const { keyService, sfnServer, definitionPath } = servers.workflow;
  const { mountConsole } = await import('../console/index.js');
  return mountConsole({
    dataDir: ctx.dataDir,
    definitionPath,
    schemaPath: join(root, 'schemas', 'notification.v1.schema.json'),
    notificationsFile,
    eventsFile: servers.services.eventsFile,
    sfn: sfnServer.engine,
    keyService,
  });
}
