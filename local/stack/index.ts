/**
 * The embedded local stack: every service the workflow talks to, on 127.0.0.1 free ports, with the same ASL and the
 * same handler modules as the deployment. Handlers reach the servers through the SDK's own `AWS_ENDPOINT_URL_*`
 * variables, which is why this module sets process.env before any handler loads — and why one process runs at most
 * one stack (SDK clients resolve their endpoint once, on first use).
 *
 * `startStack` composes the modules beside it: ports (`ports.ts`), environment (`environment.ts`), servers and the
 * console (`servers.ts`), provisioning (`clients.ts`, `resources.ts`; all three in order in `boot.ts`), execution tracking
 * (`executions.ts`), the notification inbox (`inbox.ts`), the S3 → SQS → starter path (`ingest.ts`) and
 * `endpoints.json` (`endpoints-file.ts`).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaultInjector } from '../faults.js';
import { openPrivateDataDir, ownerOnlyUmask } from '../private-dir.js';
import { type Booted, bootStack } from './boot.js';
import { Cleanups } from './cleanups.js';
import { credentialsIn } from './credentials.js';
import { endpointsJsonOf, writeEndpointsFile } from './endpoints-file.js';
import { applyBaseEnv } from './environment.js';
import { type ExecutionTracker, trackExecutions } from './executions.js';
import { type NotificationInbox, openNotificationInbox } from './inbox.js';
import { resumeUnfinished, startIngest } from './ingest.js';
import { acquireLock } from './lock.js';
import { planPorts } from './ports.js';
import { type ServerContext, startConsole } from './servers.js';
import { type EndpointsJson, LOCAL_REGION, type Stack, type StackOptions } from './types.js';

export { UnsafeDataDirError } from '../private-dir.js';
export {
  credentialsIn,
  LOCAL_REGION_NAME,
  loadOrCreateCredentials,
  type StackCredentials,
} from './credentials.js';
export { readLock, StackAlreadyRunningError } from './lock.js';
export type { Notification } from './notifications.js';
export { PortInUseError } from './ports.js';
export * from './types.js';
export { uploadFile } from './upload.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function faultsOf(options: StackOptions): FaultInjector {
  return options.faults instanceof FaultInjector
    ? options.faults
    : new FaultInjector(FaultInjector.parse(options.faults ?? process.env.SECURE_TRANSCODE_FAULTS));
}

function stackHandle(parts: {
  config: EndpointsJson;
  ctx: ServerContext;
  booted: Booted;
  executions: ExecutionTracker;
  inbox: NotificationInbox;
}): Stack {
  const { config, ctx, booted, executions, inbox } = parts;
  const { keyService, sfnServer, definitionPath } = booted.workflow;
  const { transcoder, mediaconvert } = booted.services;
  return {
    config,
    env: booted.env,
    dataDir: ctx.dataDir,
    definitionPath,
    faults: ctx.faults,
    sfn: sfnServer.engine,
    s3: booted.clients.s3,
    issueToken: (assetId) => keyService.issueToken(assetId),
    playerUrl: (assetId, token) => keyService.playerUrl(assetId, token),
    onNotification: inbox.onNotification,
    onExecutionEvent: executions.onExecutionEvent,
    ffmpeg: transcoder.ffmpeg,
    // Both local transcoders run whatever the backend; only the workflow's jobs report, through either.
    onTranscodeProgress: (listener) => {
      const unsubscribers = [transcoder.onProgress(listener), mediaconvert.onProgress(listener)];
      return () => {
        for (const unsubscribe of unsubscribers) unsubscribe();
      };
    },
    executionsFor: executions.executionsFor,
    waitForExecutionStart: executions.waitForExecutionStart,
    waitForExecution: executions.waitForExecution,
    waitForNotification: inbox.waitForNotification,
    exportDirFor: inbox.exportDirFor,
    stop: () => ctx.cleanups.run(),
  };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  // Refused before anything in it is read when another user could have prepared it; its real path from here on.
  const dataDir = openPrivateDataDir(options.dataDir);
  const root = options.root ?? REPO_ROOT;
  const log = options.quiet ? () => undefined : (options.log ?? ((line: string) => console.log(line)));
  const cleanups = new Cleanups();
  cleanups.push(ownerOnlyUmask());
  cleanups.push(acquireLock(dataDir));
  const ports = planPorts(dataDir, options.ports ?? {});
  try {
    const faults = faultsOf(options);
    const resumeFaults = faults.suspend();
    cleanups.push(resumeFaults);
    const region = LOCAL_REGION;
    // Per data directory, random, 0600: every endpoint below accepts only requests signed with these.
    const credentials = credentialsIn(dataDir, { rotate: options.rotateCredentials ?? false });
    cleanups.push(applyBaseEnv(region, credentials, options.quiet ?? false));
    const auth = { credentials: { ...credentials }, region };
    const ctx: ServerContext = {
      dataDir,
      region,
      auth,
      credentials,
      faults,
      onPort: ports.onPort,
      cleanups,
      options,
    };
    const booted = await bootStack(ctx, root);
    const { services, workflow, clients, inputPrefix } = booted;

    const engine = workflow.sfnServer.engine;
    const executions = trackExecutions(engine);
    cleanups.push(() => executions.stop());
    const { sqs, s3 } = clients;
    const inbox = openNotificationInbox({
      dataDir,
      region,
      sqs,
      s3,
      queue: booted.provisioned.notifications,
      log,
    });
    cleanups.push(() => inbox.stop());
    startIngest({
      sqs,
      queue: booted.provisioned.ingest,
      region,
      faults,
      serverlessPath: workflow.serverlessPath,
      gateway: services.gateway,
      inputPrefix,
      log,
      cleanups,
    });
    const consoleUrl = await startConsole(ctx, booted, inbox.notificationsFile, root);

    const config = endpointsJsonOf({
      ...booted,
      region,
      backend: options.backend ?? 'mediaconvert',
      credentials,
      notificationsFile: inbox.notificationsFile,
      exportsDir: inbox.exportsDir,
      consoleUrl,
    });
    ports.save();
    cleanups.push(writeEndpointsFile(dataDir, config));
    const stack = stackHandle({ config, ctx, booted, executions, inbox });
    resumeUnfinished(engine, services.gateway, inputPrefix, log);
    resumeFaults();
    return stack;
  } catch (e) {
    await cleanups.run().catch(() => undefined);
    throw e;
  }
}
