/**
 * Order decisions: given the current head and a request, what event is
 * recorded and how the head changes. Pure: values in, values or typed errors
 * out. Storage makes the result durable atomically (see `OrderStore`).
 */
import { ConflictError, IllegalTransitionError, ValidationError } from './errors';
import type {
  AssignedEvent,
  CheckpointEvent,
  CreatedEvent,
  EventDraft,
  MessageEvent,
  OrderHead,
  OrderView,
  Principal,
  ReadEvent,
} from './model';
import { authorizeCheckpoint, authorizeMessage, authorizeReadOrder, maySeePhone } from './permissions';
import { canonicalDigest } from './request-digest';
import type { CheckpointFrame, CreateOrderBody, MessageFrame } from './schemas';
import type { Alert, AlertState } from './sla';
import { acceptsAssignment, CARRIER_STATUSES, classifyTransition, STATUS_TABLE, type Status } from './statuses';
import { dict, ownValue } from './user-keys';

/** What an accepted request changes on the head, besides headSeq and updatedAt. */
export interface HeadChange {
  readonly status?: OrderHead['status'];
  readonly statusSince?: string;
  /** The device time of the checkpoint that set `status` (see `OrderHead.statusOccurredAt`). */
  readonly statusOccurredAt?: string;
  readonly driverId?: string;
  readonly pickedUpAt?: string;
  readonly lastLocation?: OrderHead['lastLocation'];
  readonly readMark?: { readonly sub: string; readonly seq: number };
  /** The SLA clock: when the sweep should look next (null: stop the clock). */
  readonly dueAt?: string | null;
  /** The alert of the current stay (null: none any more). */
  readonly openAlertId?: string | null;
  readonly alertLevel?: number | null;
}

/** SMS to send for a fired level, kept as an outbox so a crash between write and send loses nothing. */
export interface SmsOutboxEntry {
  readonly level: number;
  readonly index: number;
  readonly to: string;
  readonly text: string;
}

/** What an append does to an alert, in the same transaction. */
export type AlertWrite =
  | { readonly op: 'open'; readonly alert: Alert; readonly outbox: readonly SmsOutboxEntry[] }
  | {
      readonly op: 'update';
      readonly alertId: string;
      /** The write happens only if the alert is in one of these states (and at this level, when given). */
      readonly expectStates: readonly AlertState[];
      readonly expectLevel?: number;
      readonly set: Partial<Pick<Alert, 'state' | 'level' | 'acknowledgedAt' | 'acknowledgedBy' | 'resolvedAt'>>;
      readonly outbox: readonly SmsOutboxEntry[];
    };

/** An event to append and the head change that goes with it, in one write. */
export interface Append<E extends EventDraft = EventDraft> {
  readonly event: E;
  /** A second event in the same write (seq + 1), e.g. the alert resolved by a checkpoint. */
  readonly followUp?: EventDraft;
  readonly change: HeadChange;
  readonly alert?: AlertWrite;
}

/**
 * A stable digest of a create request (CONTRACT §4: the same orderId and body
 * again is 200, another body 409): `canonicalDigest` of the body with its
 * `retailerId`, so the same body twice, in any key order, gives the same
 * digest. Stored on the head as `createDigest`; unchanged in form since
 * orders were first stored, so old heads still compare.
 */
export function digestCreate(retailerId: string, body: CreateOrderBody): string {
  return canonicalDigest({ ...body, retailerId });
}

/** The head and first event (seq 1) of a new order. */
export function newOrder(
  p: Principal,
  orderId: string,
  body: CreateOrderBody,
  now: string,
): { head: OrderHead; event: CreatedEvent } {
  const head: OrderHead = {
    tenant: p.tenant,
    orderId,
    retailerId: body.retailerId,
    status: 'created',
    statusSince: now,
    headSeq: 1,
    recipient: body.recipient,
    destination: body.destination,
    ...(body.promisedBy !== undefined && { promisedBy: body.promisedBy }),
    createdAt: now,
    updatedAt: now,
    createDigest: digestCreate(body.retailerId, body),
    readMarks: dict(),
  };
  const event: CreatedEvent = {
    orderId,
    seq: 1,
    kind: 'created',
    at: now,
    actor: { sub: p.sub, role: p.role },
    status: 'created',
    retailerId: body.retailerId,
    recipientName: body.recipient.name,
    destination: body.destination,
    ...(body.promisedBy !== undefined && { promisedBy: body.promisedBy }),
  };
  return { head, event };
}

/**
 * How far ahead of the server's clock a checkpoint's `occurredAt` may be:
 * 5 minutes (CONTRACT §3). Further ahead, the device clock is wrong and the
 * checkpoint is `VALIDATION`.
 */
export const OCCURRED_AT_MAX_AHEAD_MS = 5 * 60 * 1000;

/**
 * How far behind the server's clock a checkpoint's `occurredAt` may be:
 * 7 days (CONTRACT §3). Further behind, the device clock is wrong (or the
 * queue too stale to trust) and the checkpoint is `VALIDATION`.
 */
