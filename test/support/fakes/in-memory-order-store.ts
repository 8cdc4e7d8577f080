/**
 * `OrderStore` in memory, for unit tests of the services without DynamoDB
 * Local. It keeps `DynamoOrderStore`'s observable contract (the contract
 * test, test/integration/store-contract.test.ts, runs the same assertions on
 * both):
 *
 * - an append moves the head from `headSeq` to `headSeq + 1` (and + 2 with a
 *   follow-up), so seqs have no gaps; it commits only if nobody moved the
 *   head (its `headSeq` and room epoch) while `decide` ran, else it reads
 *   again and decides again, up to 50 times, then `RateLimitedError`;
 * - an idempotency key seen before stores nothing and answers `duplicate`
 *   (with the original seq, author and checkpoint outcome) or `conflict`
 *   (`judgeReplay`), both when `decide` throws and when the key turns up
 *   between the decision and the write;
 * - an alert write commits with its append only under the same conditions as
 *   `alertWriteItems`: a new alert and every outbox item must not exist, an
 *   update needs the alert in one of `expectStates` (and at `expectLevel`),
 *   so two racing sweeps never fire a level twice;
 * - appends to one order from one store run one after another (the Dynamo
 *   store's lanes); two stores on one `InMemoryOrdersTable` are two processes.
 *
 * What depends on DynamoDB itself, and what this does instead:
 * - reads are always consistent: `listOrders` never shows an index entry
 *   that lags its head (the Dynamo store filters such entries out anyway);
 * - there is no per-process head cache to go stale, so no decision is ever
 *   made on a remembered head; `decide` runs again only after a real lost race;
 * - no transaction is cancelled by a transaction conflict or throttling.
 */
import { NotFoundError, RateLimitedError } from '../../../shared/domain/errors';
import type { EventDraft, OrderEvent, OrderHead } from '../../../shared/domain/model';
import { checkpointOutcome, type Append, type AlertWrite } from '../../../shared/domain/orders';
import type { ListScope, OrderAccess } from '../../../shared/domain/permissions';
import { judgeReplay } from '../../../shared/domain/request-digest';
import { dueShardOf } from '../../../shared/domain/sla';
import { InvalidCursorError } from '../../../shared/runtime/cursor';
import type { AppendResult, IdempotencyKey, OrderStore, Page } from '../../../shared/store/order-store';
import { applyChange } from '../../../shared/store/orders-items';
import { MAX_SEQ } from '../../../shared/store/tables';
import { byteOrder, copyHead, outboxKey, type AlertRecord, InMemoryOrdersTable, type OrderRecord } from './orders-table';

/** How many times an append decides again after losing a race (as `DynamoOrderStore`). */
export const MAX_APPEND_ATTEMPTS = 50;

type Decide = (head: OrderHead) => Append<EventDraft> | null | Promise<Append<EventDraft> | null>;
type ReplayResult = Extract<AppendResult, { outcome: 'duplicate' | 'conflict' }>;

/** The listing index's sort key of a head (`gsiCreated` in `headToItem`). */
const positionOf = (head: OrderHead): string => `${head.createdAt}#${head.orderId}`;

/** Is the head in the listing scope (the index it would be in)? */
function inScope(head: OrderHead, tenant: string, scope: ListScope): boolean {
  if (head.tenant !== tenant) return false;
  switch (scope.by) {
    case 'tenant':
      return true;
    case 'retailer':
      return head.retailerId === scope.retailerId;
    case 'driver':
      return head.driverId === scope.driverId;
  }
}

export class InMemoryOrderStore implements OrderStore {
  /** Appends to one order from this store run one after another (see `DynamoOrderStore.append`). */
  private readonly lanes = new Map<string, Promise<unknown>>();

  /** @param table the shared state; give the same one to an `InMemoryAlertStore` (and to a second store, for a second process). */
  constructor(readonly table: InMemoryOrdersTable = new InMemoryOrdersTable()) {}

  async createOrder(head: OrderHead, event: OrderEvent): Promise<{ created: boolean; head: OrderHead }> {
    const existing = this.table.order(head.tenant, head.orderId);
    if (existing !== undefined) return { created: false, head: copyHead(existing.head.head) };
    const record: OrderRecord = {
      head: { head: copyHead(head), roomEpoch: 0, ...(head.dueAt !== undefined && { dueShard: dueShardOf(head.tenant, head.orderId) }) },
      events: new Map(),
      keys: new Map(),
    };
    this.table.addOrder(head.tenant, head.orderId, record);
    this.table.addEvent(record, head, event, 0);
    return { created: true, head: copyHead(head) };
  }

