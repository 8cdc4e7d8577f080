/** Fresh tables in the run's DynamoDB Local, named uniquely per test file. */
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { ensureTables, LOCAL_REGION } from '../../local/dynamodb';
import { CONNECTIONS_TABLE, ORDERS_TABLE } from '../../shared/store/tables';

export interface TestTables {
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly orders: string;
  readonly connections: string;
}

export async function createTestTables(endpoint: string): Promise<TestTables> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: inject('dynamodbCredentials') });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const suffix = randomUUID().slice(0, 8);
  const orders = `orders-${suffix}`;
  const connections = `connections-${suffix}`;
  await ensureTables(client, [
    { def: ORDERS_TABLE, name: orders },
    { def: CONNECTIONS_TABLE, name: connections },
  ]);
  return { client, doc, orders, connections };
}
