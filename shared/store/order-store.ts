/**
 * Where orders live. Services get an `OrderStore`; the DynamoDB one is
 * `DynamoOrderStore` beside this file.
 */
import type { EventDraft, OrderEvent, OrderHead } from '../domain/model';
import type { Append } from '../domain/orders';
import type { ListScope } from '../domain/permissions';
import type { IdempotentKind } from '../domain/request-digest';
import type { Status } from '../domain/statuses';

/**
 * An idempotency key: the client-made id of a checkpoint or message (one
 * namespace per order, CONTRACT §5), with the kind and digest of the request
 * that uses it (`requestDigest`). Stored as `ID#<id>` beside the event.
 */
export interface IdempotencyKey {
  readonly id: string;
  readonly kind: IdempotentKind;
  /** `requestDigest(kind, frame)`: stored with the key, compared on a replay. */
  readonly digest: string;
}

export type AppendResult =
  /** The event was stored with this seq. */
  | { readonly outcome: 'stored'; readonly seq: number; readonly head: OrderHead; readonly event: OrderEvent }
  /**
   * The idempotency key was seen before, for the same request: nothing
   * stored; its seq, who stored it and, for a checkpoint, what its ack said:
   * `status` and `applied` (`applied` is absent on keys stored before late
   * checkpoints existed, all of which were applied).
   */
  | { readonly outcome: 'duplicate'; readonly seq: number; readonly by: string; readonly status?: Status; readonly applied?: boolean }
  /**
   * The idempotency key was seen before, for another request (`judgeReplay`):
   * nothing stored. Who stored it, so the caller can check rights before
   * saying CONFLICT (an id must not reveal an order to someone who may not see it).
   */
  | { readonly outcome: 'conflict'; readonly seq: number; readonly by: string; readonly kind: string }
  /** The decision was that there was nothing to record. */
  | { readonly outcome: 'unchanged'; readonly head: OrderHead };

/** One page of a listing, and where the next one starts (absent at the end). */
export interface Page<T> {
  readonly items: T[];
  /**
   * The store's own spelling of the position after this page (for orders: the
   * listing index's sort key of the last index item read). Not for clients:
   * the service seals it into a signed cursor (`runtime/cursor.ts`).
   */
  readonly next?: string;
}

export interface OrderStore {
  /**
   * Store a new order and its `created` event, unless an order with that id
   * exists: then nothing is written and the existing head is returned.
   */
  createOrder(head: OrderHead, event: OrderEvent): Promise<{ created: boolean; head: OrderHead }>;

  getOrder(tenant: string, orderId: string): Promise<OrderHead | null>;

  /**
   * Append one timeline event atomically: `decide` sees the current head and
   * returns the event and head change (or null for nothing to do, or throws);
   * it may read what else it needs, and is called again after a lost race.
   * The head moves from `headSeq` to `headSeq + 1` only if nobody else moved
   * it first; a lost race re-reads and decides again. With an idempotency key,
   * a key seen before stores nothing and returns `duplicate` (the same
   * request: its original seq) or `conflict` (another request), as
   * `judgeReplay` decides on the stored kind and digest. That is decided both
   * when `decide` throws (a replay is answered before the rules) and when the
   * key's condition fails in the write (another writer stored it first).
   */
  append(
    tenant: string,
    orderId: string,
    decide: (head: OrderHead) => Append<EventDraft> | null | Promise<Append<EventDraft> | null>,
    key?: IdempotencyKey,
  ): Promise<AppendResult>;

  /**
   * An order room's members changed: move the room's membership epoch on and
   * return the head as it is after that (NOT_FOUND when there is no order).
   * Events stored afterwards carry the new epoch.
   */
  bumpRoomEpoch(tenant: string, orderId: string): Promise<OrderHead>;

  /** Events with seq in (sinceSeq, sinceSeq + limit], in seq order. */
  timeline(tenant: string, orderId: string, sinceSeq: number, limit: number): Promise<OrderEvent[]>;

  /**
   * Order heads in a scope, newest first: at most `limit` index items from
   * `after` (a `next` this store returned for the same tenant and scope), so
   * at most `limit` heads.
   *
   * @throws InvalidCursorError when `after` is not a position this store spells.
   */
  listOrders(tenant: string, scope: ListScope, limit: number, after?: string): Promise<Page<OrderHead>>;
}
