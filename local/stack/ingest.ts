/**
 * The path from an upload to the starter, as the deployment wires it: the gateway's ObjectCreated events under the
 * input prefix become S3 event notifications on the ingest queue, and the queue is polled into the starter function
 * (from serverless.yml) with partial-batch failures retried and then moved to the DLQ.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import type { FaultInjector } from '../faults.js';
import { createLambdaInvoker, loadFunctionCatalog, startSqsPoller } from '../lambda/index.js';
import type { ObjectCreatedEvent } from '../s3/index.js';
import type { LocalStepFunctions } from '../sfn/index.js';
import type { Cleanups } from './cleanups.js';
import type { QueueRef } from './resources.js';
import { toS3EventNotification } from './s3-events.js';
import type { ServiceServers } from './servers.js';
import { LOCAL_ACCOUNT, LOCAL_BUCKET } from './types.js';

type Gateway = ServiceServers['gateway'];

export interface IngestOptions {
  sqs: SQSClient;
  queue: QueueRef;
  region: string;
  faults: FaultInjector;
  serverlessPath: string;
  gateway: Pick<Gateway, 'onObjectCreated'>;
  inputPrefix: string;
  log: (line: string) => void;
  cleanups: Cleanups;
}

/** Polls the ingest queue into the starter and bridges uploads onto the queue; stops are registered in `cleanups`. */
export function startIngest(options: IngestOptions): void {
  const { sqs, queue, region, log, cleanups } = options;
  const catalog = loadFunctionCatalog(options.serverlessPath);
  const starter = catalog.get('starter');
  if (!starter) throw new Error(`${options.serverlessPath} has no functions.starter`);
  const invoker = createLambdaInvoker({ region, accountId: LOCAL_ACCOUNT, faults: options.faults });
  const ingest = startSqsPoller({
    sqs,
    queueUrl: queue.url,
    queueArn: queue.arn,
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
  options.gateway.onObjectCreated((e: ObjectCreatedEvent) => {
    if (!bridging || e.bucket !== LOCAL_BUCKET || !e.key.startsWith(options.inputPrefix)) return;
    const body = JSON.stringify(toS3EventNotification(e, { region }));
    sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: body })).catch((err: unknown) => {
      log(`S3 event for ${e.key} could not be queued: ${(err as Error).message}`);
    });
  });
}

/**
 * What a killed (or stopped) stack left unfinished continues once every service and listener is in place: executions
 * from the state they were in, and uploads whose S3 event never became an execution are announced again (the ingest
 * queue persists, but a kill can fall between an object's commit and its event reaching the queue) — the starter's
 * execution names make a repeat a no-op.
 */
export function resumeUnfinished(
  engine: LocalStepFunctions,
  gateway: Pick<Gateway, 'currentObjects' | 'announce'>,
  inputPrefix: string,
  log: (line: string) => void,
): void {
  const resumed = engine.resumeInterrupted();
  if (resumed.length > 0) log(`resumed ${resumed.length} interrupted execution(s)`);
  const started = new Set(
    engine.listExecutions({ stateMachineArn: engine.stateMachineArn }).map((r) => {
      const source = (JSON.parse(r.input) as { source?: { key?: string; versionId?: string } }).source;
      return `${source?.key}\u0000${source?.versionId ?? ''}`;
    }),
  );
  for (const o of gateway.currentObjects(LOCAL_BUCKET, inputPrefix)) {
    if (!started.has(`${o.key}\u0000${o.versionId ?? ''}`)) gateway.announce(o);
  }
}
