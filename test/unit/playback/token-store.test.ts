import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoTokenUseStore } from '../../../lib/playback/token-store.js';

const ddbMock = mockClient(DynamoDBClient);
const store = new DynamoTokenUseStore(new DynamoDBClient({ region: 'eu-west-1' }), 'playback-tokens');
const use = { jti: 'jti-0123456789abcdef', assetId: 'a1', maxUses: 3, exp: 1_900_000_000 };

describe('DynamoTokenUseStore', () => {
  beforeEach(() => {
    ddbMock.reset();
  });

  it('counts a use with one conditional write that sets the TTL attribute', async () => {
    // Prepare
    ddbMock.on(UpdateItemCommand).resolves({ Attributes: { uses: { N: '2' } } });

    // Act
    const result = await store.consume(use);

    // Assess
    expect(result).toEqual({ consumed: true, uses: 2 });
    expect(ddbMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'playback-tokens',
      Key: { jti: { S: use.jti } },
      UpdateExpression: expect.stringMatching(
        /SET expiresAt = if_not_exists\(expiresAt, :ttl\).*ADD uses :one/,
      ),
      ConditionExpression: 'attribute_not_exists(uses) OR uses < :max',
      ExpressionAttributeValues: expect.objectContaining({
        ':max': { N: '3' },
        ':one': { N: '1' },
        ':ttl': { N: String(use.exp + 3600) },
      }),
    });
  });

  it('reports a used-up token when the condition fails', async () => {
    ddbMock
      .on(UpdateItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));

    await expect(store.consume(use)).resolves.toEqual({ consumed: false });
  });

  it('lets other DynamoDB errors through', async () => {
    ddbMock
      .on(UpdateItemCommand)
      .rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));

    await expect(store.consume(use)).rejects.toThrow('throttled');
  });
});
