/**
 * What callers can do with orders, whatever the transport: the HTTP API and
 * the WebSocket router both call this. It authorizes, asks the domain to
 * decide, and has the store make the decision durable.
 */
import { randomBytes } from 'node:crypto';
import { ConflictError, NotFoundError } from '../domain/errors';
import type { OrderEvent, OrderHead, OrderView, Principal } from '../domain/model';
import { checkpointOutcome, digestCreate, newOrder, orderView, planAssign, planCheckpoint, planMessage, planRead, readMarkOf } from '../domain/orders';
import { authorizeCreateOrder, authorizeDispatcher, authorizeReadOrder, listScope } from '../domain/permissions';
import { requestDigest } from '../domain/request-digest';
import { TimelineCsvWriter } from '../domain/csv';
import { RESPONSE_BODY_BUDGET_BYTES, responseBytes } from '../domain/payload';
import type { CheckpointFrame, CreateOrderBody, MessageFrame } from '../domain/schemas';
import type { Status } from '../domain/statuses';
import { dueAtFor, withStatusClock } from '../domain/sla';
import { CursorCodec } from '../runtime/cursor';
import type { AppendResult, OrderStore } from '../store/order-store';
import type { PolicyStore } from '../store/policy-store';

/** The most events one timeline page or one catch-up carries. */
export const TIMELINE_PAGE_MAX = 500;

export interface OrdersServiceDeps {
  readonly orders: OrderStore;
  /** The SLA policy in force per tenant: it sets each stay's due time. */
  readonly policies: Pick<PolicyStore, 'policyFor'>;
  readonly now?: () => Date;
  readonly newOrderId?: () => string;
  /**
   * Seals and opens list cursors; called when a list is first asked for (a
   * function that never lists needs no cursor key). The handlers give the
   * configured key (`WAYPOST_CURSOR_SECRET`, or derived from
   * `WAYPOST_JWT_SECRET`); the default, a random key, makes cursors good in
   * this process only.
   */
  readonly cursors?: () => CursorCodec;
}

export interface ListQuery {
  readonly status?: Status;
  readonly retailerId?: string;
  readonly stalled?: boolean;
  readonly cursor?: string;
  readonly limit?: number;
}

/** A checkpoint's ack, besides `type` and `reqId` (CONTRACT §5; `applied` per CONTRACT §3). */
export type CheckpointAckBody = {
  readonly orderId: string;
  readonly seq: number;
  /** The order's status after the checkpoint: for a late one, the current status, not the reported one. */
  readonly status: Status;
  readonly duplicate: boolean;
  /** False when the checkpoint was late and changed nothing; true otherwise. */
  readonly applied: boolean;
};

