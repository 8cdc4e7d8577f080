/**
 * `OrderStore` on DynamoDB. Every write that matters is conditional: an append
 * is one transaction of the head (`headSeq = :seen` and the room epoch it saw),
 * the event (`E#<seq>`, new) and the idempotency key (`ID#<id>`, new, with
 * the kind and digest of the request that used it), so seqs have no gaps,
 * replays store nothing, an id serves one request only, and concurrent
 * writers cannot lose updates. Transactions go through a `Committer`
 * (`committer.ts`): one call each by default, or grouped with others that
 * meet in time when the composition asks for it (`group-commit.ts`); each
 * still succeeds or fails whole. Heads are read with the low-level commands
 * so that maps keyed by users keep every key (`headItemFromAttributes`).
 * The items' shapes are in `orders-items.ts`; the alert items an append
 * writes come from the alert store (`alertWriteItems`).
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandOutput,
  ConditionalCheckFailedException,
  GetItemCommand,
  TransactionCanceledException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { NotFoundError, RateLimitedError } from '../domain/errors';
import { InvalidCursorError } from '../runtime/cursor';
import type { EventDraft, OrderEvent, OrderHead } from '../domain/model';
import type { Append } from '../domain/orders';
import type { ListScope, OrderAccess } from '../domain/permissions';
import { judgeReplay } from '../domain/request-digest';
import type { Status } from '../domain/statuses';
import type { AppendResult, IdempotencyKey, OrderStore, Page } from './order-store';

import { RecentMap } from '../runtime/recent-map';
import { DirectCommitter, type CommitStats, type Committer, type TransactItem } from './committer';
import { GroupCommitter } from './group-commit';
import { alertWriteItems } from './alert-store';
import {
  applyChange,
  eventFromItem,
  eventToItem,
  headChangeUpdate,
  headFromItem,
  headItemFromAttributes,
  headToItem,
  idempotencyKeyToItem,
  roomEpochOf,
  type Item,
} from './orders-items';
import { INDEX, keys, MAX_SEQ } from './tables';
import { buildUpdate } from './update-expression';

/** Kept here for the readers that import it from this module (the stream consumer). */
export { eventFromItem } from './orders-items';

type ReplayResult = Extract<AppendResult, { outcome: 'duplicate' | 'conflict' }>;

/** How many times an append re-reads and retries after losing a race. */
const MAX_APPEND_ATTEMPTS = 50;

/** What an append's `decide` may return. */
type Decide = (head: OrderHead) => Append<EventDraft> | null | Promise<Append<EventDraft> | null>;

/** A head as this process last saw it, with its room's membership epoch. */
interface KnownHead {
  readonly head: OrderHead;
  readonly roomEpoch: number;
}

/** The head an attempt decides on, and whether it was just read (else it is this process's memory of it). */
interface SeenHead extends KnownHead {
  readonly fresh: boolean;
}

/**
 * What one attempt of an append ends in: an answer for the caller, or another
 * attempt (`wait`: after a random back-off, for contention; otherwise at once,
 * for a remembered head that was stale).
 */
type AttemptEnd = { readonly end: 'answer'; readonly result: AppendResult } | { readonly end: 'retry'; readonly wait: boolean };

const answer = (result: AppendResult): AttemptEnd => ({ end: 'answer', result });
const RETRY_AT_ONCE: AttemptEnd = { end: 'retry', wait: false };
const RETRY_AFTER_BACKOFF: AttemptEnd = { end: 'retry', wait: true };

/** The items of one append's transaction; the idempotency key, when there is one, at `keyAt`. */
interface AppendTransaction {
  readonly items: TransactItem[];
  readonly keyAt: number;
  readonly event: OrderEvent;
  readonly lastSeq: number;
}