export const OCCURRED_AT_MAX_BEHIND_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Check a checkpoint's device time against the server's clock (CONTRACT §3):
 * at most `OCCURRED_AT_MAX_AHEAD_MS` ahead of `now` and at most
 * `OCCURRED_AT_MAX_BEHIND_MS` behind it, both limits included.
 *
 * @param occurredAt ISO 8601 with a zone (any offset), as the schema accepts it.
 * @param now the server's time, ISO 8601.
 * @returns `occurredAt` as epoch milliseconds.
 * @throws ValidationError naming the field `occurredAt` (in the message and
 *   in `details.issues[0].field`) when it is out of bounds or not a time.
 */
export function checkOccurredAt(occurredAt: string, now: string): number {
  const at = Date.parse(occurredAt);
  const nowMs = Date.parse(now);
  const refuse = (why: string): never => {
    throw new ValidationError(`Invalid checkpoint: "occurredAt" ${why}`, { issues: [{ field: 'occurredAt', message: why }] });
  };
  if (Number.isNaN(at)) return refuse('must be an ISO 8601 time with a zone');
  if (at - nowMs > OCCURRED_AT_MAX_AHEAD_MS) {
    return refuse("is more than 5 minutes ahead of the server's clock; the device clock is wrong");
  }
  if (nowMs - at > OCCURRED_AT_MAX_BEHIND_MS) {
    return refuse("is more than 7 days behind the server's clock; the device clock is wrong");
  }
  return at;
}

/**
 * Is a checkpoint that happened at `occurredAtMs` late for this order
 * (CONTRACT §3)? Late means strictly earlier than the `occurredAt` of the
 * checkpoint that set the current status, compared as instants (epoch
 * milliseconds, whatever the zone offsets). An equal time is not late. An
 * order with no `statusOccurredAt` (status set at creation, or an old head)
 * has nothing late.
 */
export function isLate(head: Pick<OrderHead, 'statusOccurredAt'>, occurredAtMs: number): boolean {
  if (head.statusOccurredAt === undefined) return false;
  const current = Date.parse(head.statusOccurredAt);
  return !Number.isNaN(current) && occurredAtMs < current;
}

/**
 * Decide a checkpoint (CONTRACT §3), in this order:
 *
 * 1. authorize (`FORBIDDEN` as for any checkpoint, late or not);
 * 2. bound `occurredAt` against `now` (`checkOccurredAt`: `VALIDATION`);
 * 3. a late checkpoint (`isLate`) is recorded with `late: true` whatever its
 *    status, even one not reachable from the current one, and changes nothing
 *    on the head: not the status, its clock, the alert or `lastLocation`;
 * 4. otherwise the transition: an illegal one throws `ILLEGAL_TRANSITION`; a
 *    same-status checkpoint is a progress update (recorded, status and its
 *    clock untouched, `lastLocation` moved); a move sets the status,
 *    `statusSince` (server time) and `statusOccurredAt` (device time).
 *
 * @param now the server's time, ISO 8601; the event's `at` and the clock for the bounds.
 * @throws ForbiddenError, ValidationError, IllegalTransitionError. Nothing is stored on a throw.
 */
export function planCheckpoint(
  p: Principal,
  head: OrderHead,
  frame: CheckpointFrame,
  now: string,
): Append<Omit<CheckpointEvent, 'seq'>> {
  authorizeCheckpoint(p, head, frame.status);
  const late = isLate(head, checkOccurredAt(frame.occurredAt, now));
  const kind = late ? 'late' : classifyTransition(head.status, frame.status);
  if (kind === 'illegal') {
    throw new IllegalTransitionError(head.status, frame.status, STATUS_TABLE[head.status].next);
  }
  const statusChanged = kind === 'move';
  const event: Omit<CheckpointEvent, 'seq'> = {
    orderId: head.orderId,
    kind: 'checkpoint',
    at: now,
    actor: { sub: p.sub, role: p.role },
    eventId: frame.eventId,
    status: frame.status,
    previousStatus: head.status,
    statusChanged,
    ...(late && { late: true }),
    occurredAt: frame.occurredAt,
    ...(frame.location !== undefined && { location: frame.location }),
    ...(frame.note !== undefined && { note: frame.note }),
    ...(frame.reason !== undefined && { reason: frame.reason }),
    ...(frame.proof !== undefined && { proof: frame.proof }),
  };
  if (late) return { event, change: {} };
  const change: HeadChange = {
    ...(statusChanged && { status: frame.status, statusSince: now, statusOccurredAt: frame.occurredAt }),
    ...(statusChanged && CARRIER_STATUSES.includes(frame.status) && head.pickedUpAt === undefined && { pickedUpAt: now }),
    ...(frame.location !== undefined && { lastLocation: frame.location }),
  };
  return { event, change };
}

