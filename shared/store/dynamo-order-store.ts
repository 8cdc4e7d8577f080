/**
 * `OrderStore` on DynamoDB. Every write that matters is conditional: an append
 * is one transaction of the head (`headSeq = :seen` and the room epoch it saw),
 * the event (`E#<seq>`, new) and the idempotency key (`ID#<id>`, new, with
 * the kind and digest of the request that used it), so seqs have no gaps,
 * replays store nothing, an id serves one request only, and concurrent
 * writers cannot lose updates. Appends to different orders that meet in time
 * may share one `TransactWriteItems` (`group-commit.ts`); each still succeeds
 * or fails whole. Heads are read with the low-level commands so that maps
 * keyed by users keep every key (`headItemFromAttributes`).
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  GetItemCommand,
  TransactionCanceledException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { NotFoundError, RateLimitedError } from '../domain/errors';
import { InvalidCursorError } from '../runtime/cursor';
import type { EventDraft, OrderEvent, OrderHead } from '../domain/model';
import { checkpointOutcome, withReadMark, type AlertWrite, type Append, type HeadChange, type SmsOutboxEntry } from '../domain/orders';
import { dueShardOf, type Alert } from '../domain/sla';
import type { ListScope, OrderAccess } from '../domain/permissions';
import { judgeReplay } from '../domain/request-digest';
import type { Status } from '../domain/statuses';
import { dict } from '../domain/user-keys';
import type { AppendResult, IdempotencyKey, OrderStore, Page } from './order-store';

import { RecentMap } from '../runtime/recent-map';
import { GroupCommitter, type GroupCommitStats, type TransactItem } from './group-commit';
import { INDEX, keys, MAX_SEQ } from './tables';

type ReplayResult = Extract<AppendResult, { outcome: 'duplicate' | 'conflict' }>;

/** How many times an append re-reads and retries after losing a race. */
const MAX_APPEND_ATTEMPTS = 50;

type Item = Record<string, unknown>;

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
 * (`SET readMarks.#reader`), never by marshalling the map: util-dynamodb's
 * `marshall` drops a `__proto__` key and refuses an object whose own
 * `constructor` key is not a function.
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

export function alertFromItem(item: Item): Alert {
  const alert: Item = {};
  for (const f of ALERT_FIELDS) if (item[f] !== undefined) alert[f] = item[f];
  return alert as unknown as Alert;
}

function outboxItems(tenant: string, alertId: string, orderId: string, outbox: readonly SmsOutboxEntry[]): Item[] {
  return outbox.map((o) => ({
    pk: keys.alert(tenant, alertId),
    sk: keys.smsOutbox(o.level, o.index),
    alertId,
    orderId,
    level: o.level,
    index: o.index,
    to: o.to,
    text: o.text,
    state: 'pending',
  }));
}

/**
 * The stored form of a timeline event: routing attributes beside the event as
 * pushed. `tenant`, `retailerId` and `driverId` are the order's as of this
 * event (after it, for an assignment; `driverId` null while none): what the
 * right to read it rests on, so the fan-out re-checks each member's right on
 * every push without reading the head. `roomEpoch` is the order room's
 * membership epoch when the event was written (see `openRoom`): the fan-out
 * may reuse a member list read at that epoch.
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

/** A head as this process last saw it, with its room's membership epoch. */
interface KnownHead {
  readonly head: OrderHead;
  readonly roomEpoch: number;
}

function knownHeadOf(item: Item): KnownHead {
  return { head: headFromItem(item), roomEpoch: typeof item.roomEpoch === 'number' ? item.roomEpoch : 0 };
}

export function eventFromItem(item: Item): OrderEvent {
  return item.event as OrderEvent;
}

function cancellationCodes(err: unknown): (string | undefined)[] | null {
  if (err instanceof TransactionCanceledException) return (err.CancellationReasons ?? []).map((r) => r.Code);
  return null;
}

