/**
 * `<dataDir>/endpoints.json`: everything a tool needs to reach the running stack (the CLI, the AWS CLI profile, the
 * tests). It carries the credentials, so it is owner-only like credentials.json, and it exists exactly while the
 * stack runs: a stale one would point tools at dead ports.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TranscoderBackend } from '../../lib/config/transcoder.js';
import { type StackCredentials, writePrivateFile } from './credentials.js';
import type { Provisioned } from './resources.js';
import type { ServiceServers, WorkflowServers } from './servers.js';
import { type EndpointsJson, LOCAL_BUCKET, LOCAL_MEDIACONVERT_ROLE_ARN } from './types.js';

export interface EndpointsSources {
  region: string;
  backend: TranscoderBackend;
  credentials: StackCredentials;
  services: ServiceServers;
  workflow: WorkflowServers;
  provisioned: Provisioned;
  inputPrefix: string;
  notificationsFile: string;
  exportsDir: string;
  consoleUrl: string;
}

export function endpointsJsonOf(s: EndpointsSources): EndpointsJson {
  const { gateway, kms, transcoder, mediaconvert, eventBridge } = s.services;
  const { keyService, speke, sfnServer } = s.workflow;
  return {
    region: s.region,
    transcoderBackend: s.backend,
    mediaConvertRoleArn: LOCAL_MEDIACONVERT_ROLE_ARN,
    credentials: { ...s.credentials },
    endpoints: {
      s3: gateway.endpoint,
      sqs: gateway.endpoint,
      sns: gateway.endpoint,
      kms: kms.endpoint,
      elastictranscoder: transcoder.endpoint,
      mediaconvert: mediaconvert.endpoint,
      speke: speke.url,
      sfn: sfnServer.endpoint,
      keyService: keyService.endpoint,
      eventbridge: eventBridge.endpoint,
      dynamodb: keyService.dynamodbEndpoint,
    },
    bucket: LOCAL_BUCKET,
    inputPrefix: s.inputPrefix,
    queueUrl: s.provisioned.ingest.url,
    dlqUrl: s.provisioned.dlq.url,
    topicArn: s.provisioned.topicArn,
    pipelineId: s.provisioned.pipelineId,
    kmsKeyId: s.provisioned.kmsKeyId,
    kmsKeyArn: s.provisioned.kmsKeyArn,
    playbackKmsKeyArn: s.provisioned.playbackKmsKeyArn,
    stateMachineArn: sfnServer.stateMachineArn,
    notificationsFile: s.notificationsFile,
    eventsFile: s.services.eventsFile,
    exportsDir: s.exportsDir,
    player: `${keyService.endpoint}/player/`,
    console: s.consoleUrl,
    tokenSecretFile: keyService.secretFile,
  };
}

/** Writes the file (0600) and returns the function removing it. */
export function writeEndpointsFile(dataDir: string, config: EndpointsJson): () => void {
  const endpointsPath = join(dataDir, 'endpoints.json');
  writePrivateFile(endpointsPath, `${JSON.stringify(config, null, 2)}\n`);
  return () => rmSync(endpointsPath, { force: true });
}
