/**
 * The Waypost client SDK, for browsers and Node: one WebSocket that
 * reconnects with backoff and jitter (`connection.ts`), room subscriptions
 * that survive reconnects (`room.ts`: order rooms resume with `sinceSeq`,
 * every event delivered once and in seq order), and an outbox for
 * checkpoints and messages (`outbox.ts`) that keeps posts made while
 * offline (across page reloads, given a storage) and replays them in order,
 * each settled by its ack, `duplicate: true` included. This class is the
 * facade over those parts.
 *
 * Requests are checked with the server's own zod schemas before they leave,
 * so a bad post never enters the outbox.
 *
 * Rights follow the order live (CONTRACT §2): a `revoked` push ends a room for
 * good (its handlers' `onRevoked`, the client's `revoked` event; it is not
 * joined again on reconnect). A connection lives no longer than its token:
 * given a token provider, the client renews the token (`auth`) shortly before
 * it expires, and after a 4001 close reconnects with a fresh one.
 */
import type { OrderEvent } from '../../shared/domain/model';
import { checkpointFrameSchema, messageFrameSchema, parseOrThrow } from '../../shared/domain/schemas';
import type { AckOf, Action, RequestInput } from '../../shared/domain/protocol';
import { Connection, type ConnectionState } from './connection';
import { WaypostHttp } from './http';
import { Outbox, OutboxCourier, type OutboxItem } from './outbox';
import { newId, WaypostRequestError } from './requester';
import { Room, type RoomHandlers, type RoomHost } from './room';
import type { CheckpointAck, CheckpointInput, ClientEvents, MessageAck, MessageInput, WaypostClientOptions } from './types';

export { TOKEN_EXPIRED_CLOSE_CODE, type ConnectionState } from './connection';
export type { WebSocketLike } from './socket';
export type { RoomHandlers, RoomRevoked } from './room';
export type * from './types';
export { WaypostRequestError };

export class WaypostClient {
  private readonly connection: Connection;
  private readonly api: WaypostHttp;
  private readonly rooms = new Map<string, Room>();
  private readonly courier: OutboxCourier;
  private readonly listeners: { [K in keyof ClientEvents]: Set<(value: ClientEvents[K]) => void> } = {
    state: new Set(),
    outbox: new Set(),
    delivered: new Set(),
    rejected: new Set(),
    revoked: new Set(),
    renewed: new Set(),
    expired: new Set(),
  };
  private readonly roomHost: RoomHost = {
    subscribe: (room, sinceSeq) => this.request({ action: 'subscribe', room, ...(sinceSeq !== undefined && { sinceSeq }) }),
    timeline: (orderId, sinceSeq) => this.api.timeline(orderId, sinceSeq),
    reconnect: () => this.reconnectNow(),
    refused: (room, reason) => this.revokeRoom(room, reason),
  };

