/**
 * One-time (or N-time) token use, enforced by a single conditional UpdateItem: DynamoDB evaluates the condition and
 * the increment atomically per item, so under concurrent reuse exactly `maxUses` requests succeed. The same code
 * runs locally against dynalite. `expiresAt` is the table's TTL attribute; TTL deletion is only housekeeping
 * (it can lag by days), the signature's `exp` is what refuses an old token.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

export interface TokenUse {
  jti: string;
  assetId: string;
  maxUses: number;
  /** Token expiry, epoch seconds. */
  exp: number;
}

export type ConsumeResult = { consumed: true; uses: number } | { consumed: false };

export interface TokenUseStore {
  /** Counts one use; `consumed: false` when the token has already been used `maxUses` times. */
  consume(use: TokenUse): Promise<ConsumeResult>;
}

/** Items outlive the token a little so clock skew between issuer and service cannot resurrect a used token. */
const TTL_GRACE_SECONDS = 3600;

export class DynamoTokenUseStore implements TokenUseStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async consume(use: TokenUse): Promise<ConsumeResult> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { jti: { S: use.jti } },
          UpdateExpression:
            'SET expiresAt = if_not_exists(expiresAt, :ttl), assetId = if_not_exists(assetId, :asset) ADD uses :one',
          ConditionExpression: 'attribute_not_exists(uses) OR uses < :max',
          ExpressionAttributeValues: {
            ':ttl': { N: String(use.exp + TTL_GRACE_SECONDS) },
            ':asset': { S: use.assetId },
            ':one': { N: '1' },
            ':max': { N: String(use.maxUses) },
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { consumed: true, uses: Number(out.Attributes?.uses?.N ?? '1') };
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return { consumed: false };
      throw e;
    }
  }
}

/**
 * Creates the table when it is missing (local stack only; in the cloud CloudFormation owns it, with TTL enabled).
 * dynalite has no UpdateTimeToLive, and expired items are harmless there, so TTL is not switched on locally.
 */
export async function ensureTokenTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (d.Table?.TableStatus === 'ACTIVE') return;
  } catch (e) {
    if (!(e instanceof ResourceNotFoundException)) throw e;
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'jti', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'jti', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  }
  for (let i = 0; i < 100; i += 1) {
    const d = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (d.Table?.TableStatus === 'ACTIVE') return;
    await sleep(50);
  }
  throw new Error(`DynamoDB table ${tableName} did not become ACTIVE`);
}
