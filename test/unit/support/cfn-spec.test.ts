import { describe, expect, it } from '@jest/globals';
import { validateAgainstSpec } from '../../support/cfn-spec.js';

describe('validateAgainstSpec', () => {
  it('accepts a conforming template, intrinsic functions included', async () => {
    // Act
    const problems = await validateAgainstSpec({
      Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 30 } },
      Bucket: {
        Type: 'AWS::S3::Bucket',
        Properties: {
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { Ref: 'Key' } } },
            ],
          },
        },
      },
      Oac: {
        Type: 'AWS::CloudFront::OriginAccessControl',
        Properties: { OriginAccessControlConfig: { 'Fn::If': ['c', {}, {}] } },
      },
    });
    // Assess
    expect(problems).toEqual([]);
  });

  it('reports unknown types, unknown properties at any depth and missing required properties', async () => {
    // Act
    const problems = await validateAgainstSpec({
      Nope: { Type: 'AWS::NoSuch::Thing', Properties: {} },
      Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeOut: 30 } },
      Bucket: {
        Type: 'AWS::S3::Bucket',
        Properties: {
          BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: {} }] },
        },
      },
      Method: { Type: 'AWS::ApiGateway::Method', Properties: { HttpMethod: 'POST', RestApiId: 'x' } },
    });
    // Assess
    expect(problems).toEqual([
      'Nope: unknown resource type AWS::NoSuch::Thing',
      'Queue.VisibilityTimeOut: unknown property',
      'Bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm: required property missing',
      'Method.ResourceId: required property missing',
    ]);
  });
});
