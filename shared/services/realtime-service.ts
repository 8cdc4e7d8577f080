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
import { authorizeFeedRoom, parseRoom } from '../domain/rooms';
import { FRAME_SCHEMAS, isAction, parseOrThrow, type Frame, type FrameOf } from '../domain/schemas';
import type { Logger } from '../runtime/log';
import { RecentMap } from '../runtime/recent-map';
import type { ConnectionStore } from '../store/connection-store';
import type { OrdersService } from './orders-service';

/** Requests over this many bytes are refused with PAYLOAD_TOO_LARGE. */
export const REQUEST_MAX_BYTES = 64 * 1024;

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
  readonly log: Logger;
  readonly now?: () => Date;
}

function reqIdOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const reqId = (value as { reqId?: unknown }).reqId;
  return typeof reqId === 'string' && reqId.length > 0 && reqId.length <= 128 ? reqId : undefined;
}

export class RealtimeService {
  /** Who is behind a connection never changes while it is open: each process remembers it instead of reading it per frame. */
  private readonly principals = new RecentMap<string, Principal>(10_000);
  private readonly now: () => Date;

  constructor(private readonly deps: RealtimeServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async connect(connectionId: string, principal: Principal): Promise<void> {
    await this.deps.connections.put(connectionId, principal, this.now());
    this.principals.set(connectionId, principal);
  }

  async disconnect(connectionId: string): Promise<void> {
    this.principals.delete(connectionId);
    await this.deps.connections.remove(connectionId);
  }

  /** The one reply to a client frame. Never throws. */
  async handleFrame(connectionId: string, body: string | undefined): Promise<Reply> {
    let parsed: unknown;
    try {
      const text = body ?? '';
      if (Buffer.byteLength(text, 'utf8') > REQUEST_MAX_BYTES) {
        let reqId: string | undefined;
        try {
          reqId = reqIdOf(JSON.parse(text));
        } catch {
          // too large and not JSON: no reqId to echo
        }
        return this.errorReply(new PayloadTooLargeError(REQUEST_MAX_BYTES), reqId);
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
      const principal = await this.principalOf(connectionId);
      const frame = parseOrThrow(FRAME_SCHEMAS[action], parsed, action) as Frame;
      const fields = await this.dispatch(principal, connectionId, frame);
      const reqId = reqIdOf(parsed);
      return { type: 'ack', ...(reqId !== undefined && { reqId }), ...fields };
    } catch (err) {
      const reqId = reqIdOf(parsed);
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

  private async principalOf(connectionId: string): Promise<Principal> {
    const cached = this.principals.get(connectionId);
    if (cached) return cached;
    const record = await this.deps.connections.get(connectionId);
    if (record === null) throw new UnauthorizedError('This connection is not known or has expired; reconnect.');
    this.principals.set(connectionId, record.principal);
    return record.principal;
  }

  private async dispatch(p: Principal, connectionId: string, frame: Frame): Promise<Record<string, unknown>> {
    switch (frame.action) {
      case 'subscribe':
        return this.subscribe(p, connectionId, frame);
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
    }
  }

  /**
   * Join a room. For an order room the ack carries its headSeq as of moving
   * the room's membership epoch on, *after* joining: every later event carries
   * the new epoch, so the fan-out reads the members again and this connection
   * gets it live; with `sinceSeq` the ack also carries the events in
   * (sinceSeq, headSeq].
   */
  private async subscribe(p: Principal, connectionId: string, frame: FrameOf<'subscribe'>): Promise<Record<string, unknown>> {
    const room = parseRoom(frame.room);
    if (room.type !== 'order') {
      authorizeFeedRoom(p, room);
      await this.join(connectionId, p.tenant, frame.room);
      return { room: frame.room };
    }
    const joined = await this.deps.orders.joinRoom(p, room.orderId, () => this.join(connectionId, p.tenant, frame.room), frame.sinceSeq);
    return { room: frame.room, headSeq: joined.headSeq, ...joined.catchUp };
  }

  private async join(connectionId: string, tenant: string, room: string): Promise<void> {
    const joined = await this.deps.connections.join(connectionId, tenant, room);
    if (!joined) {
      this.principals.delete(connectionId);
      throw new UnauthorizedError('This connection is not known or has expired; reconnect.');
    }
  }
}
