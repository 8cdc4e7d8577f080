/**
 * The WebSocket API (CONTRACT §5), independent of how frames arrive: connect,
 * disconnect, and one reply for each client frame. Every frame is checked in
 * the same order: size, JSON, action, who is asking, fields, rights.
 */
import {
  BadJsonError,
  PayloadTooLargeError,
  toPublicError,
  UnauthorizedError,
  UnknownActionError,
  ValidationError,
  type WaypostError,
} from '../domain/errors';
import type { Principal } from '../domain/model';
import { authorizeRenewal } from '../domain/permissions';
import { authorizeFeedRoom, parseRoom } from '../domain/rooms';
import { FRAME_SCHEMAS, isAction, parseOrThrow, type Frame, type FrameOf } from '../domain/schemas';
import type { TokenVerifier, VerifiedToken } from '../runtime/auth';
import type { Logger } from '../runtime/log';
import { RecentMap } from '../runtime/recent-map';
import type { ConnectionHolder, ConnectionStore } from '../store/connection-store';
import type { OrdersService } from './orders-service';

/** Requests over this many bytes are refused with PAYLOAD_TOO_LARGE. */
export const REQUEST_MAX_BYTES = 64 * 1024;

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

export type Reply =
  | ({ type: 'ack'; reqId?: string } & Record<string, unknown>)
  | { type: 'error'; reqId?: string; code: WaypostError['code']; message: string; details?: unknown };

/** Handles one action for a known principal; returns the ack's fields. */
export interface AlertActions {
  acknowledge(p: Principal, alertId: string): Promise<Record<string, unknown>>;
}

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

/** A request's `reqId` to echo: a non-empty string of at most 128 characters, else undefined. */
function reqIdOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const reqId = (value as { reqId?: unknown }).reqId;
  return typeof reqId === 'string' && reqId.length > 0 && reqId.length <= 128 ? reqId : undefined;
}

/**
 * The `reqId` of a frame's text, for a reply to a frame that is refused
 * before it is read as a request (too large, over its rate): undefined when
 * the text is not JSON, has none, or is over 128 KiB (no frame can be; the
 * text is not even parsed then).
 */
export function reqIdOfText(text: string): string | undefined {
  if (text.length > 128 * 1024) return undefined;
  try {
    return reqIdOf(JSON.parse(text));
  } catch {
    return undefined;
  }
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
   * The one reply to a client frame. Never throws. Null when the reply has
   * already been sent: a frame from a connection whose token has expired is
   * answered `UNAUTHORIZED` over `@connections` and the connection is then
   * closed (CONTRACT §2: it lives no longer than its token).
   */
  async handleFrame(connectionId: string, body: string | undefined): Promise<Reply | null> {
    let parsed: unknown;
    try {
      const text = body ?? '';
      if (Buffer.byteLength(text, 'utf8') > REQUEST_MAX_BYTES) {
        return this.errorReply(new PayloadTooLargeError(REQUEST_MAX_BYTES), reqIdOfText(text));
      }
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new BadJsonError();
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new ValidationError('Invalid request: a frame must be a JSON object with an "action".', {
          issues: [{ field: '(root)', message: 'must be an object' }],
        });
      }
      const action = (parsed as { action?: unknown }).action;
      if (action === undefined || typeof action !== 'string') {
        throw new ValidationError('Invalid request: "action" is required and must be a string.', {
          issues: [{ field: 'action', message: 'required string' }],
        });
      }
      if (!isAction(action)) throw new UnknownActionError(action);
      const holder = await this.holderOf(connectionId);
      const frame = parseOrThrow(FRAME_SCHEMAS[action], parsed, action) as Frame;
      const reqId = reqIdOf(parsed);
      const fields = await this.dispatch(holder, connectionId, frame, reqId);
      return { type: 'ack', ...(reqId !== undefined && { reqId }), ...fields };
    } catch (err) {
      const reqId = reqIdOf(parsed);
      if (err instanceof ExpiredConnectionError) {
        await this.refuseAndClose(connectionId, this.errorReply(err, reqId));
        return null;
      }
      const publicError = toPublicError(err);
      if (publicError.code === 'INTERNAL') {
        this.deps.log.error('frame failed', { connectionId, error: err });
      }
      return this.errorReply(publicError, reqId);
    }
  }

  private errorReply(err: WaypostError, reqId: string | undefined): Reply {
    return {
      type: 'error',
      ...(reqId !== undefined && { reqId }),
      code: err.code,
      message: err.message,
      ...(err.details !== undefined && { details: err.details }),
    };
  }

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
  private async refuseAndClose(connectionId: string, reply: Reply): Promise<void> {
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

  /** The ack's fields for one parsed frame; `reqId` is the one the ack will echo. */
  private async dispatch(holder: ConnectionHolder, connectionId: string, frame: Frame, reqId: string | undefined): Promise<Record<string, unknown>> {
    const p = holder.principal;
    switch (frame.action) {
      case 'subscribe':
        return this.subscribe(holder, connectionId, frame, reqId);
      case 'unsubscribe': {
        const left = await this.deps.connections.leave(connectionId, p.tenant, frame.room);
        const room = parseRoom(frame.room);
        if (left && room.type === 'order') await this.deps.orders.roomChanged(p, room.orderId);
        return { room: frame.room };
      }
      case 'checkpoint':
        return this.deps.orders.checkpoint(p, frame);
      case 'message':
        return this.deps.orders.message(p, frame);
      case 'read':
        return this.deps.orders.read(p, frame.orderId, frame.seq);
      case 'ackAlert':
        return this.deps.alerts.acknowledge(p, frame.alertId);
      case 'ping':
        return { now: this.now().toISOString() };
      case 'auth':
        return this.renew(holder, connectionId, frame);
    }
  }

  /**
   * `auth`: go on with a fresh token of the same identity. The token must
   * verify as at `$connect` (else `UNAUTHORIZED`) and prove the same sub,
   * tenant, role and retailerId (else `FORBIDDEN`); nothing changes on
   * failure. The connection and its memberships then live until the new
   * token's `exp`, which the ack carries (epoch seconds).
   */
  private async renew(holder: ConnectionHolder, connectionId: string, frame: FrameOf<'auth'>): Promise<{ exp: number }> {
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
  private async subscribe(
    holder: ConnectionHolder,
    connectionId: string,
    frame: FrameOf<'subscribe'>,
    reqId: string | undefined,
  ): Promise<Record<string, unknown>> {
    const p = holder.principal;
    const room = parseRoom(frame.room);
    if (room.type !== 'order') {
      authorizeFeedRoom(p, room);
      await this.join(connectionId, frame.room, holder);
      return { room: frame.room };
    }
    const joined = await this.deps.orders.joinRoom(p, room.orderId, () => this.join(connectionId, frame.room, holder), frame.sinceSeq);
    const fields = { room: frame.room, headSeq: joined.headSeq };
    if (joined.catchUp === undefined) return fields;
    return { ...fields, ...fitCatchUp({ type: 'ack', ...(reqId !== undefined && { reqId }), ...fields }, joined.catchUp) };
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