function knownHeadOf(item: Item): KnownHead {
  return { head: headFromItem(item), roomEpoch: roomEpochOf(item) };
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
  /** Sends each append's transaction: alone, or grouped with others that meet in time. */
  private readonly committer: Committer;

  /**
   * @param options.groupCommit let transactions of concurrent appends to
   *   different orders share one `TransactWriteItems` (`GroupCommitter`); for
   *   a process serving many writers at once (the local runtime). Default:
   *   one call per transaction.
   */
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: { readonly groupCommit?: boolean } = {},
  ) {
    this.committer = options.groupCommit === true ? new GroupCommitter(doc) : new DirectCommitter(doc);
  }

  /** How appends were committed (transactions made, and how many were grouped). */
  commitStats(): CommitStats {
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
   *
   * @throws NotFoundError when there is no such order.
   */
  async bumpRoomEpoch(tenant: string, orderId: string): Promise<OrderHead> {
    const pk = keys.order(tenant, orderId);
    const { ExpressionAttributeValues: values, ...update } = buildUpdate({ add: { roomEpoch: 1 }, condition: (p) => `attribute_exists(${p.name('pk')})` });
    try {
      // Low-level, so the head comes back raw (`headItemFromAttributes`).
      const res = await this.doc.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: pk }, sk: { S: keys.head } },
          ...update,
          ...(values !== undefined && { ExpressionAttributeValues: marshall(values) }),
          ReturnValues: 'ALL_NEW',
        }),
      );
      const known = knownHeadOf(headItemFromAttributes(res.Attributes ?? {}));
      if (this.heads.has(pk)) this.heads.set(pk, known);
      return known.head;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new NotFoundError(`Order "${orderId}" not found.`);
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
    decide: Decide,
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

  /**
   * One append, attempt after attempt until it is answered: take a head to
   * decide on, decide, write the transaction, and sort out a failed write.
   * Each attempt costs what it did before this was split: a head read only
   * when this process remembers none (or dropped a stale one), one
   * transaction, and an idempotency key read only when the rules refuse or
   * the key's condition fails.
   *
   * @throws RateLimitedError after `MAX_APPEND_ATTEMPTS` lost races.
   * @throws NotFoundError when the order does not exist; whatever `decide` throws.
   */
  private async appendNow(pk: string, tenant: string, orderId: string, decide: Decide, key?: IdempotencyKey): Promise<AppendResult> {
    for (let attempt = 0; attempt < MAX_APPEND_ATTEMPTS; attempt++) {
      const seen = await this.headToDecideOn(pk, tenant, orderId);
      const decided = await this.decideOn(seen, decide, tenant, orderId, key);
      const end = decided.end === 'write' ? await this.write(pk, tenant, orderId, seen, decided.plan, key) : decided;
      if (end.end === 'answer') return end.result;
      if (end.wait) await backoff(attempt);
    }
    throw new RateLimitedError(`Order "${orderId}" is receiving too many concurrent updates; retry shortly.`);
  }

  /**
   * The head this process last wrote is usually still the head: decide on it
   * and let the transaction's `headSeq = :seen` condition catch the case
   * where another writer moved it (then forget it, re-read, decide again).
   * With none remembered, the head is read.
   *
   * @throws NotFoundError when there is no such order.
   */
  private async headToDecideOn(pk: string, tenant: string, orderId: string): Promise<SeenHead> {
    const remembered = this.heads.get(pk);
    if (remembered !== undefined) return { ...remembered, fresh: false };
    const read = await this.readHead(tenant, orderId);
    if (read === null) throw new NotFoundError(`Order "${orderId}" not found.`);
    return { ...read, fresh: true };
  }

  /**
   * Run `decide` on the head. A replay is answered before the rules: when
   * `decide` refuses, a stored key for this request is still a duplicate
   * (a queued checkpoint that is no longer a legal move is the same, already
   * stored checkpoint). A refusal or "nothing to do" on a remembered head is
   * not trusted: the head is dropped and read again.
   */
  private async decideOn(
    seen: SeenHead,
    decide: Decide,
    tenant: string,
    orderId: string,
    key: IdempotencyKey | undefined,
  ): Promise<AttemptEnd | { readonly end: 'write'; readonly plan: Append<EventDraft> }> {
    const pk = keys.order(tenant, orderId);
    let plan: Append<EventDraft> | null;
    try {
      plan = await decide(seen.head);
    } catch (err) {
      const replay = key === undefined ? null : await this.findReplay(tenant, orderId, key);
      if (replay !== null) return answer(replay);
      if (seen.fresh) throw err;
      this.heads.delete(pk);
      return RETRY_AT_ONCE;
    }
    if (plan !== null) return { end: 'write', plan };
    if (seen.fresh) return answer({ outcome: 'unchanged', head: seen.head });
    this.heads.delete(pk);
    return RETRY_AT_ONCE;
  }

  /**
   * Commit the plan decided on `seen`. Stored: remember the head as written.
   * Cancelled: forget the head; a failed key condition means someone stored
   * this very key meanwhile (a replay, or another request under the id); a
   * failed head condition on a remembered head was a stale memory (retry at
   * once); anything else (a lost race, the alert moved on, a transaction
   * conflict) is contention (retry after a back-off).
   */
  private async write(
    pk: string,
    tenant: string,
    orderId: string,
    seen: SeenHead,
    plan: Append<EventDraft>,
    key: IdempotencyKey | undefined,
  ): Promise<AttemptEnd> {
    const tx = this.appendTransaction(pk, tenant, orderId, seen, plan, key);
    try {
      await this.committer.commit(tx.items);
    } catch (err) {
      this.heads.delete(pk);
      const codes = cancellationCodes(err);
      if (codes === null) throw err;
      if (key !== undefined && codes[tx.keyAt] === 'ConditionalCheckFailed') {
        const replayed = await this.findReplay(tenant, orderId, key);
        if (replayed !== null) return answer(replayed);
      }
      return !seen.fresh && codes[0] === 'ConditionalCheckFailed' ? RETRY_AT_ONCE : RETRY_AFTER_BACKOFF;
    }
    const after = applyChange(seen.head, plan.change, tx.lastSeq, tx.event.at);
    this.heads.set(pk, { head: after, roomEpoch: seen.roomEpoch });
    return answer({ outcome: 'stored', seq: tx.event.seq, head: after, event: tx.event });
  }

  /**
   * The transaction of a plan decided on `seen`: the head moving from
   * `headSeq` on (conditional on the head and the room epoch the decision
   * saw, both unmoved), the event and its follow-up (new items), the
   * idempotency key (new), and the alert write.
   */
  private appendTransaction(
    pk: string,
    tenant: string,
    orderId: string,
    seen: SeenHead,
    plan: Append<EventDraft>,
    key: IdempotencyKey | undefined,
  ): AppendTransaction {
    const { head, roomEpoch } = seen;
    const seq = head.headSeq + 1;
    const event = { ...plan.event, seq } as OrderEvent;
    const followUp = plan.followUp === undefined ? undefined : ({ ...plan.followUp, seq: seq + 1 } as OrderEvent);
    const lastSeq = followUp?.seq ?? seq;
    // Who may read the order once this is stored: an assignment moves the right with it.
    const access: OrderAccess = { tenant, retailerId: head.retailerId, driverId: plan.change.driverId ?? head.driverId };
    const headUpdate = buildUpdate({
      ...headChangeUpdate(plan.change, lastSeq, event.at, tenant, orderId),
      condition: (p) =>
        roomEpoch === 0
          ? `${p.name('headSeq')} = ${p.value(head.headSeq)} AND attribute_not_exists(${p.name('roomEpoch')})`
          : `${p.name('headSeq')} = ${p.value(head.headSeq)} AND ${p.name('roomEpoch')} = ${p.value(roomEpoch)}`,
    });
    const items: TransactItem[] = [
      { Update: { TableName: this.tableName, Key: { pk, sk: keys.head }, ...headUpdate } },
      ...[event, ...(followUp ? [followUp] : [])].map((e) => this.putNew(eventToItem(access, e, roomEpoch))),
    ];
    // The idempotency key is always the item at index `keyAt`: its failure means a replay.
    const keyAt = items.length;
    if (key !== undefined) items.push(this.putNew(idempotencyKeyToItem(tenant, orderId, key, event)));
    if (plan.alert !== undefined) items.push(...alertWriteItems(this.tableName, tenant, orderId, plan.alert));
    return { items, keyAt, event, lastSeq };
  }

  /** A `Put` of an item that must not exist yet. */
  private putNew(item: Item): TransactItem {
    return { Put: { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } };
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
