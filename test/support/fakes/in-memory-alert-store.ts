/**
 * `AlertStore` in memory, over the same `InMemoryOrdersTable` as the
 * `InMemoryOrderStore` whose appends write the alerts (as `DynamoAlertStore`
 * and `DynamoOrderStore` share the `orders` table). Same contract as the
 * Dynamo store: a claim is taken only while the SMS is pending and unclaimed
 * (or its claim ran out), `release` gives back only a pending one, `setDue`
 * moves the clock only while the order is where the caller saw it (else it
 * quietly changes nothing), `due` reads one shard up to `now`, soonest first.
 *
 * What depends on DynamoDB itself, and what this does instead:
 * - the `byAlertState` and `byDue` indexes are never behind their items:
 *   `list` and `due` see every write at once;
 * - `markSent` of an SMS that does not exist changes nothing (DynamoDB's
 *   unconditional update would leave a stub item that no read here returns).
 */
import type { Alert, AlertState, DueGuard } from '../../../shared/domain/sla';
import { DUE_SHARDS } from '../../../shared/domain/sla';
import type { AlertStore, DueOrder, OutboxItem } from '../../../shared/store/alert-store';
import { byteOrder, outboxKey, type InMemoryOrdersTable } from './orders-table';

export class InMemoryAlertStore implements AlertStore {
  /** @param table the state shared with the `InMemoryOrderStore` that writes the alerts. */
  constructor(readonly table: InMemoryOrdersTable) {}

  async get(tenant: string, alertId: string): Promise<Alert | null> {
    const record = this.table.alert(tenant, alertId);
    return record === undefined ? null : structuredClone(record.alert);
  }

  /** The tenant's alerts in `state`, newest opened first (`openedAt`, then alert id), at most `limit`. */
  async list(tenant: string, state: AlertState, limit: number): Promise<Alert[]> {
    const opened = (a: Alert) => `${a.openedAt}#${a.alertId}`;
    return [...this.table.tenantAlerts(tenant)]
      .map((r) => r.alert)
      .filter((a) => a.state === state)
      .sort((a, b) => byteOrder(opened(b), opened(a)))
      .slice(0, limit)
      .map((a) => structuredClone(a));
  }

  /**
   * Orders of one due-index shard whose `dueAt` is at or before `now`
   * (compared as ISO strings, as the index's sort key), soonest first, at most `limit`.
   *
   * @throws RangeError for a shard outside 0..DUE_SHARDS-1.
   */
  async due(shard: number, now: Date, limit: number): Promise<DueOrder[]> {
    if (shard < 0 || shard >= DUE_SHARDS) throw new RangeError(`shard ${shard} is outside 0..${DUE_SHARDS - 1}`);
    const until = now.toISOString();
    return [...this.table.allOrders()]
      .map((r) => r.head)
      .filter((h) => h.dueShard === String(shard) && h.head.dueAt !== undefined && byteOrder(h.head.dueAt, until) <= 0)
      .sort((a, b) => byteOrder(a.head.dueAt ?? '', b.head.dueAt ?? ''))
      .slice(0, Math.max(0, limit))
      .map((h) => ({ tenant: h.head.tenant, orderId: h.head.orderId }));
  }

  /** The alert's SMS not yet sent, in level then index order. */
  async unsent(tenant: string, alertId: string): Promise<OutboxItem[]> {
    const record = this.table.alert(tenant, alertId);
    if (record === undefined) return [];
    return [...record.outbox.entries()]
      .sort(([a], [b]) => byteOrder(a, b))
      .map(([, item]) => item)
      .filter((item) => item.state !== 'sent')
      .map((item) => ({ ...item }));
  }

  async claim(tenant: string, item: OutboxItem, now: Date, until: Date): Promise<boolean> {
    const record = this.table.alert(tenant, item.alertId);
    const stored = record?.outbox.get(outboxKey(item.level, item.index));
    if (record === undefined || stored === undefined || stored.state !== 'pending') return false;
    if (stored.claimUntil !== undefined && !(byteOrder(stored.claimUntil, now.toISOString()) < 0)) return false;
    record.outbox.set(outboxKey(item.level, item.index), { ...stored, claimUntil: until.toISOString() });
    return true;
  }

  async markSent(tenant: string, item: OutboxItem, _messageId: string, _at: Date): Promise<void> {
    const record = this.table.alert(tenant, item.alertId);
    const stored = record?.outbox.get(outboxKey(item.level, item.index));
    if (record === undefined || stored === undefined) return;
    const { claimUntil: _claim, ...rest } = stored;
    record.outbox.set(outboxKey(item.level, item.index), { ...rest, state: 'sent' });
  }

  async release(tenant: string, item: OutboxItem): Promise<void> {
    const record = this.table.alert(tenant, item.alertId);
    const stored = record?.outbox.get(outboxKey(item.level, item.index));
    if (record === undefined || stored === undefined || stored.state !== 'pending') return;
    const { claimUntil: _claim, ...rest } = stored;
    record.outbox.set(outboxKey(item.level, item.index), rest);
  }

  async setDue(tenant: string, orderId: string, dueAt: string | null, shard: string, when: DueGuard): Promise<void> {
    const record = this.table.order(tenant, orderId);
    if (record === undefined) return;
    const head = record.head.head;
    const holds = 'alertId' in when ? head.openAlertId === when.alertId : head.statusSince === when.statusSince && head.openAlertId === undefined;
    // The order moved on (its alert resolved) meanwhile: its clock is already right.
    if (!holds) return;
    if (dueAt === null) {
      const { dueAt: _dueAt, ...rest } = head;
      record.head.head = rest;
      delete record.head.dueShard;
    } else {
      record.head.head = { ...head, dueAt };
      record.head.dueShard = shard;
    }
  }
}