  async getOrder(tenant: string, orderId: string): Promise<OrderHead | null> {
    const record = this.table.order(tenant, orderId);
    return record === undefined ? null : copyHead(record.head.head);
  }

  /** @throws NotFoundError when there is no such order (nothing is created). */
  async bumpRoomEpoch(tenant: string, orderId: string): Promise<OrderHead> {
    const record = this.table.order(tenant, orderId);
    if (record === undefined) throw new NotFoundError(`Order "${orderId}" not found.`);
    record.head.roomEpoch++;
    return copyHead(record.head.head);
  }

  /**
   * See `OrderStore.append`. Appends to one order from this store wait for
   * each other, as the Dynamo store's lanes do.
   *
   * @throws NotFoundError when the order does not exist; whatever `decide`
   *   throws (unless the key is a replay); RateLimitedError after
   *   `MAX_APPEND_ATTEMPTS` lost races.
   */
  append(tenant: string, orderId: string, decide: Decide, key?: IdempotencyKey): Promise<AppendResult> {
    const lane = `${tenant.length}:${tenant}${orderId}`;
    const before = this.lanes.get(lane);
    const next = () => this.appendNow(tenant, orderId, decide, key);
    const run = before === undefined ? next() : before.then(next);
    const settled = run.catch(() => undefined);
    this.lanes.set(lane, settled);
    void settled.then(() => {
      if (this.lanes.get(lane) === settled) this.lanes.delete(lane);
    });
    return run;
  }

