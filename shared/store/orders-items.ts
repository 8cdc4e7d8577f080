/**
 * The items of the `orders` table and their mappers, in one place: the order
 * head (`HEAD`), a timeline event (`E#<seq>`), an idempotency key
 * (`ID#<id>`), an alert (`A#<alertId>` / `ALERT`) and an SMS outbox item of
 * an alert. Plain functions, no client: the order store, the alert store and
 * the stream consumer all read and write these shapes through here. Keys are
 * spelled in `tables.ts`.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { OrderEvent, OrderHead } from '../domain/model';
import { checkpointOutcome, withReadMark, type HeadChange, type SmsOutboxEntry } from '../domain/orders';
import type { OrderAccess } from '../domain/permissions';
import { dueShardOf, type Alert } from '../domain/sla';
import { dict } from '../domain/user-keys';
import type { IdempotencyKey } from './order-store';
import { keys } from './tables';
import type { AttributePath, UpdateSpec } from './update-expression';

/** An item as the DocumentClient reads and writes it. */
export type Item = Record<string, unknown>;

// ---------------------------------------------------------------- head

const HEAD_FIELDS = [
  'tenant',
  'orderId',
  'retailerId',
  'driverId',
  'status',
  'statusSince',
  'statusOccurredAt',
  'headSeq',
  'recipient',
  'destination',
  'promisedBy',
  'createdAt',
  'updatedAt',
  'pickedUpAt',
  'createDigest',
  'readMarks',
  'lastLocation',
  'openAlertId',
  'alertLevel',
  'dueAt',
] as const satisfies readonly (keyof OrderHead)[];

/**
 * The head in a stored head item. `readMarks` (keyed by sub, so by users)
 * becomes a prototype-less object (`dict`): every sub is an own key.
 */
export function headFromItem(item: Item): OrderHead {
  const head: Item = {};
  for (const f of HEAD_FIELDS) if (item[f] !== undefined) head[f] = item[f];
  head.readMarks = dict(Object.entries((item.readMarks ?? {}) as Record<string, number>));
  return head as unknown as OrderHead;
}

/**
 * A head item as DynamoDB returned it (`AttributeValue`s), unmarshalled so
 * that user-keyed maps keep every key. util-dynamodb's `unmarshall` (what the
 * DocumentClient applies to every answer) builds a map by assignment, which
 * silently drops a key named `__proto__`: a reader whose sub is `__proto__`
 * would lose their read mark on every read. So heads are read with the
 * low-level commands (the SDK's own deserializer keeps `__proto__` as an own
 * key) and `readMarks` is built here, by own property, into a `dict`.
 */
export function headItemFromAttributes(raw: Record<string, AttributeValue>): Item {
  const { readMarks, ...rest } = raw;
  const item: Item = unmarshall(rest);
  if (readMarks?.M !== undefined) {
    item.readMarks = dict(
      Object.entries(readMarks.M).flatMap(([sub, v]): [string, number][] => (v.N === undefined ? [] : [[sub, Number(v.N)]])),
    );
  }
  return item;
}

/**
 * The stored form of a head. A head is written whole only when its order is
 * created, with no read marks yet; a read mark is written by path
 * (`SET readMarks.#reader`, `headChangeUpdate`), never by marshalling the
 * map: util-dynamodb's `marshall` drops a `__proto__` key and refuses an
 * object whose own `constructor` key is not a function.
 */
export function headToItem(head: OrderHead): Item {
  return {
    pk: keys.order(head.tenant, head.orderId),
    sk: keys.head,
    ...head,
    gsiTenant: keys.tenantIndex(head.tenant),
    gsiRetailer: keys.retailerIndex(head.tenant, head.retailerId),
    ...(head.driverId !== undefined && { gsiDriver: keys.driverIndex(head.tenant, head.driverId) }),
    ...(head.dueAt !== undefined && { dueShard: dueShardOf(head.tenant, head.orderId) }),
    gsiCreated: `${head.createdAt}#${head.orderId}`,
  };
}

/** The room's membership epoch kept on a head item (0 when never moved). */
export function roomEpochOf(item: Item): number {
  return typeof item.roomEpoch === 'number' ? item.roomEpoch : 0;
}

/**
 * The `SET`/`REMOVE` of a head moving to `seq` with `change` (the caller adds
 * its condition): `headSeq` and `updatedAt` always; each field the change
 * names; `driverId` with its listing index key; a read mark by path (the sub
 * is a name placeholder, never marshalled as a map key); `dueAt` with its
 * due-index shard; `null` removes `dueAt` (and its shard), `openAlertId`,
 * `alertLevel`. Must agree with `applyChange`, which computes the same head
 * in memory.
 */
export function headChangeUpdate(change: HeadChange, seq: number, at: string, tenant: string, orderId: string): Pick<UpdateSpec, 'set' | 'remove'> {
  const set: [AttributePath, unknown][] = [
    ['headSeq', seq],
    ['updatedAt', at],
  ];
  const remove: string[] = [];
  if (change.status !== undefined) set.push(['status', change.status]);
  if (change.statusSince !== undefined) set.push(['statusSince', change.statusSince]);
  if (change.statusOccurredAt !== undefined) set.push(['statusOccurredAt', change.statusOccurredAt]);
  if (change.pickedUpAt !== undefined) set.push(['pickedUpAt', change.pickedUpAt]);
  if (change.lastLocation !== undefined) set.push(['lastLocation', change.lastLocation]);
  if (change.driverId !== undefined) set.push(['driverId', change.driverId], ['gsiDriver', keys.driverIndex(tenant, change.driverId)]);
  if (change.readMark !== undefined) set.push([['readMarks', change.readMark.sub], change.readMark.seq]);
  if (change.dueAt === null) remove.push('dueAt', 'dueShard');
  else if (change.dueAt !== undefined) set.push(['dueAt', change.dueAt], ['dueShard', dueShardOf(tenant, orderId)]);
  if (change.openAlertId === null) remove.push('openAlertId');
  else if (change.openAlertId !== undefined) set.push(['openAlertId', change.openAlertId]);
  if (change.alertLevel === null) remove.push('alertLevel');
  else if (change.alertLevel !== undefined) set.push(['alertLevel', change.alertLevel]);
  return { set, remove };
}

