/**
 * Reading the `orders` table's stream: which records are timeline inserts,
 * and the event each one carries (the item mapping of a timeline record). The
 * filter pattern is used as is by CDK's event source mapping and by the local
 * stream pump. Processing a batch is shared/services/stream-batch.ts.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { OrderEvent } from '../domain/model';
import { eventFromItem } from './orders-items';
import { keys } from './tables';

/** A stored timeline event with what is needed to route it. */
export interface RoutedEvent {
  readonly tenant: string;
  readonly retailerId: string;
  /**
   * The order's driver once the event is stored (null: none): with `tenant`
   * and `retailerId`, who may read it. Absent only on events stored before
   * events carried it: members' rights are then not re-checked (expiry is).
   */
  readonly driverId?: string | null;
  readonly event: OrderEvent;
  /** The order room's membership epoch the event was stored under (absent: read the members). */
  readonly roomEpoch?: number;
}

/** Lambda event filter: only new timeline events wake the fan-out. */
export const TIMELINE_INSERT_FILTER = {
  eventName: ['INSERT'],
  dynamodb: { Keys: { sk: { S: [{ prefix: keys.eventPrefix }] } } },
} as const;

/** Whether a stream record is a timeline insert: `TIMELINE_INSERT_FILTER` as a predicate. */
export function isTimelineInsert(record: DynamoDBRecord): boolean {
  return record.eventName === 'INSERT' && (record.dynamodb?.Keys?.sk?.S ?? '').startsWith(keys.eventPrefix);
}

/**
 * The routed event in a timeline insert record.
 *
 * @throws Error when the record has no `NewImage` (a stream that does not carry new images).
 */
export function routedEventOf(record: DynamoDBRecord): RoutedEvent {
  const image = record.dynamodb?.NewImage;
  if (image === undefined) throw new Error('stream record has no NewImage: the stream must carry new images (NEW_IMAGE)');
  const item = unmarshall(image as Record<string, AttributeValue>);
  return {
    tenant: item.tenant as string,
    retailerId: item.retailerId as string,
    ...((typeof item.driverId === 'string' || item.driverId === null) && { driverId: item.driverId as string | null }),
    event: eventFromItem(item),
    ...(typeof item.roomEpoch === 'number' && { roomEpoch: item.roomEpoch }),
  };
}