function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(50, 2 * 2 ** Math.min(attempt, 5));
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The `ExclusiveStartKey` of a listing index query from a position (the
 * index's sort key `gsiCreated` = `<createdAt>#<orderId>`, see `headToItem`):
 * the table's key and the index's, rebuilt from the tenant and scope of this
 * request, never taken from the client.
 *
 * @throws InvalidCursorError when the position is not spelled so.
 */
function listStartKey(tenant: string, attribute: string, value: string, position: string): Item {
  const at = position.indexOf('#');
  const orderId = at > 0 ? position.slice(at + 1) : '';
  if (orderId === '') throw new InvalidCursorError('malformed');
  return { pk: keys.order(tenant, orderId), sk: keys.head, [attribute]: value, gsiCreated: position };
}

/** How many order heads a process remembers (the ones it wrote last). */
const REMEMBERED_HEADS = 10_000;

export class DynamoOrderStore implements OrderStore {
  /**
   * The heads this process wrote last, by key. Only a hint for the next
   * append's decision: every write is still conditional on `headSeq` and
   * `roomEpoch`.
   */
  private readonly heads = new RecentMap<string, KnownHead>(REMEMBERED_HEADS);
  /** Appends to one order from this process run one after another (see `append`). */
  private readonly lanes = new Map<string, Promise<unknown>>();
  /** Appends to different orders that meet in time share a transaction. */
  private readonly committer: GroupCommitter;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.committer = new GroupCommitter(doc);
  }

  /** How appends were committed (transactions made, and how many were grouped). */
  commitStats(): GroupCommitStats {
    return this.committer.stats();
  }

  async createOrder(head: OrderHead, event: OrderEvent): Promise<{ created: boolean; head: OrderHead }> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: headToItem(head),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: eventToItem(head, event, 0),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return { created: true, head };
    } catch (err) {
      const codes = cancellationCodes(err);
      if (codes === null || !codes.includes('ConditionalCheckFailed')) throw err;
      const existing = await this.getOrder(head.tenant, head.orderId);
      if (existing === null) throw err;
      return { created: false, head: existing };
    }
  }

  async getOrder(tenant: string, orderId: string): Promise<OrderHead | null> {
    return (await this.readHead(tenant, orderId))?.head ?? null;
  }

  /** The head, read raw so user-keyed maps keep every key (`headItemFromAttributes`). */
  private async readHead(tenant: string, orderId: string): Promise<KnownHead | null> {
    const res = await this.doc.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: keys.order(tenant, orderId) }, sk: { S: keys.head } },
        ConsistentRead: true,
      }),
    );
    return res.Item ? knownHeadOf(headItemFromAttributes(res.Item)) : null;
  }

  /**
   * The order room's membership just changed: move its epoch on and return
   * the head as it is now. Every event stored after this carries the new
   * epoch (appends are conditional on the epoch they decided on), so the
   * fan-out reads the room's members again before pushing it.
   */
  async openRoom(tenant: string, orderId: string): Promise<OrderHead> {
    const pk = keys.order(tenant, orderId);
    try {
      // Low-level, so the head comes back raw (`headItemFromAttributes`).
      const res = await this.doc.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: pk }, sk: { S: keys.head } },
          UpdateExpression: 'ADD roomEpoch :one',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':one': { N: '1' } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const known = knownHeadOf(headItemFromAttributes(res.Attributes ?? {}));
      if (this.heads.has(pk)) this.heads.set(pk, known);
      return known.head;
    } catch (err) {
      if (err instanceof Error && err.name === 'ConditionalCheckFailedException') throw new NotFoundError(`Order "${orderId}" not found.`);
      throw err;
    }
  }

  /**
   * The idempotency key `key.id` as stored, judged against this request
   * (`judgeReplay`: same kind and digest, or a key without a digest and the
   * same kind, is a duplicate; anything else a conflict). Null when the id
   * is unused.
   */
  private async findReplay(tenant: string, orderId: string, key: IdempotencyKey): Promise<ReplayResult | null> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: keys.order(tenant, orderId), sk: keys.idempotency(key.id) },
        ConsistentRead: true,
      }),
    );
    const item = res.Item;
    if (!item) return null;
    const stored = {
      kind: String(item.kind),
      ...(typeof item.digest === 'string' && { digest: item.digest }),
    };
    const seq = item.seq as number;
    const by = item.by as string;
    if (judgeReplay(stored, key) === 'conflict') return { outcome: 'conflict', seq, by, kind: stored.kind };
    return {
      outcome: 'duplicate',
      seq,
      by,
      ...(item.status !== undefined && { status: item.status as Status }),
      ...(typeof item.applied === 'boolean' && { applied: item.applied }),
    };
  }

  /**
   * Appends to the same order from this process wait for each other, so each
   * decides on the head the one before it wrote instead of losing a race to
   * it; appends from other processes are still caught by `headSeq = :seen`.
   */
  append(
    tenant: string,
    orderId: string,
    decide: (head: OrderHead) => Append<EventDraft> | null | Promise<Append<EventDraft> | null>,
    key?: IdempotencyKey,
  ): Promise<AppendResult> {
    const pk = keys.order(tenant, orderId);
    const before = this.lanes.get(pk);
    const next = () => this.appendNow(pk, tenant, orderId, decide, key);
    const run = before === undefined ? next() : before.then(next);
    const settled = run.catch(() => undefined);
    this.lanes.set(pk, settled);
    void settled.then(() => {
      if (this.lanes.get(pk) === settled) this.lanes.delete(pk);
    });
    return run;
  }

  private async appendNow(
    pk: string,
    tenant: string,
    orderId: string,
    decide: (head: OrderHead) => Append<EventDraft> | null | Promise<Append<EventDraft> | null>,
    key?: IdempotencyKey,
  ): Promise<AppendResult> {
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      // The head this process last wrote is usually still the head: decide on
      // it and let the transaction's `headSeq = :seen` condition catch the
      // case where another writer moved it (then forget it, re-read, decide again).
      const remembered = this.heads.get(pk);
      const known = remembered ?? (await this.readHead(tenant, orderId));
      const fresh = remembered === undefined;
      if (known === null) throw new NotFoundError(`Order "${orderId}" not found.`);
      const { head, roomEpoch } = known;
      let plan: Append<EventDraft> | null;
      try {
        plan = await decide(head);
      } catch (err) {
        // A replay is answered before the rules: a queued checkpoint that is no
        // longer a legal move is still the same, already stored checkpoint.
        const replay = key === undefined ? null : await this.findReplay(tenant, orderId, key);
        if (replay !== null) return replay;
        if (!fresh) {
          this.heads.delete(pk);
          continue;
        }
        throw err;
      }
      if (plan === null) {
        if (!fresh) {
          this.heads.delete(pk);
          continue;
        }
        return { outcome: 'unchanged', head };
      }

      const seq = head.headSeq + 1;
      const event = { ...plan.event, seq } as OrderEvent;
      const followUp = plan.followUp === undefined ? undefined : ({ ...plan.followUp, seq: seq + 1 } as OrderEvent);
      const lastSeq = followUp?.seq ?? seq;
      const update = headUpdate(plan.change, lastSeq, event.at, tenant, orderId);
      // Who may read the order once this is stored: an assignment moves the right with it.
      const access: OrderAccess = { tenant, retailerId: head.retailerId, driverId: plan.change.driverId ?? head.driverId };
      const items: TransactItem[] = [
        {
          Update: {
            TableName: this.tableName,
            Key: { pk, sk: keys.head },
            UpdateExpression: update.expression,
            // The head and the room epoch this decision saw, both unmoved.
            ConditionExpression: roomEpoch === 0 ? 'headSeq = :seen AND attribute_not_exists(roomEpoch)' : 'headSeq = :seen AND roomEpoch = :epoch',
            ...(Object.keys(update.names).length > 0 && { ExpressionAttributeNames: update.names }),
            ExpressionAttributeValues: { ...update.values, ':seen': head.headSeq, ...(roomEpoch !== 0 && { ':epoch': roomEpoch }) },
          },
        },
        ...[event, ...(followUp ? [followUp] : [])].map(
          (e): TransactItem => ({
            Put: {
              TableName: this.tableName,
              Item: eventToItem(access, e, roomEpoch),
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          }),
        ),
      ];
      // The idempotency key is always the item at index `keyAt`: its failure means a replay.
      const keyAt = items.length;
      if (key !== undefined) {
        items.push({
          Put: {
            TableName: this.tableName,
            Item: {
              pk,
              sk: keys.idempotency(key.id),
              kind: key.kind,
              digest: key.digest,
              seq,
              at: event.at,
              by: event.actor.sub,
              // What the checkpoint's ack said (status and `applied`), so a replay acks the same.
              ...(event.kind === 'checkpoint' && checkpointOutcome(event)),
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        });
      }
      if (plan.alert !== undefined) items.push(...this.alertItems(tenant, orderId, plan.alert));
      try {
        await this.committer.commit(items);
        const after = applyChange(head, plan.change, lastSeq, event.at);
        this.heads.set(pk, { head: after, roomEpoch });
        return { outcome: 'stored', seq, head: after, event };
      } catch (err) {
        this.heads.delete(pk);
        const codes = cancellationCodes(err);
        if (codes === null) throw err;
        if (key !== undefined && codes[keyAt] === 'ConditionalCheckFailed') {
          // Someone stored this very key while we decided: a replay, or another request under the same id.
          const replayed = await this.findReplay(tenant, orderId, key);
          if (replayed !== null) return replayed;
        }
        // Lost the race for the head, the alert moved on, or a transaction
        // conflict: decide again on what is there now.
        if (!fresh && codes[0] === 'ConditionalCheckFailed') continue; // a stale memory, not contention
        await backoff(attempt);
      }
    }
    throw new RateLimitedError(`Order "${orderId}" is receiving too many concurrent updates; retry shortly.`);
  }

  private alertItems(tenant: string, orderId: string, write: AlertWrite): TransactItem[] {
    if (write.op === 'open') {
      return [
        { Put: { TableName: this.tableName, Item: alertToItem(write.alert), ConditionExpression: 'attribute_not_exists(pk)' } },
        ...outboxItems(tenant, write.alert.alertId, orderId, write.outbox).map(
          (Item): TransactItem => ({ Put: { TableName: this.tableName, Item, ConditionExpression: 'attribute_not_exists(pk)' } }),
        ),
      ];
    }
    const names: Record<string, string> = { '#state': 'state' };
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    for (const [field, value] of Object.entries(write.set)) {
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    if (write.set.state !== undefined) {
      names['#gsiAlertState'] = 'gsiAlertState';
      values[':gsiAlertState'] = keys.alertState(tenant, write.set.state);
      sets.push('#gsiAlertState = :gsiAlertState');
    }
    const stateConds = write.expectStates.map((st, i) => {
      values[`:expect${i}`] = st;
      return `#state = :expect${i}`;
    });
    let condition = `attribute_exists(pk) AND (${stateConds.join(' OR ')})`;
    if (write.expectLevel !== undefined) {
      names['#level'] = 'level';
      values[':expectLevel'] = write.expectLevel;
      condition += ' AND #level = :expectLevel';
    }
    return [
      {
        Update: {
          TableName: this.tableName,
          Key: { pk: keys.alert(tenant, write.alertId), sk: keys.alertItem },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        },
      },
      ...outboxItems(tenant, write.alertId, orderId, write.outbox).map(
        (Item): TransactItem => ({ Put: { TableName: this.tableName, Item, ConditionExpression: 'attribute_not_exists(pk)' } }),
      ),
    ];
  }

  async timeline(tenant: string, orderId: string, sinceSeq: number, limit: number): Promise<OrderEvent[]> {
    if (sinceSeq >= MAX_SEQ) return [];
    const res = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': keys.order(tenant, orderId),
          ':from': keys.event(sinceSeq + 1),
          ':to': keys.event(MAX_SEQ),
        },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    return (res.Items ?? []).map(eventFromItem);
  }

  async listOrders(tenant: string, scope: ListScope, limit: number, after?: string): Promise<Page<OrderHead>> {
    const [indexName, attribute, value] =
      scope.by === 'tenant'
        ? [INDEX.byTenant, 'gsiTenant', keys.tenantIndex(tenant)]
        : scope.by === 'retailer'
          ? [INDEX.byRetailer, 'gsiRetailer', keys.retailerIndex(tenant, scope.retailerId)]
          : [INDEX.byDriver, 'gsiDriver', keys.driverIndex(tenant, scope.driverId)];
    const res = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: indexName,
        KeyConditionExpression: '#k = :v',
        ExpressionAttributeNames: { '#k': attribute },
        ExpressionAttributeValues: { ':v': value },
        ScanIndexForward: false,
        Limit: limit,
        ...(after !== undefined && { ExclusiveStartKey: listStartKey(tenant, attribute, value, after) }),
      }),
    );
    const keyList = (res.Items ?? []).map((i) => ({ pk: i.pk as string, sk: i.sk as string }));
    const heads = await this.batchGetHeads(keyList);
    // An index is eventually consistent: an order reassigned away may linger in
    // the old driver's index for a moment. Trust only the head itself.
    const inScope = heads.filter(
      (h) =>
        h.tenant === tenant &&
        (scope.by === 'tenant' ||
          (scope.by === 'retailer' && h.retailerId === scope.retailerId) ||
          (scope.by === 'driver' && h.driverId === scope.driverId)),
    );
    const next: unknown = res.LastEvaluatedKey?.gsiCreated;
    return typeof next === 'string' ? { items: inScope, next } : { items: inScope };
  }

  /** Heads by key, read raw so user-keyed maps keep every key (`headItemFromAttributes`). */
  private async batchGetHeads(keyList: { pk: string; sk: string }[]): Promise<OrderHead[]> {
    const found = new Map<string, OrderHead>();
    for (let i = 0; i < keyList.length; i += 100) {
      let request: Record<string, AttributeValue>[] | undefined = keyList.slice(i, i + 100).map((k) => ({ pk: { S: k.pk }, sk: { S: k.sk } }));
      for (let attempt = 0; request !== undefined && request.length > 0; attempt++) {
        const res: BatchGetItemCommandOutput = await this.doc.send(
          new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: request, ConsistentRead: true } } }),
        );
        for (const raw of res.Responses?.[this.tableName] ?? []) {
          const item = headItemFromAttributes(raw);
          found.set(item.pk as string, headFromItem(item));
        }
        request = res.UnprocessedKeys?.[this.tableName]?.Keys;
        if (request !== undefined && request.length > 0) await backoff(attempt);
      }
    }
    return keyList.map((k) => found.get(k.pk)).filter((h): h is OrderHead => h !== undefined);
  }
}

