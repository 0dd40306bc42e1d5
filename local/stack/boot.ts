/**
 * Brings the stack's services up in the order the handlers need them: the AWS services, the SDK clients and the
 * resources serverless.yml declares, the service endpoints in the environment, then the servers that load workflow
 * code (key service, SPEKE, Step Functions) and the workflow's own environment.
 */
import { createStackClients, type StackClients } from './clients.js';
import { applyEnv, serviceEnvOf, workflowEnvOf } from './environment.js';
import { type Provisioned, provision } from './resources.js';
import {
  type ServerContext,
  type ServiceServers,
  startServiceServers,
  startWorkflowServers,
  type WorkflowServers,
} from './servers.js';
import { LOCAL_ACCOUNT, LOCAL_BUCKET } from './types.js';

export interface Booted {
  services: ServiceServers;
  workflow: WorkflowServers;
  clients: StackClients;
  provisioned: Provisioned;
  /** Every variable a handler sees (what `Stack.env` exposes). */
  env: Record<string, string>;
  inputPrefix: string;
}

export async function bootStack(ctx: ServerContext, root: string): Promise<Booted> {
  const { dataDir, region, credentials, cleanups, options } = ctx;
  const services = await startServiceServers(ctx);
  const clients = createStackClients(region, credentials, services);
  cleanups.push(() => clients.destroy());
  const provisioned = await provision({
    dataDir,
    bucket: LOCAL_BUCKET,
    accountId: LOCAL_ACCOUNT,
    // The deployment uses 6 × the starter's timeout; locally a failed message should come back within seconds.
    ingestVisibilitySeconds: options.fast ? 2 : 30,
    maxReceiveCount: 3,
    sqs: clients.sqs,
    sns: clients.sns,
    kms: clients.kms,
    et: clients.et,
  });
  const serviceEnv = serviceEnvOf(
    {
      s3: services.gateway.endpoint,
      kms: services.kms.endpoint,
      transcoder: services.transcoder.endpoint,
      mediaconvert: services.mediaconvert.endpoint,
      eventbridge: services.eventBridge.endpoint,
    },
    provisioned,
  );
  cleanups.push(applyEnv(serviceEnv));

  const workflow = await startWorkflowServers(ctx, services, serviceEnv, root);
  const { keyService, sfnServer } = workflow;
  const workflowEnv = workflowEnvOf(
    {
      sfn: sfnServer.endpoint,
      stateMachineArn: sfnServer.stateMachineArn,
      dynamodb: keyService.dynamodbEndpoint,
      keyService: keyService.endpoint,
      speke: workflow.speke.url,
    },
    provisioned,
    options.backend ?? 'mediaconvert',
    options.env,
  );
  cleanups.push(applyEnv(workflowEnv));
  const env = {
    ...serviceEnv,
    ...workflowEnv,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
  return {
    services,
    workflow,
    clients,
    provisioned,
    env,
    inputPrefix: workflowEnv.INPUT_PREFIX ?? 'incoming/',
  };
}
