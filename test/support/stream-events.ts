/**
 * Record factories for the `orders` stream, as Lambda hands records to a
 * function (the shape of Powertools' `packages/batch/tests/helpers/factories.ts`):
 * a timeline insert, a head modify and a remove, with the items the store
 * writes (`eventToItem`, `headToItem`), so no DynamoDB is needed.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { MessageEvent, OrderHead } from '../../shared/domain/model';
import { eventToItem, headToItem } from '../../shared/store/orders-items';
import { keys } from '../../shared/store/tables';

type Image = NonNullable<NonNullable<DynamoDBRecord['dynamodb']>['NewImage']>;

const STREAM_ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/waypost-orders/stream/2024-05-01T00:00:00.000';
const AT = '2024-05-01T08:00:00.000Z';

let lastSequence = 0;

/** A new stream sequence number, larger than every one before (21 digits, as DynamoDB spells them). */
export function nextSequenceNumber(): string {
  lastSequence += 1;
  return String(lastSequence).padStart(21, '0');
}

function image(item: Record<string, unknown>): Image {
  const marshalled: Record<string, AttributeValue> = marshall(item, { removeUndefinedValues: true });
  return marshalled as Image;
}

function record(
  eventName: NonNullable<DynamoDBRecord['eventName']>,
  item: Record<string, unknown>,
  images: { newImage?: boolean; oldImage?: boolean },
  sequenceNumber: string,
): DynamoDBRecord {
  return {
    eventID: `evt-${sequenceNumber}`,
    eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    eventSourceARN: STREAM_ARN,
    dynamodb: {
      ApproximateCreationDateTime: Math.floor(Date.parse(AT) / 1000),
      Keys: image({ pk: item.pk, sk: item.sk }),
      ...(images.newImage === true && { NewImage: image(item) }),
      ...(images.oldImage === true && { OldImage: image(item) }),
      SequenceNumber: sequenceNumber,
      SizeBytes: JSON.stringify(item).length,
      StreamViewType: 'NEW_IMAGE',
    },
  };
}

export interface TimelineInsertOptions {
  readonly tenant?: string;
  readonly orderId?: string;
  /** The event's seq (default 1). */
  readonly seq?: number;
  readonly retailerId?: string;
  readonly driverId?: string;
  readonly roomEpoch?: number;
  readonly sequenceNumber?: string;
}

/** The INSERT of a timeline item `E#<seq>` carrying a chat message, as the store writes it. */
export function timelineInsert(options: TimelineInsertOptions = {}): DynamoDBRecord {
  const { tenant = 'acme', orderId = 'ord-1', seq = 1, retailerId = 'ret-A', roomEpoch = 0 } = options;
  const event: MessageEvent = {
    orderId,
    seq,
    at: AT,
    actor: { sub: 'disp-1', role: 'dispatcher' },
    kind: 'message',
    messageId: `${orderId}-m${seq}`,
    text: `message ${seq}`,
  };
  const item = eventToItem({ tenant, retailerId, ...(options.driverId !== undefined && { driverId: options.driverId }) }, event, roomEpoch);
  return record('INSERT', item, { newImage: true }, options.sequenceNumber ?? nextSequenceNumber());
}

/** The MODIFY of an order head (`HEAD`), as a checkpoint's transaction writes it. */
export function headModify(head: Partial<OrderHead> & { tenant?: string; orderId?: string } = {}, sequenceNumber = nextSequenceNumber()): DynamoDBRecord {
  const full: OrderHead = {
    tenant: 'acme',
    orderId: 'ord-1',
    retailerId: 'ret-A',
    status: 'picked_up',
    statusSince: AT,
    headSeq: 3,
    recipient: { name: 'Ada Lovelace' },
    destination: { address: '1 Main St' },
    createdAt: AT,
    updatedAt: AT,
    createDigest: 'digest',
    readMarks: {},
    ...head,
  };
  return record('MODIFY', headToItem(full), { newImage: true }, sequenceNumber);
}

/** The REMOVE of an order's idempotency key item (`ID#<eventId>`): keys only, no new image. */
export function orderRemove(options: { tenant?: string; orderId?: string; eventId?: string; sequenceNumber?: string } = {}): DynamoDBRecord {
  const { tenant = 'acme', orderId = 'ord-1', eventId = 'evt-1' } = options;
  const item = { pk: keys.order(tenant, orderId), sk: keys.idempotency(eventId) };
  return record('REMOVE', item, {}, options.sequenceNumber ?? nextSequenceNumber());
}

/** A stream event, as Lambda invokes a function with a batch. */
export function streamEvent(records: readonly DynamoDBRecord[]): DynamoDBStreamEvent {
  return { Records: [...records] };
}

/** The sequence numbers of records, in the order given (what `batchItemFailures` reports). */
export function sequenceNumbersOf(records: readonly DynamoDBRecord[]): string[] {
  return records.map((r) => r.dynamodb?.SequenceNumber ?? '');
}
