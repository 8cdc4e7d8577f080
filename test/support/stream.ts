/** Stream records as the fan-out gets them, built from what DynamoDB Local stored. */
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { expect } from 'vitest';
import type { RoutedEvent } from '../../shared/services/fanout-service';
import { routedEventOf } from '../../shared/store/stream-records';
import { keys } from '../../shared/store/tables';

/** The stored timeline item of event `seq`, as DynamoDB would put it on the stream (NEW_IMAGE). */
export async function streamRecordOf(doc: DynamoDBDocumentClient, table: string, tenant: string, orderId: string, seq: number): Promise<DynamoDBRecord> {
  const res = await doc.send(new GetCommand({ TableName: table, Key: { pk: keys.order(tenant, orderId), sk: keys.event(seq) }, ConsistentRead: true }));
  expect(res.Item).toBeDefined();
  return {
    eventName: 'INSERT',
    dynamodb: {
      Keys: marshall({ pk: res.Item!.pk, sk: res.Item!.sk }) as never,
      NewImage: marshall(res.Item!, { removeUndefinedValues: true }) as never,
    },
  };
}

/** The routed event the fan-out gets for the stored event `seq`. */
export async function streamed(doc: DynamoDBDocumentClient, table: string, tenant: string, orderId: string, seq: number): Promise<RoutedEvent> {
  return routedEventOf(await streamRecordOf(doc, table, tenant, orderId, seq));
}