  private async appendNow(tenant: string, orderId: string, decide: Decide, key: IdempotencyKey | undefined): Promise<AppendResult> {
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const record = this.table.order(tenant, orderId);
      if (record === undefined) throw new NotFoundError(`Order "${orderId}" not found.`);
      const seen = { headSeq: record.head.head.headSeq, roomEpoch: record.head.roomEpoch };
      let plan: Append<EventDraft> | null;
      try {
        plan = await decide(copyHead(record.head.head));
      } catch (err) {
        // A replay is answered before the rules.
        const replay = key === undefined ? null : this.findReplay(record, key);
        if (replay !== null) return replay;
        throw err;
      }
      if (plan === null) return { outcome: 'unchanged', head: copyHead(record.head.head) };
      // From here to the end of the attempt nothing awaits: the write is atomic, as a transaction.
      if (key !== undefined && record.keys.has(key.id)) {
        const replay = this.findReplay(record, key);
        if (replay !== null) return replay;
      }
      const moved = record.head.head.headSeq !== seen.headSeq || record.head.roomEpoch !== seen.roomEpoch;
      if (moved || !this.alertWriteHolds(tenant, plan.alert)) continue;
      return this.commit(record, tenant, orderId, plan, key);
    }
    throw new RateLimitedError(`Order "${orderId}" is receiving too many concurrent updates; retry shortly.`);
  }

  /** The key as stored, judged against this request; null when the id is unused. */
  private findReplay(record: OrderRecord, key: IdempotencyKey): ReplayResult | null {
    const stored = record.keys.get(key.id);
    if (stored === undefined) return null;
    const { seq, by } = stored;
    if (judgeReplay(stored, key) === 'conflict') return { outcome: 'conflict', seq, by, kind: stored.kind };
    return {
      outcome: 'duplicate',
      seq,
      by,
      ...(stored.status !== undefined && { status: stored.status }),
      ...(stored.applied !== undefined && { applied: stored.applied }),
    };
  }

  /** The conditions `alertWriteItems` puts on an alert write. */
  private alertWriteHolds(tenant: string, write: AlertWrite | undefined): boolean {
    if (write === undefined) return true;
    const alertId = write.op === 'open' ? write.alert.alertId : write.alertId;
    const existing = this.table.alert(tenant, alertId);
    if (write.outbox.some((e) => existing?.outbox.has(outboxKey(e.level, e.index)) === true)) return false;
    if (write.op === 'open') return existing === undefined;
    if (existing === undefined || !write.expectStates.includes(existing.alert.state)) return false;
    return write.expectLevel === undefined || existing.alert.level === write.expectLevel;
  }

  /** Write the plan: head, event(s), key, alert; all or nothing (nothing here can fail halfway). */
  private commit(record: OrderRecord, tenant: string, orderId: string, plan: Append<EventDraft>, key: IdempotencyKey | undefined): AppendResult {
    const current = record.head.head;
    const seq = current.headSeq + 1;
    const event = { ...plan.event, seq } as OrderEvent;
    const followUp = plan.followUp === undefined ? undefined : ({ ...plan.followUp, seq: seq + 1 } as OrderEvent);
    const lastSeq = followUp?.seq ?? seq;
    // Who may read the order once this is stored: an assignment moves the right with it.
    const access: OrderAccess = { tenant, retailerId: current.retailerId, driverId: plan.change.driverId ?? current.driverId };
    // Applied to the head as it is now, as DynamoDB applies the update: a clock moved by `setDue` meanwhile stays unless the change moves it.
    const after = applyChange(current, plan.change, lastSeq, event.at);
    record.head.head = copyHead(after);
    if (plan.change.dueAt === null) delete record.head.dueShard;
    else if (plan.change.dueAt !== undefined) record.head.dueShard = dueShardOf(tenant, orderId);
    for (const e of followUp === undefined ? [event] : [event, followUp]) this.table.addEvent(record, access, e, record.head.roomEpoch);
    if (key !== undefined) {
      record.keys.set(key.id, {
        kind: key.kind,
        digest: key.digest,
        seq: event.seq,
        by: event.actor.sub,
        ...(event.kind === 'checkpoint' && checkpointOutcome(event)),
      });
    }
    if (plan.alert !== undefined) this.writeAlert(tenant, orderId, plan.alert);
    return { outcome: 'stored', seq: event.seq, head: copyHead(after), event: structuredClone(event) };
  }

  private writeAlert(tenant: string, orderId: string, write: AlertWrite): void {
    let record: AlertRecord | undefined;
    if (write.op === 'open') {
      record = { alert: structuredClone(write.alert), outbox: new Map() };
      this.table.addAlert(tenant, record);
    } else {
      record = this.table.alert(tenant, write.alertId);
      if (record === undefined) throw new Error('alertWriteHolds let an update of a missing alert through');
      const set = Object.fromEntries(Object.entries(write.set).filter(([, v]) => v !== undefined));
      record.alert = { ...record.alert, ...set };
    }
    const alertId = record.alert.alertId;
    for (const entry of write.outbox) {
      record.outbox.set(outboxKey(entry.level, entry.index), {
        alertId,
        orderId,
        level: entry.level,
        index: entry.index,
        to: entry.to,
        text: entry.text,
        state: 'pending',
      });
    }
  }

  /**
   * Events with seq in (sinceSeq, …], at most `limit`, in seq order.
   *
   * @throws RangeError for a `limit` below 1 (DynamoDB refuses a `Limit` of 0).
   */
  async timeline(tenant: string, orderId: string, sinceSeq: number, limit: number): Promise<OrderEvent[]> {
    if (limit < 1) throw new RangeError(`limit must be at least 1, got ${limit}`);
    if (sinceSeq >= MAX_SEQ) return [];
    const record = this.table.order(tenant, orderId);
    if (record === undefined) return [];
    return [...record.events.values()]
      .filter((r) => r.event.seq > sinceSeq)
      .sort((a, b) => a.event.seq - b.event.seq)
      .slice(0, limit)
      .map((r) => structuredClone(r.event));
  }

  /**
   * Heads in a scope, newest first (by `createdAt`, then order id, as the
   * listing indexes sort), at most `limit`, after the position `after`.
   * `next` is given when the page is full, as DynamoDB gives a
   * `LastEvaluatedKey` when it stops at its `Limit`.
   *
   * @throws InvalidCursorError when `after` is not spelled `<createdAt>#<orderId>`.
   * @throws RangeError for a `limit` below 1 (DynamoDB refuses a `Limit` of 0).
   */
  async listOrders(tenant: string, scope: ListScope, limit: number, after?: string): Promise<Page<OrderHead>> {
    if (limit < 1) throw new RangeError(`limit must be at least 1, got ${limit}`);
    if (after !== undefined) {
      const at = after.indexOf('#');
      if (at <= 0 || after.slice(at + 1) === '') throw new InvalidCursorError('malformed');
    }
    const matching = [...this.table.allOrders()]
      .map((r) => r.head.head)
      .filter((h) => inScope(h, tenant, scope))
      .sort((a, b) => byteOrder(positionOf(b), positionOf(a)))
      .filter((h) => after === undefined || byteOrder(positionOf(h), after) < 0);
    const items = matching.slice(0, limit);
    const last = items.at(-1);
    return items.length === limit && last !== undefined
      ? { items: items.map(copyHead), next: positionOf(last) }
      : { items: items.map(copyHead) };
  }
}