/** A sortable, unguessable order id. */
export function generateOrderId(): string {
  return `ord_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
}

export class OrdersService {
  private readonly orders: OrderStore;
  private readonly policies: Pick<PolicyStore, 'policyFor'>;
  private readonly now: () => Date;
  private readonly newOrderId: () => string;
  private readonly cursorCodec: () => CursorCodec;
  private codec: CursorCodec | undefined;

  constructor(deps: OrdersServiceDeps) {
    this.orders = deps.orders;
    this.policies = deps.policies;
    this.now = deps.now ?? (() => new Date());
    this.newOrderId = deps.newOrderId ?? generateOrderId;
    this.cursorCodec = deps.cursors ?? (() => CursorCodec.ephemeral());
  }

  /**
   * Create an order; the same id and body again is not an error (`created: false`), another body is `CONFLICT`.
   *
   * @throws {ForbiddenError} a retailer creating for another retailerId, or a driver
   * @throws {ConflictError} the orderId exists with another body
   */
  async create(p: Principal, body: CreateOrderBody): Promise<{ created: boolean; order: OrderView }> {
    authorizeCreateOrder(p, body.retailerId);
    const orderId = body.orderId ?? this.newOrderId();
    const now = this.now().toISOString();
    const { policy } = await this.policies.policyFor(p.tenant);
    const order = newOrder(p, orderId, { ...body, orderId }, now);
    const dueAt = dueAtFor(policy, 'created', now);
    const head = dueAt === null ? order.head : { ...order.head, dueAt };
    const result = await this.orders.createOrder(head, order.event);
    if (!result.created) {
      const existing = result.head;
      if (existing.createDigest !== digestCreate(body.retailerId, { ...body, orderId })) {
        throw new ConflictError(`Order "${orderId}" already exists with different details.`);
      }
      authorizeReadOrder(p, existing);
    }
    return { created: result.created, order: orderView(p, result.head) };
  }

  /**
   * The head of an order the caller may read.
   *
   * @throws {NotFoundError} no such order in the caller's tenant
   * @throws {ForbiddenError} it exists but is not the caller's to see
   */
  async readableHead(p: Principal, orderId: string): Promise<OrderHead> {
    const head = await this.orders.getOrder(p.tenant, orderId);
    if (head === null) throw new NotFoundError(`Order "${orderId}" not found.`);
    authorizeReadOrder(p, head);
    return head;
  }

  /**
   * Join the order's room: authorize `p` on the head, `join` (write the
   * membership), then move the room's membership epoch on, which gives the
   * head as of after the join: every later event reaches the new member live.
   * With `sinceSeq`, also the events in (sinceSeq, headSeq], at most a page
   * (`more` when there are more). The head is read once.
   */
  async joinRoom(
    p: Principal,
    orderId: string,
    join: () => Promise<void>,
    sinceSeq?: number,
  ): Promise<{ headSeq: number; catchUp?: { items: OrderEvent[]; more: boolean } }> {
    await this.readableHead(p, orderId);
    await join();
    const { headSeq } = await this.orders.bumpRoomEpoch(p.tenant, orderId);
    if (sinceSeq === undefined) return { headSeq };
    const missing = Math.max(0, headSeq - sinceSeq);
    const take = Math.min(missing, TIMELINE_PAGE_MAX);
    const items = take > 0 ? await this.orders.timeline(p.tenant, orderId, sinceSeq, take) : [];
    return { headSeq, catchUp: { items, more: missing > take } };
  }

  /**
   * Someone left the order's room: move the room's membership epoch on; the
   * head as it is now.
   */
  async roomChanged(p: Principal, orderId: string): Promise<OrderHead> {
    return this.orders.bumpRoomEpoch(p.tenant, orderId);
  }

  /**
   * The order as `p` may see it (a recipient's phone only for dispatchers and the assigned driver).
   *
   * @throws {NotFoundError} {ForbiddenError} as `readableHead`
   */
  async get(p: Principal, orderId: string): Promise<OrderView> {
    return orderView(p, await this.readableHead(p, orderId));
  }

  /**
   * Assign a driver (dispatchers only); the same driver again changes nothing.
   *
   * @throws {ForbiddenError} `p` is not a dispatcher
   * @throws {NotFoundError} no such order
   * @throws {ConflictError} the order is delivered or final (CONTRACT §4)
   * @throws {RateLimitedError} too many writers raced for the order
   */
  async assign(p: Principal, orderId: string, driverId: string): Promise<OrderView> {
    authorizeDispatcher(p, 'assign drivers');
    const now = this.now().toISOString();
    const result = await this.orders.append(p.tenant, orderId, (head) => planAssign(p, head, driverId, now));
    return orderView(p, result.outcome === 'stored' || result.outcome === 'unchanged' ? result.head : await this.readableHead(p, orderId));
  }

  /**
   * Orders in the caller's scope, newest first, at most `limit` (default 50).
   * Filters apply within each index page; a page may come back short with a
   * cursor to go on. The cursor is signed and bound to the tenant, the
   * caller's scope (all of the tenant, a retailer, a driver) and the filters
   * (`status`, `stalled`; `retailerId` is part of the scope), so it is good
   * only for the same query (CONTRACT §4); `limit` may change between pages.
   *
   * @throws InvalidCursorError (`400 VALIDATION`, `details.field: "cursor"`)
   *   for any cursor not issued for this tenant, scope and filters.
   * @throws ForbiddenError for a `retailerId` outside the caller's rights.
   */
  async list(p: Principal, q: ListQuery): Promise<{ orders: OrderView[]; cursor?: string }> {
    const scope = listScope(p, q.retailerId);
    const binding = [
      'orders',
      p.tenant,
      scope.by === 'tenant' ? 'tenant' : scope.by === 'retailer' ? `retailer:${scope.retailerId}` : `driver:${scope.driverId}`,
      q.status ?? '',
      q.stalled === true ? 'stalled' : '',
    ];
    const limit = q.limit ?? 50;
    const wanted: OrderView[] = [];
    this.codec ??= this.cursorCodec();
    const codec = this.codec;
    let next = q.cursor === undefined ? undefined : codec.open(q.cursor, binding);
    // Read index pages until the page is full or the index ends, within a bound;
    // never more index items than the page still has room for, so it never overflows.
    for (let round = 0; round < 10; round++) {
      const page = await this.orders.listOrders(p.tenant, scope, limit - wanted.length, next);
      for (const head of page.items) {
        if (q.status !== undefined && head.status !== q.status) continue;
        if (q.stalled === true && head.openAlertId === undefined) continue;
        wanted.push(orderView(p, head));
      }
      next = page.next;
      if (next === undefined || wanted.length >= limit) break;
    }
    return next === undefined ? { orders: wanted } : { orders: wanted, cursor: codec.seal(next, binding) };
  }

  /**
   * Events with seq in (sinceSeq, …], in seq order: at most `limit` (default
   * and most 500), and fewer when more would make the answer cost over
   * `budgetBytes` in a Lambda response (`responseBytes` of the events' JSON;
   * the first event always comes). A client goes on from the last seq it got
   * until it reaches `headSeq`.
   *
   * @throws NotFoundError / ForbiddenError the caller may not see the order.
   */
  async timeline(
    p: Principal,
    orderId: string,
    sinceSeq = 0,
    limit = TIMELINE_PAGE_MAX,
    budgetBytes = RESPONSE_BODY_BUDGET_BYTES,
  ): Promise<{ items: OrderEvent[]; headSeq: number }> {
    const head = await this.readableHead(p, orderId);
    const page = sinceSeq >= head.headSeq ? [] : await this.orders.timeline(p.tenant, orderId, sinceSeq, limit);
    let used = 0;
    let take = 0;
    for (const e of page) {
      // Each item, its comma included.
      used += responseBytes(JSON.stringify(e)) + 1;
      if (take > 0 && used > budgetBytes) break;
      take++;
    }
    return { items: take === page.length ? page : page.slice(0, take), headSeq: head.headSeq };
  }

  /**
   * The order's timeline as CSV from `sinceSeq` on (`TimelineCsvWriter`):
   * read in pages of `TIMELINE_PAGE_MAX`, and cut before the part would cost
   * over `budgetBytes` (5 MiB by default, under Lambda's 6 MB response
   * limit). When cut, `nextSinceSeq` is the seq of the part's last row: the
   * rest starts after it.
   *
   * @throws NotFoundError / ForbiddenError the caller may not see the order.
   */
  async timelineCsv(
    p: Principal,
    orderId: string,
    sinceSeq = 0,
    budgetBytes = RESPONSE_BODY_BUDGET_BYTES,
  ): Promise<{ csv: string; nextSinceSeq?: number }> {
    const head = await this.readableHead(p, orderId);
    const part = new TimelineCsvWriter(budgetBytes);
    let since = sinceSeq;
    while (since < head.headSeq) {
      const page = await this.orders.timeline(p.tenant, orderId, since, TIMELINE_PAGE_MAX);
      if (page.length === 0) break;
      for (const e of page) {
        if (!part.add(e)) return { csv: part.text(), nextSinceSeq: since };
        since = e.seq;
      }
    }
    return { csv: part.text() };
  }

  /**
   * Post a checkpoint (CONTRACT §3, §5). The ack carries `status`, the
   * order's status after it, and `applied`: false for a late checkpoint
   * (recorded with `late: true`, status unchanged, so `status` is the
   * current one), true for every other. Its `eventId` is an idempotency key
   * shared with message ids: the same request again acks as the original did,
   * with `duplicate: true`; another request under the id is CONFLICT. Either
   * way nothing new is stored.
   *
   * @throws ConflictError the id was used for another request (a different
   *   field, or a message), for a caller who may see the order.
   * @throws ForbiddenError / NotFoundError the caller may not see the order
   *   (checked before anything about the id is said).
   * @throws VALIDATION (`occurredAt` out of bounds), ILLEGAL_TRANSITION,
   *   RATE_LIMITED; nothing is stored then.
   */
  async checkpoint(p: Principal, frame: CheckpointFrame): Promise<CheckpointAckBody> {
    const now = this.now();
    const { policy } = await this.policies.policyFor(p.tenant);
    const decide = (head: OrderHead) => withStatusClock(head, planCheckpoint(p, head, frame, now.toISOString()), policy, now);
    const result = await this.orders.append(p.tenant, frame.orderId, decide, {
      id: frame.eventId,
      kind: 'checkpoint',
      digest: requestDigest('checkpoint', frame),
    });
    await this.settleReplay(p, frame.orderId, result, 'eventId', frame.eventId);
    if (result.outcome === 'duplicate') {
      // Keys stored before late checkpoints existed carry no `applied`: all of those were applied.
      return { orderId: frame.orderId, seq: result.seq, status: result.status ?? frame.status, applied: result.applied ?? true, duplicate: true };
    }
    if (result.outcome !== 'stored' || result.event.kind !== 'checkpoint') throw new Error('a checkpoint always records a checkpoint event');
    return { orderId: frame.orderId, seq: result.seq, ...checkpointOutcome(result.event), duplicate: false };
  }

  /**
   * Record a message (CONTRACT §5); its `messageId` is an idempotency key as
   * for `checkpoint`.
   *
   * @throws ConflictError the id was used for another request.
   * @throws ForbiddenError / NotFoundError the caller may not see the order.
   */
  async message(p: Principal, frame: MessageFrame): Promise<{ orderId: string; seq: number; duplicate: boolean }> {
    const now = this.now().toISOString();
    const result = await this.orders.append(p.tenant, frame.orderId, (head) => planMessage(p, head, frame, now), {
      id: frame.messageId,
      kind: 'message',
      digest: requestDigest('message', frame),
    });
    await this.settleReplay(p, frame.orderId, result, 'messageId', frame.messageId);
    if (result.outcome === 'duplicate') return { orderId: frame.orderId, seq: result.seq, duplicate: true };
    if (result.outcome !== 'stored') throw new Error('a message always records an event');
    return { orderId: frame.orderId, seq: result.seq, duplicate: false };
  }

  /**
   * Mark the order's timeline read up to `seq` for `p`; a mark never moves back
   * (the ack carries the mark as it stands, which may be higher than `seq`).
   *
   * @throws {NotFoundError} {ForbiddenError} the caller may not see the order
   * @throws {ValidationError} `seq` past the order's headSeq
   */
  async read(p: Principal, orderId: string, seq: number): Promise<{ orderId: string; seq: number }> {
    const now = this.now().toISOString();
    const result = await this.orders.append(p.tenant, orderId, (head) => planRead(p, head, seq, now));
    const mark = result.outcome === 'stored' || result.outcome === 'unchanged' ? (readMarkOf(result.head, p.sub) ?? seq) : seq;
    return { orderId, seq: mark };
  }

  /**
   * An id seen before: a true replay acks with its original seq, another
   * request is CONFLICT; but either only to whoever stored it or to someone
   * who may see the order, so an id is not a way to learn about other orders
   * (anyone else gets FORBIDDEN, or NOT_FOUND across tenants).
   */
  private async settleReplay(p: Principal, orderId: string, result: AppendResult, field: 'eventId' | 'messageId', id: string): Promise<void> {
    if (result.outcome !== 'duplicate' && result.outcome !== 'conflict') return;
    if (result.by !== p.sub) await this.readableHead(p, orderId);
    if (result.outcome === 'conflict') {
      throw new ConflictError(
        `The ${field} "${id}" was already used on order "${orderId}" for a different request (a ${result.kind}); a new request needs a new id.`,
        { field, id, usedFor: result.kind },
      );
    }
  }
}