function headUpdate(
  change: HeadChange,
  seq: number,
  at: string,
  tenant: string,
  orderId: string,
): { expression: string; names: Record<string, string>; values: Record<string, unknown> } {
  const sets = ['headSeq = :seq', 'updatedAt = :at'];
  const removes: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':seq': seq, ':at': at };
  const set = (attr: string, value: unknown) => {
    names[`#${attr}`] = attr;
    values[`:${attr}`] = value;
    sets.push(`#${attr} = :${attr}`);
  };
  const remove = (attr: string) => {
    names[`#${attr}`] = attr;
    removes.push(`#${attr}`);
  };
  if (change.status !== undefined) set('status', change.status);
  if (change.statusSince !== undefined) set('statusSince', change.statusSince);
  if (change.statusOccurredAt !== undefined) set('statusOccurredAt', change.statusOccurredAt);
  if (change.pickedUpAt !== undefined) set('pickedUpAt', change.pickedUpAt);
  if (change.lastLocation !== undefined) set('lastLocation', change.lastLocation);
  if (change.driverId !== undefined) {
    set('driverId', change.driverId);
    set('gsiDriver', keys.driverIndex(tenant, change.driverId));
  }
  if (change.readMark !== undefined) {
    names['#readMarks'] = 'readMarks';
    names['#reader'] = change.readMark.sub;
    values[':readSeq'] = change.readMark.seq;
    sets.push('#readMarks.#reader = :readSeq');
  }
  if (change.dueAt === null) {
    remove('dueAt');
    remove('dueShard');
  } else if (change.dueAt !== undefined) {
    set('dueAt', change.dueAt);
    set('dueShard', dueShardOf(tenant, orderId));
  }
  if (change.openAlertId === null) remove('openAlertId');
  else if (change.openAlertId !== undefined) set('openAlertId', change.openAlertId);
  if (change.alertLevel === null) remove('alertLevel');
  else if (change.alertLevel !== undefined) set('alertLevel', change.alertLevel);
  const expression = `SET ${sets.join(', ')}${removes.length > 0 ? ` REMOVE ${removes.join(', ')}` : ''}`;
  return { expression, names, values };
}

/**
 * The head as it is after `change`, without reading it back: the plain
 * fields (`status`, `statusSince`, `statusOccurredAt`, `pickedUpAt`,
 * `lastLocation`, `driverId`) are copied as they are, the read mark is
 * merged, and `null` removes `dueAt`, `openAlertId`, `alertLevel`. Must agree
 * with `headUpdate`, which writes the same change.
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
