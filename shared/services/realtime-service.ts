/**
 * The WebSocket API (CONTRACT §5), once a frame has been read: connect,
 * disconnect, and the ack of each request, dispatched from one handler per
 * action of the protocol table (`shared/domain/protocol.ts`). The transport
 * (frame size, base64, JSON, `reqId`, the action's name, error replies) is
 * the `$default` handler's middleware (`functions/common/ws-frame.ts`); here
 * each request is checked in this order: who is asking, fields, rights.
 */
import { UnauthorizedError } from '../domain/errors';
import type { Principal } from '../domain/model';
import { authorizeRenewal } from '../domain/permissions';
import { ackReply, errorReply, parseRequest, type Action, type AckFieldsOf, type ErrorReply, type RequestOf } from '../domain/protocol';
import { kindOf, orderIdOfRoom, parseRoom } from '../domain/rooms';
import type { AlertView } from '../domain/sla';
import type { TokenVerifier, VerifiedToken } from '../runtime/auth';
import type { Logger } from '../runtime/log';
import { RecentMap } from '../runtime/recent-map';
import type { ConnectionHolder, ConnectionStore } from '../store/connection-store';
import type { OrdersService } from './orders-service';

/**
 * The most bytes (UTF-8, the whole serialized frame) a subscribe ack may
 * have: 128 KiB, API Gateway's WebSocket message limit (CONTRACT §5: "A
 * `subscribe` ack is at most 128 KiB").
 */
export const SUBSCRIBE_ACK_MAX_BYTES = 128 * 1024;

const utf8Bytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

/**
 * The catch-up a subscribe ack can carry within `maxBytes`: the first events
 * of `catchUp.items` (whole events, in the order given) such that
 * `JSON.stringify({...envelope, items, more})` is at most `maxBytes` UTF-8
 * bytes; `more` is true when any event was left out (or already was).
 * Nothing is left out when everything fits. If not even one event fits, the
 * items are empty and `more` is true (the client pages over HTTP); an event
 * is at most a 64 KiB request plus what the server adds, so one always fits
 * in practice.
 *
 * @param envelope the ack's other fields, exactly as sent (`type`, `reqId`, `room`, `headSeq`)
 * @param catchUp the events read for it, in seq order, and whether more were left unread
 * @param maxBytes the limit, in bytes (default 128 KiB)
 */
export function fitCatchUp<T>(
  envelope: Record<string, unknown>,
  catchUp: { readonly items: readonly T[]; readonly more: boolean },
  maxBytes: number = SUBSCRIBE_ACK_MAX_BYTES,
): { items: T[]; more: boolean } {
  const sizes = catchUp.items.map(utf8Bytes);
  // `[a,b,c]` is `[]` plus each event plus a comma between two.
  const allItems = sizes.reduce((sum, size) => sum + size, 0) + Math.max(0, sizes.length - 1);
  if (utf8Bytes({ ...envelope, items: [], more: catchUp.more }) + allItems <= maxBytes) {
    return { items: [...catchUp.items], more: catchUp.more };
  }
  const budget = maxBytes - utf8Bytes({ ...envelope, items: [], more: true });
  let used = 0;
  let n = 0;
  for (const size of sizes) {
    const next = used + size + (n > 0 ? 1 : 0);
    if (next > budget) break;
    used = next;
    n++;
  }
  // Everything fitting only with `more: true` (one byte shorter than `false`) is still a cut.
  return { items: catchUp.items.slice(0, Math.min(n, catchUp.items.length - 1)), more: true };
}

/** What `ackAlert` needs: acknowledging an alert as `p` (the SLA service). */
export interface AlertActions {
  /** @throws {NotFoundError} {ForbiddenError} as `SlaService.acknowledge` */
  acknowledge(p: Principal, alertId: string): Promise<AlertView>;
}

/** Who sent a request, on which connection, and the `reqId` its ack will echo. */
interface Call {
  readonly holder: ConnectionHolder;
  readonly connectionId: string;
  readonly reqId: string | undefined;
}

/** One action's handler: a parsed request in, the ack's fields out; throws `WaypostError`s for error replies. */
type ActionHandler<A extends Action> = (call: Call, request: RequestOf<A>) => Promise<AckFieldsOf<A>>;
/** A handler for every action of the protocol table: a missing one does not compile. */
type ActionHandlers = { readonly [A in Action]: ActionHandler<A> };