/**
 * The head as it is after `change`, without reading it back: the plain
 * fields (`status`, `statusSince`, `statusOccurredAt`, `pickedUpAt`,
 * `lastLocation`, `driverId`) are copied as they are, the read mark is
 * merged, and `null` removes `dueAt`, `openAlertId`, `alertLevel`. Must agree
 * with `headChangeUpdate`, which writes the same change.
 */
export function applyChange(head: OrderHead, change: HeadChange, seq: number, at: string): OrderHead {
  const { readMark, dueAt, openAlertId, alertLevel, ...fields } = change;
  const next: Record<string, unknown> = {
    ...head,
    ...fields,
    headSeq: seq,
    updatedAt: at,
    readMarks: readMark ? withReadMark(head.readMarks, readMark.sub, readMark.seq) : head.readMarks,
  };
  for (const [name, value] of [
    ['dueAt', dueAt],
    ['openAlertId', openAlertId],
    ['alertLevel', alertLevel],
  ] as const) {
    if (value === null) delete next[name];
    else if (value !== undefined) next[name] = value;
  }
  return next as unknown as OrderHead;
}

// ---------------------------------------------------------------- timeline event and idempotency key

/**
 * The stored form of a timeline event: routing attributes beside the event as
 * pushed. `tenant`, `retailerId` and `driverId` are the order's as of this
 * event (after it, for an assignment; `driverId` null while none): what the
 * right to read it rests on, so the fan-out re-checks each member's right on
 * every push without reading the head. `roomEpoch` is the order room's
 * membership epoch when the event was written (see `bumpRoomEpoch`): the
 * fan-out may reuse a member list read at that epoch.
 */
export function eventToItem(order: OrderAccess, event: OrderEvent, roomEpoch: number): Item {
  return {
    pk: keys.order(order.tenant, event.orderId),
    sk: keys.event(event.seq),
    tenant: order.tenant,
    retailerId: order.retailerId,
    driverId: order.driverId ?? null,
    kind: event.kind,
    roomEpoch,
    event,
  };
}

/** The event in a stored timeline item (or a stream record's new image). */
export function eventFromItem(item: Item): OrderEvent {
  return item.event as OrderEvent;
}

/**
 * The stored form of an idempotency key (`ID#<id>` beside the event it
 * stored): the kind and digest of the request that used it (`judgeReplay`
 * compares them), the event's seq, time and author, and for a checkpoint
 * what its ack said (`status`, `applied`), so a replay acks the same.
 */
export function idempotencyKeyToItem(tenant: string, orderId: string, key: IdempotencyKey, event: OrderEvent): Item {
  return {
    pk: keys.order(tenant, orderId),
    sk: keys.idempotency(key.id),
    kind: key.kind,
    digest: key.digest,
    seq: event.seq,
    at: event.at,
    by: event.actor.sub,
    ...(event.kind === 'checkpoint' && checkpointOutcome(event)),
  };
}

// ---------------------------------------------------------------- alert and SMS outbox

/** The stored form of an alert: keyed by its id, listed by state. */
export function alertToItem(alert: Alert): Item {
  return {
    pk: keys.alert(alert.tenant, alert.alertId),
    sk: keys.alertItem,
    ...alert,
    gsiAlertState: keys.alertState(alert.tenant, alert.state),
    gsiOpened: `${alert.openedAt}#${alert.alertId}`,
  };
}

const ALERT_FIELDS = [
  'alertId',
  'tenant',
  'orderId',
  'retailerId',
  'status',
  'statusSince',
  'state',
  'level',
  'openedAt',
  'acknowledgedAt',
  'acknowledgedBy',
  'resolvedAt',
  'escalation',
] as const satisfies readonly (keyof Alert)[];

/** The alert in a stored alert item (index attributes left out). */
export function alertFromItem(item: Item): Alert {
  const alert: Item = {};
  for (const f of ALERT_FIELDS) if (item[f] !== undefined) alert[f] = item[f];
  return alert as unknown as Alert;
}

/** One SMS of a fired level, as its outbox item holds it (`SMS#<level>#<index>` under the alert). */
export interface OutboxItem {
  readonly alertId: string;
  readonly orderId: string;
  readonly level: number;
  readonly index: number;
  /** The phone number: never logged. */
  readonly to: string;
  readonly text: string;
  readonly state: 'pending' | 'sent';
  /** ISO time until which a sweep holds the right to send it. */
  readonly claimUntil?: string;
}

/** A new outbox item for one SMS a level owes: pending, unclaimed. */
export function outboxToItem(tenant: string, alertId: string, orderId: string, entry: SmsOutboxEntry): Item {
  const item: OutboxItem = { alertId, orderId, level: entry.level, index: entry.index, to: entry.to, text: entry.text, state: 'pending' };
  return { pk: keys.alert(tenant, alertId), sk: keys.smsOutbox(entry.level, entry.index), ...item };
}
