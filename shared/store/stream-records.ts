/**
 * Reading the `orders` table's stream: which records are timeline inserts,
 * and the event each one carries. The filter pattern is used as is by CDK's
 * event source mapping and by the local stream pump.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { RoutedEvent } from '../services/fanout-service';
import { eventFromItem } from './dynamo-order-store';
import { keys } from './tables';

/** Lambda event filter: only new timeline events wake the fan-out. */
export const TIMELINE_INSERT_FILTER = {
  eventName: ['INSERT'],
  dynamodb: { Keys: { sk: { S: [{ prefix: keys.eventPrefix }] } } },
} as const;

export function isTimelineInsert(record: DynamoDBRecord): boolean {
  return record.eventName === 'INSERT' && (record.dynamodb?.Keys?.sk?.S ?? '').startsWith(keys.eventPrefix);
}

/** The routed event in a timeline insert record. */
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

export interface BatchItemFailure {
  readonly itemIdentifier: string;
}

/**
 * Deliver a batch of stream records, keeping each order's events in order:
 * orders proceed side by side, each order's records one after another. When a
 * record fails, it and every later record of the same order are reported as
 * failures (never sent out of order); other orders go on.
 */
export async function processStreamBatch(
  records: readonly DynamoDBRecord[],
  deliver: (event: RoutedEvent) => Promise<unknown>,
  onError: (record: DynamoDBRecord, err: unknown) => void,
  concurrency = 16,
): Promise<{ batchItemFailures: BatchItemFailure[] }> {
  const groups = new Map<string, DynamoDBRecord[]>();
  for (const record of records) {
    if (!isTimelineInsert(record)) continue;
    const pk = record.dynamodb?.Keys?.pk?.S ?? '';
    const group = groups.get(pk);
    if (group) group.push(record);
    else groups.set(pk, [record]);
  }
  const failed = new Set<DynamoDBRecord>();
  const queue = [...groups.values()];
  const worker = async () => {
    for (let group = queue.shift(); group !== undefined; group = queue.shift()) {
      for (let i = 0; i < group.length; i++) {
        const record = group[i]!;
        try {
          await deliver(routedEventOf(record));
        } catch (err) {
          onError(record, err);
          for (const rest of group.slice(i)) failed.add(rest);
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  // Reported in stream order: Lambda resumes from the lowest.
  const batchItemFailures = records
    .filter((r) => failed.has(r))
    .map((r) => ({ itemIdentifier: r.dynamodb?.SequenceNumber ?? '' }));
  return { batchItemFailures };
}