export interface RealtimeServiceDeps {
  readonly orders: OrdersService;
  readonly connections: ConnectionStore;
  readonly alerts: AlertActions;
  /** Verifies the token of an `auth` frame, as `$connect` verifies the first one. */
  readonly verifyToken: TokenVerifier;
  /**
   * Closes a connection from the server side (`DeleteConnection`): used for a
   * connection whose token has expired when it sends a frame.
   */
  readonly closeConnection: (connectionId: string) => Promise<unknown>;
  /**
   * Sends a frame to a connection (`PostToConnection`): the `UNAUTHORIZED`
   * reply to a frame from an expired connection goes this way, before the
   * connection is closed, since a route response after the close would be lost.
   */
  readonly push: (connectionId: string, data: string) => Promise<unknown>;
  readonly log: Logger;
  readonly now?: () => Date;
}

export class RealtimeService {
  /**
   * Who is behind a connection never changes while it is open, and its expiry
   * changes only by `auth`: each process remembers both instead of reading
   * them per frame. A remembered expiry that has passed is checked against
   * the table (another process may have renewed it) before it counts.
   */
  private readonly holders = new RecentMap<string, ConnectionHolder>(10_000);
  private readonly now: () => Date;

  constructor(private readonly deps: RealtimeServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Record a connection whose token verified: it lives until the token's `exp`. */
  async connect(connectionId: string, token: VerifiedToken): Promise<void> {
    await this.deps.connections.put(connectionId, token, this.now());
    this.holders.set(connectionId, token);
  }

  async disconnect(connectionId: string): Promise<void> {
    this.holders.delete(connectionId);
    await this.deps.connections.remove(connectionId);
  }

  /**
   * The ack's fields for one request whose frame was read (`action` is one
   * of the table's; `body` the whole JSON object): the connection's holder
   * is looked up, the fields parsed (`VALIDATION`), then the action's handler
   * decides. Throws the `WaypostError` to reply with. Null when the reply has
   * already been sent: a request from a connection whose token has expired
   * is answered `UNAUTHORIZED` over `@connections` and the connection is then
   * closed (CONTRACT §2: it lives no longer than its token).
   *
   * @throws {ValidationError} for bad fields; every error its action's handler throws
   */
  async handle<A extends Action>(connectionId: string, action: A, body: unknown, reqId: string | undefined): Promise<AckFieldsOf<A> | null> {
    try {
      const holder = await this.holderOf(connectionId);
      const request = parseRequest(action, body);
      const handler: ActionHandler<A> = this.handlers[action];
      return await handler({ holder, connectionId, reqId }, request);
    } catch (err) {
      if (!(err instanceof ExpiredConnectionError)) throw err;
      await this.refuseAndClose(connectionId, errorReply(err, reqId));
      return null;
    }
  }

  /** The protocol table's server half: one handler per action. */
  private readonly handlers: ActionHandlers = {
    subscribe: (call, request) => this.subscribe(call, request),
    unsubscribe: async ({ holder, connectionId }, { room }) => {
      const left = await this.deps.connections.leave(connectionId, holder.principal.tenant, room);
      const orderId = kindOf(parseRoom(room)).resumable ? orderIdOfRoom(room) : undefined;
      if (left && orderId !== undefined) await this.deps.orders.roomChanged(holder.principal, orderId);
      return { room };
    },
    checkpoint: ({ holder }, request) => this.deps.orders.checkpoint(holder.principal, request),
    message: ({ holder }, request) => this.deps.orders.message(holder.principal, request),
    read: ({ holder }, { orderId, seq }) => this.deps.orders.read(holder.principal, orderId, seq),
    ackAlert: async ({ holder }, { alertId }) => ({ alert: await this.deps.alerts.acknowledge(holder.principal, alertId) }),
    ping: async () => ({ now: this.now().toISOString() }),
    auth: (call, request) => this.renew(call, request),
  };

  /**
   * Who holds the connection, while its token lasts. A connection that is not
   * known, or whose token has expired (here and in the table), is closed and
   * refused with `UNAUTHORIZED`: it lives no longer than its token.
   */
  private async holderOf(connectionId: string): Promise<ConnectionHolder> {
    const nowMs = this.now().getTime();
    const cached = this.holders.get(connectionId);
    if (cached !== undefined && cached.exp * 1000 > nowMs) return cached;
    const record = await this.deps.connections.get(connectionId);
    if (record === null || record.exp * 1000 <= nowMs) {
      this.holders.delete(connectionId);
      throw new ExpiredConnectionError(
        record === null ? 'This connection is not known or has expired; reconnect.' : 'Your token has expired; connect again with a fresh one.',
      );
    }
    const holder: ConnectionHolder = { principal: record.principal, exp: record.exp };
    this.holders.set(connectionId, holder);
    return holder;
  }

  /** Send `reply` to an expired connection, then close it; it gets nothing after. */
  private async refuseAndClose(connectionId: string, reply: ErrorReply): Promise<void> {
    try {
      await this.deps.push(connectionId, JSON.stringify(reply));
    } catch (err) {
      this.deps.log.warn('could not tell an expired connection why it is closed', { connectionId, error: err });
    }
    try {
      await this.deps.closeConnection(connectionId);
    } catch (err) {
      this.deps.log.warn('could not close an expired connection', { connectionId, error: err });
    }
  }

  /**
   * `auth`: go on with a fresh token of the same identity. The token must
   * verify as at `$connect` (else `UNAUTHORIZED`) and prove the same sub,
   * tenant, role and retailerId (else `FORBIDDEN`); nothing changes on
   * failure. The connection and its memberships then live until the new
   * token's `exp`, which the ack carries (epoch seconds).
   */
  private async renew({ holder, connectionId }: Call, frame: RequestOf<'auth'>): Promise<{ exp: number }> {
    const next = await this.deps.verifyToken(frame.token);
    authorizeRenewal(holder.principal, next.principal);
    if (!(await this.deps.connections.renew(connectionId, next.exp))) {
      this.holders.delete(connectionId);
      throw new UnauthorizedError('This connection is not known or has expired; reconnect.');
    }
    this.holders.set(connectionId, { principal: holder.principal, exp: next.exp });
    return { exp: next.exp };
  }

  /**
   * Join a room. For an order room the ack carries its headSeq as of moving
   * the room's membership epoch on, *after* joining: every later event carries
   * the new epoch, so the fan-out reads the members again and this connection
   * gets it live; with `sinceSeq` the ack also carries the events in
   * (sinceSeq, headSeq], as many as fit in 128 KiB (`fitCatchUp`), at most
   * 500, with `more: true` when cut. A connection holding 500 rooms gets
   * `LIMIT_EXCEEDED` for another one (see `ConnectionStore.join`).
   */
  private async subscribe({ holder, connectionId, reqId }: Call, frame: RequestOf<'subscribe'>): Promise<AckFieldsOf<'subscribe'>> {
    const p = holder.principal;
    const room = parseRoom(frame.room);
    const kind = kindOf(room);
    if (kind.access === 'principal') {
      kind.authorize(p, room);
      await this.join(connectionId, frame.room, holder);
      return { room: frame.room };
    }
    const orderId = orderIdOfRoom(frame.room);
    if (orderId === undefined) throw new Error(`no order for room ${frame.room}`);
    const joined = await this.deps.orders.joinRoom(p, orderId, () => this.join(connectionId, frame.room, holder), frame.sinceSeq);
    const fields = { room: frame.room, headSeq: joined.headSeq };
    if (joined.catchUp === undefined) return fields;
    return { ...fields, ...fitCatchUp(ackReply(reqId, fields), joined.catchUp) };
  }

  /** Write the membership, carrying who holds it and until when (the fan-out checks both on every push). */
  private async join(connectionId: string, room: string, holder: ConnectionHolder): Promise<void> {
    const joined = await this.deps.connections.join(connectionId, room, holder);
    if (!joined) {
      this.holders.delete(connectionId);
      throw new UnauthorizedError('This connection is not known or has expired; reconnect.');
    }
  }
}

/** A frame from a connection whose token has expired (or that is not known): `UNAUTHORIZED`, and the connection is closed. */
class ExpiredConnectionError extends UnauthorizedError {}
