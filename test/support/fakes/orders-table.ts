/**
 * The state behind `InMemoryOrderStore` and `InMemoryAlertStore`: what the
 * `orders` table holds for them (order heads with their room epoch and due
 * shard, timeline events with their routing attributes, idempotency keys,
 * alerts with their SMS outbox), kept in maps. Two stores on one table are
 * two processes on one DynamoDB table: each has its own append lanes, both
 * see every write at once.
 *
 * Every read hands out a copy, so a caller can never change what is stored
 * by mutating what it got. Writes are synchronous between awaits, so each
 * write is atomic as a DynamoDB transaction is.
 */
import type { OrderEvent, OrderHead } from '../../../shared/domain/model';
import type { OrderAccess } from '../../../shared/domain/permissions';
import type { Alert } from '../../../shared/domain/sla';
import type { Status } from '../../../shared/domain/statuses';
import { dict } from '../../../shared/domain/user-keys';
import type { OutboxItem } from '../../../shared/store/alert-store';
import type { RoutedEvent } from '../../../shared/store/stream-records';

/** An order head as stored, with what the table keeps beside it. */
export interface HeadRecord {
  head: OrderHead;
  /** The order room's membership epoch (`bumpRoomEpoch`); 0 when never moved. */
  roomEpoch: number;
  /** The due index's partition while `head.dueAt` is set (`dueShardOf`, or what `setDue` was given). */
  dueShard?: string;
}

/** A stored idempotency key (`ID#<id>`): the request that used it and what its ack said. */
export interface KeyRecord {
  readonly kind: string;
  readonly digest?: string;
  readonly seq: number;
  readonly by: string;
  readonly status?: Status;
  readonly applied?: boolean;
}

/** A stored alert and its SMS outbox, by `SMS#<level>#<index>` key. */
export interface AlertRecord {
  alert: Alert;
  readonly outbox: Map<string, OutboxItem>;
}

/** The orders of one tenant and order id, with everything stored under it. */
export interface OrderRecord {
  readonly head: HeadRecord;
  /** Timeline events by seq, each as its stream record routes it. */
  readonly events: Map<number, RoutedEvent>;
  readonly keys: Map<string, KeyRecord>;
}

/** A copy of a head: plain data, with `readMarks` a prototype-less object (`dict`) as the Dynamo store reads it. */
export function copyHead(head: OrderHead): OrderHead {
  return { ...structuredClone(head), readMarks: dict(Object.entries(head.readMarks)) };
}

/** The outbox key of one SMS, sorted as DynamoDB sorts `SMS#<level>#<index>` (zero-padded). */
export function outboxKey(level: number, index: number): string {
  return `${String(level).padStart(3, '0')}#${String(index).padStart(3, '0')}`;
}

/**
 * Compare two strings as DynamoDB orders sort keys: by their UTF-8 bytes
 * (which differs from JavaScript's UTF-16 `<` for characters past U+FFFF).
 */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export class InMemoryOrdersTable {
  /** By `tenant` then `orderId` (two maps, so no separator can make two tenants' keys meet). */
  private readonly orders = new Map<string, Map<string, OrderRecord>>();
  /** By `tenant` then `alertId`. */
  private readonly alerts = new Map<string, Map<string, AlertRecord>>();
  /** Every timeline insert, in commit order: what the table's stream would carry to the fan-out. */
  private readonly inserts: RoutedEvent[] = [];

  order(tenant: string, orderId: string): OrderRecord | undefined {
    return this.orders.get(tenant)?.get(orderId);
  }

  /** Every order record of every tenant (for the index reads: listing, the due index). */
  *allOrders(): Iterable<OrderRecord> {
    for (const byId of this.orders.values()) yield* byId.values();
  }

  /** Store a new order record; the caller has checked that none exists. */
  addOrder(tenant: string, orderId: string, record: OrderRecord): void {
    let byId = this.orders.get(tenant);
    if (byId === undefined) this.orders.set(tenant, (byId = new Map<string, OrderRecord>()));
    byId.set(orderId, record);
  }

  /** Store a timeline event of `access`'s order under `roomEpoch`, and put it on the stream. */
  addEvent(record: OrderRecord, access: OrderAccess, event: OrderEvent, roomEpoch: number): void {
    const routed: RoutedEvent = {
      tenant: access.tenant,
      retailerId: access.retailerId,
      driverId: access.driverId ?? null,
      event: structuredClone(event),
      roomEpoch,
    };
    record.events.set(event.seq, routed);
    this.inserts.push(routed);
  }

  alert(tenant: string, alertId: string): AlertRecord | undefined {
    return this.alerts.get(tenant)?.get(alertId);
  }

  /** Every alert record of one tenant. */
  tenantAlerts(tenant: string): Iterable<AlertRecord> {
    return this.alerts.get(tenant)?.values() ?? [];
  }

  addAlert(tenant: string, record: AlertRecord): void {
    let byId = this.alerts.get(tenant);
    if (byId === undefined) this.alerts.set(tenant, (byId = new Map<string, AlertRecord>()));
    byId.set(record.alert.alertId, record);
  }

  /**
   * The timeline inserts stored so far, from the `from`-th on, as the
   * fan-out gets them from the stream (`routedEventOf`): copies, in commit order.
   */
  stream(from = 0): RoutedEvent[] {
    return this.inserts.slice(from).map((r) => structuredClone(r));
  }

  /** The stored event `seq` of an order as the stream routes it, or undefined. */
  routed(tenant: string, orderId: string, seq: number): RoutedEvent | undefined {
    const found = this.order(tenant, orderId)?.events.get(seq);
    return found === undefined ? undefined : structuredClone(found);
  }
}