  constructor(options: WaypostClientOptions) {
    const { baseUrl, token } = options;
    this.api = new WaypostHttp({ baseUrl, token, ...(options.fetch !== undefined && { fetch: options.fetch }) });
    this.connection = new Connection(
      { ...options, url: options.wsUrl ?? `${baseUrl.replace(/^http/, 'ws')}/ws` },
      {
        state: (s) => {
          if (s !== 'open') for (const room of this.rooms.values()) room.suspend();
          this.emit('state', s);
        },
        opened: () => {
          for (const room of this.rooms.values()) void room.join();
          this.courier.drain();
        },
        push: (frame) => this.onPush(frame),
        renewed: (exp) => this.emit('renewed', { exp }),
        expired: (exp) => this.emit('expired', { exp }),
      },
    );
    this.courier = new OutboxCourier(new Outbox(options.storage, options.outboxKey ?? 'waypost.outbox'), {
      send: (item) => this.request(item.frame),
      isOpen: () => this.connection.state === 'open',
      retryDelayMs: () => this.connection.backoff.duration(),
      changed: (items) => this.emit('outbox', items),
      delivered: (item, ack) => this.emit('delivered', { item, ack }),
      rejected: (item, error) => this.emit('rejected', { item, error }),
    });
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  /** Posts not yet acked, oldest first. */
  get queued(): readonly OutboxItem[] {
    return this.courier.items();
  }

  /** Listen to one kind of event; returns a function that stops listening. */
  on<K extends keyof ClientEvents>(kind: K, listener: (value: ClientEvents[K]) => void): () => void {
    const set = this.listeners[kind];
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Open the socket (and keep it open: drops are retried with backoff). Resolves once open. */
  connect(): Promise<void> {
    if (this.connection.state === 'open') {
      this.connection.connect();
      return Promise.resolve();
    }
    const opened = new Promise<void>((resolve) => {
      const off = this.on('state', (s) => {
        if (s === 'open') {
          off();
          resolve();
        }
      });
    });
    // Offline: try now instead of at the end of the backoff ("back online", "retry now").
    this.connection.connect();
    return opened;
  }

  /** Close for good: no reconnect. Queued posts stay in the outbox (and storage). */
  close(): void {
    this.connection.close();
  }

  /** Drop the connection as a network failure would, and reconnect (tests, "retry now" buttons). */
  reconnectNow(): void {
    this.connection.drop();
  }

  /**
   * Join a room. For `order:` rooms, `sinceSeq` asks for the events after it
   * first (default: only what comes next). Returns a function that leaves.
   */
  subscribe(room: string, handlers: RoomHandlers, sinceSeq?: number): () => void {
    let joined = this.rooms.get(room);
    if (joined === undefined) {
      joined = new Room(room, sinceSeq, this.roomHost);
      this.rooms.set(room, joined);
      if (this.connection.state === 'open') void joined.join();
    }
    joined.handlers.add(handlers);
    const mine = joined;
    return () => {
      mine.handlers.delete(handlers);
      // A revoked room is already gone; a room of the same name joined since is another one.
      if (mine.handlers.size === 0 && this.rooms.get(room) === mine) {
        this.rooms.delete(room);
        mine.leave();
        if (this.connection.state === 'open') void this.request({ action: 'unsubscribe', room }).catch(() => undefined);
      }
    };
  }

  /** Post a checkpoint through the outbox. Resolves with its ack (now or after reconnecting). */
  checkpoint(input: CheckpointInput): Promise<CheckpointAck> {
    const frame = parseOrThrow(checkpointFrameSchema, { ...input, action: 'checkpoint', eventId: input.eventId ?? newId('ev') }, 'checkpoint');
    return this.courier.post({ id: frame.eventId, kind: 'checkpoint', frame, queuedAt: new Date().toISOString() }) as Promise<CheckpointAck>;
  }

  /** Post a message through the outbox. */
  message(input: MessageInput): Promise<MessageAck> {
    const frame = parseOrThrow(messageFrameSchema, { ...input, action: 'message', messageId: input.messageId ?? newId('msg') }, 'message');
    return this.courier.post({ id: frame.messageId, kind: 'message', frame, queuedAt: new Date().toISOString() });
  }

  /** Mark an order's messages read up to `seq` (not queued: fails `OFFLINE` when not connected). */
  read(orderId: string, seq: number): Promise<AckOf<'read'>> {
    return this.request({ action: 'read', orderId, seq });
  }

  /** Acknowledge an alert (not queued: fails `OFFLINE` when not connected). */
  ackAlert(alertId: string): Promise<AckOf<'ackAlert'>> {
    return this.request({ action: 'ackAlert', alertId });
  }

  /** One request, one reply, typed by action; paced, `RATE_LIMITED` waited out (see `Connection.request`). */
  request<A extends Action>(frame: RequestInput<A>): Promise<AckOf<A>> {
    return this.connection.request(frame);
  }

  /** GET from the HTTP API with this client's token (see `WaypostHttp.get`). */
  http<T>(path: string): Promise<T> {
    return this.api.get<T>(path);
  }

  /** The room ended for good: forget it (it is not joined again) and tell its handlers and the client's listeners. */
  private revokeRoom(room: Room, reason: string): void {
    if (this.rooms.get(room.name) !== room) return;
    this.rooms.delete(room.name);
    const revoked = room.revoke(reason);
    if (revoked !== undefined) this.emit('revoked', revoked);
  }

  private onPush(frame: Record<string, unknown>): void {
    const room = this.rooms.get(String(frame.room));
    if (room === undefined) return;
    if (frame.type === 'event') room.receive(frame.event as OrderEvent);
    else if (frame.type === 'revoked') this.revokeRoom(room, String(frame.reason));
  }

  private emit<K extends keyof ClientEvents>(kind: K, value: ClientEvents[K]): void {
    for (const listener of this.listeners[kind]) listener(value);
  }
}