/** What a checkpoint's ack says besides its seq and `duplicate` (CONTRACT §5, §3). */
export interface CheckpointOutcome {
  /** The order's status after the checkpoint: the reported one, or for a late checkpoint the unchanged current one. */
  readonly status: Status;
  /** False for a late checkpoint (recorded, changed nothing); true for every other stored checkpoint. */
  readonly applied: boolean;
}

/**
 * What the ack of a stored checkpoint carries, from the stored event alone,
 * so the first ack and every replay's ack (rebuilt from the idempotency key)
 * say the same.
 */
export function checkpointOutcome(event: Pick<CheckpointEvent, 'status' | 'previousStatus' | 'late'>): CheckpointOutcome {
  return event.late === true ? { status: event.previousStatus, applied: false } : { status: event.status, applied: true };
}

export function planMessage(p: Principal, head: OrderHead, frame: MessageFrame, now: string): Append<Omit<MessageEvent, 'seq'>> {
  authorizeMessage(p, head);
  return {
    event: {
      orderId: head.orderId,
      kind: 'message',
      at: now,
      actor: { sub: p.sub, role: p.role },
      messageId: frame.messageId,
      ...(frame.text !== undefined && { text: frame.text }),
      ...(frame.attachment !== undefined && { attachment: frame.attachment }),
    },
    change: {},
  };
}

/**
 * A read mark. Returns `null` when the principal has already read this far:
 * nothing to record. A mark beyond the head is a validation error.
 */
export function planRead(p: Principal, head: OrderHead, seq: number, now: string): Append<Omit<ReadEvent, 'seq'>> | null {
  authorizeReadOrder(p, head);
  if (seq > head.headSeq) {
    throw new ValidationError(`Invalid request: "seq" must be at most the order's headSeq (${head.headSeq})`, {
      issues: [{ field: 'seq', message: `must be at most ${head.headSeq}` }],
    });
  }
  if ((readMarkOf(head, p.sub) ?? 0) >= seq) return null;
  return {
    event: { orderId: head.orderId, kind: 'read', at: now, actor: { sub: p.sub, role: p.role }, readSeq: seq },
    change: { readMark: { sub: p.sub, seq } },
  };
}

/**
 * Assign `driverId` to the order (the caller is a dispatcher: `OrdersService`
 * checks). Null when that driver already has it: nothing to record.
 *
 * @throws ConflictError (409) when the order is `delivered` or in a final
 *   status, whichever driver is asked for, the one it has included
 *   (CONTRACT §4); `details.status` is the order's status.
 */
export function planAssign(p: Principal, head: OrderHead, driverId: string, now: string): Append<Omit<AssignedEvent, 'seq'>> | null {
  if (!acceptsAssignment(head.status)) {
    throw new ConflictError(`Order "${head.orderId}" is ${head.status}: no driver can be assigned to it any more.`, { status: head.status });
  }
  if (head.driverId === driverId) return null;
  return {
    event: {
      orderId: head.orderId,
      kind: 'assigned',
      at: now,
      actor: { sub: p.sub, role: p.role },
      driverId,
      ...(head.driverId !== undefined && { previousDriverId: head.driverId }),
    },
    change: { driverId },
  };
}

/**
 * The highest seq `sub` has read on the order, or `undefined` if they have
 * read nothing. Subs are user-made: read by own property, so a sub such as
 * `constructor` or `__proto__` has a mark like any other (see `user-keys.ts`).
 */
export function readMarkOf(head: Pick<OrderHead, 'readMarks'>, sub: string): number | undefined {
  return ownValue(head.readMarks, sub);
}

/**
 * Read marks with `sub`'s mark set to `seq`: a new prototype-less object
 * (`dict`), the head's own left as it was. Keys are subs, so a `__proto__`
 * sub is an own key like any other.
 */
export function withReadMark(marks: OrderHead['readMarks'], sub: string, seq: number): Record<string, number> {
  return dict([...Object.entries(marks), [sub, seq]]);
}

/**
 * The order as `p` may see it: the recipient's phone only for dispatchers
 * and the assigned driver. `readMarks` is a prototype-less copy keyed by sub
 * (every sub's mark, `__proto__` included, serializes as an own key).
 */
export function orderView(p: Principal, head: OrderHead): OrderView {
  const recipient = maySeePhone(p, head) ? head.recipient : { name: head.recipient.name };
  return {
    orderId: head.orderId,
    tenant: head.tenant,
    retailerId: head.retailerId,
    ...(head.driverId !== undefined && { driverId: head.driverId }),
    status: head.status,
    statusSince: head.statusSince,
    headSeq: head.headSeq,
    recipient,
    destination: head.destination,
    ...(head.promisedBy !== undefined && { promisedBy: head.promisedBy }),
    createdAt: head.createdAt,
    updatedAt: head.updatedAt,
    ...(head.lastLocation !== undefined && { lastLocation: head.lastLocation }),
    readMarks: dict(Object.entries(head.readMarks)),
    ...(head.openAlertId !== undefined && { openAlertId: head.openAlertId }),
    ...(head.dueAt !== undefined && { dueAt: head.dueAt }),
  };
}
