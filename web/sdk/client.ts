/**
 * The Waypost client SDK, for browsers and Node: one WebSocket that
 * reconnects with backoff and jitter, room subscriptions that survive
 * reconnects (order rooms resume with `sinceSeq`, every event delivered once
 * and in seq order), and an outbox for checkpoints and messages that keeps
 * posts made while offline (across page reloads, given a storage) and
 * replays them in order, each settled by its ack, `duplicate: true` included.
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
import {
  checkpointFrameSchema,
  messageFrameSchema,
  parseOrThrow,
  type CheckpointFrame,
  type MessageFrame,
} from '../../shared/domain/schemas';
import type { ErrorCode } from '../../shared/domain/errors';
import type { AckOf, Action, RequestInput } from '../../shared/domain/protocol';
import { isResumableRoom, orderIdOfRoom } from '../../shared/domain/rooms';
import { FRAME_BURST, FRAMES_PER_SECOND, TokenBucket } from '../../shared/domain/limits';
import { Outbox, type KeyValueStorage, type OutboxItem } from './outbox';
import { Requester, WaypostRequestError } from './requester';
import { renewAtMs, renewRetryMs, tokenTimes, type TokenTimes } from './token';

/** The close code of a socket whose token expired (CONTRACT §2). */
export const TOKEN_EXPIRED_CLOSE_CODE = 4001;

/** The little of a WebSocket the client needs: the browser's and `ws`'s both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type ConnectionState = 'connecting' | 'open' | 'offline' | 'closed';

export interface WaypostClientOptions {
  /** Where Waypost is: `http://127.0.0.1:4000` (the WebSocket is `/ws` there, the HTTP API `/api`). */
  readonly baseUrl: string;
  /** The WebSocket URL when it is not `<baseUrl>/ws` (in the cloud: the API Gateway stage URL). */
  readonly wsUrl?: string;
  /**
   * A token, or a function giving a fresh one: at each (re)connect, and
   * before the connection's token expires. With a function the client renews
   * by itself (the `auth` action) 60 s or a tenth of the token's lifetime
   * before its `exp`, whichever is sooner to it, retrying until it succeeds or
   * the server closes the socket at `exp` (code 4001), after which it
   * reconnects with a fresh token. With a string, a 4001 close ends the client
   * (`expired`): sign in again.
   */
  readonly token: string | (() => string | Promise<string>);
  /** Defaults to the global `WebSocket` (browsers, Node 22+); pass `(url) => new WebSocket(url)` from `ws` on Node 20. */
  readonly webSocket?: (url: string) => WebSocketLike;
  /** Keeps the outbox across reloads (e.g. `localStorage`). Default: memory only. */
  readonly storage?: KeyValueStorage;
  /** Storage key of the outbox; one per user and tenant. */
  readonly outboxKey?: string;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  readonly requestTimeoutMs?: number;
  /**
   * How often to send a `ping` while connected, so API Gateway's 10-minute
   * idle limit never drops a quiet socket (a ping costs less than a
   * reconnect and resubscribe). Default 9 minutes; 0 turns it off.
   */
  readonly keepAliveMs?: number;
  readonly fetch?: typeof fetch;
  readonly random?: () => number;
}

export { WaypostRequestError };

/**
 * The client's own pace, 90% of the server's rate and burst (CONTRACT §5), so
 * that timer jitter and clock drift never make the server refuse a frame.
 */
const SEND_RATE = FRAMES_PER_SECOND * 0.9;
const SEND_BURST = Math.floor(FRAME_BURST * 0.9);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Errors after which the same request may succeed later: the outbox keeps the post and retries. */
const RETRYABLE: ReadonlySet<string> = new Set(['INTERNAL', 'RATE_LIMITED', 'TIMEOUT', 'DISCONNECTED', 'UNAUTHORIZED']);

/** The ack of any action, typed by the protocol table (`shared/domain/protocol.ts`). */
export type Ack = AckOf<Action>;
/** A checkpoint's ack (CONTRACT §5, §3): `applied` is false for a late one, and `status` is then the order's current status. */
export type CheckpointAck = AckOf<'checkpoint'>;
export type MessageAck = AckOf<'message'>;
export type SubscribeAck = AckOf<'subscribe'>;
/** The ack of a queued post. */
export type PostAck = AckOf<'checkpoint' | 'message'>;

type Input<F> = Omit<F, 'action' | 'reqId'>;
export type CheckpointInput = Omit<Input<CheckpointFrame>, 'eventId'> & { eventId?: string };
export type MessageInput = Omit<Input<MessageFrame>, 'messageId'> & { messageId?: string };

/**
 * A room this client no longer hears, for good: `reason` is the server's
 * (`unassigned`: the right to read the order went), `refused` when joining
 * it (again, after a reconnect) was refused (`FORBIDDEN`, `NOT_FOUND`), as
 * when the right went while the client was offline, or `limit` when the
 * connection already held its 500 rooms (`LIMIT_EXCEEDED`, CONTRACT §5).
 */
export interface RoomRevoked {
  readonly room: string;
  readonly reason: string;
}

export interface RoomHandlers {
  /** Each event of the room, once, in seq order per order. */
  readonly onEvent: (event: OrderEvent) => void;
  /** A live feed (`retailer:`, `dispatch`) came back after a drop: re-read what it shows over HTTP. */
  readonly onResync?: () => void;
  /** The room ended for good (see `RoomRevoked`): no more events, and it is not joined again. */
  readonly onRevoked?: (revoked: RoomRevoked) => void;
}

interface Room {
  readonly name: string;
  readonly handlers: Set<RoomHandlers>;
  /** Order rooms: the highest seq delivered. */
  lastSeq: number;
  /** Feed rooms: the highest seq delivered per order. */
  readonly seenPerOrder: Map<string, number>;
  /** Live events that arrived while a (re)subscribe was in flight. */
  buffer: OrderEvent[] | undefined;
  joinedOnce: boolean;
}

/** What a client tells its listeners. */
export interface ClientEvents {
  state: ConnectionState;
  outbox: readonly OutboxItem[];
  delivered: { item: OutboxItem; ack: PostAck };
  rejected: { item: OutboxItem; error: WaypostRequestError };
  /** A room ended for good (see `RoomRevoked`). */
  revoked: RoomRevoked;
  /** The connection's token was renewed: it now lives until `exp` (epoch seconds). */
  renewed: { exp: number };
  /** The server closed the connection at its token's expiry and there is no provider to renew it: the client stopped. */
  expired: { exp: number | undefined };
}

function newId(prefix: string): string {
  const c = globalThis.crypto;
  return `${prefix}-${typeof c?.randomUUID === 'function' ? c.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`}`;
}

export class WaypostClient {
  private socket: WebSocketLike | undefined;
  private stateValue: ConnectionState = 'closed';
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private keepAliveTimer: ReturnType<typeof setInterval> | undefined;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  /** The `exp` (epoch seconds) of the token the open connection lives on. */
  private tokenExp: number | undefined;
  /** Pairs replies with requests on the current socket (a new one per socket). */
  private requester: Requester | undefined;
  /** Paces this connection's frames under the server's rate; a new connection starts with a full burst. */
  private sendBucket = new TokenBucket(SEND_RATE, SEND_BURST);
  private readonly rooms = new Map<string, Room>();
  private readonly outbox: Outbox;
  private draining = false;
  private wanted = false;
  private readonly listeners: { [K in keyof ClientEvents]: Set<(value: ClientEvents[K]) => void> } = {
    state: new Set(),
    outbox: new Set(),
    delivered: new Set(),
    rejected: new Set(),
    revoked: new Set(),
    renewed: new Set(),
    expired: new Set(),
  };
  /** Promises of posts made in this session, settled when their outbox item is. */
  private readonly waiting = new Map<string, { resolve: (ack: PostAck) => void; reject: (e: WaypostRequestError) => void }>();

  constructor(private readonly options: WaypostClientOptions) {
    this.outbox = new Outbox(options.storage, options.outboxKey ?? 'waypost.outbox');
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Posts not yet acked, oldest first. */
  get queued(): readonly OutboxItem[] {
    return this.outbox.items();
  }

  on<K extends keyof ClientEvents>(kind: K, listener: (value: ClientEvents[K]) => void): () => void {
    const set = this.listeners[kind];
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Open the socket (and keep it open: drops are retried with backoff). Resolves once open. */
  connect(): Promise<void> {
    this.wanted = true;
    if (this.stateValue === 'open') return Promise.resolve();
    const opened = new Promise<void>((resolve) => {
      const off = this.on('state', (s) => {
        if (s === 'open') {
          off();
          resolve();
        }
      });
    });
    if (this.stateValue === 'closed' || this.stateValue === 'offline') {
      // Offline: try now instead of at the end of the backoff ("back online", "retry now").
      clearTimeout(this.reconnectTimer);
      void this.open();
    }
    return opened;
  }

  /** Close for good: no reconnect. Queued posts stay in the outbox (and storage). */
  close(): void {
    this.wanted = false;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.keepAliveTimer);
    clearTimeout(this.renewTimer);
    this.socket?.close(1000, 'client closed');
    this.setState('closed');
  }

  /** Drop the connection as a network failure would, and reconnect (tests, "retry now" buttons). */
  reconnectNow(): void {
    this.socket?.close(4000, 'reconnect');
  }

  // ---------------------------------------------------------------- rooms

  /**
   * Join a room. For `order:` rooms, `sinceSeq` asks for the events after it
   * first (default: only what comes next). Returns a function that leaves.
   */
  subscribe(room: string, handlers: RoomHandlers, sinceSeq?: number): () => void {
    let r = this.rooms.get(room);
    if (r === undefined) {
      r = { name: room, handlers: new Set(), lastSeq: sinceSeq ?? -1, seenPerOrder: new Map(), buffer: undefined, joinedOnce: false };
      this.rooms.set(room, r);
      if (this.stateValue === 'open') void this.joinOrDrop(r);
    }
    r.handlers.add(handlers);
    const joined = r;
    return () => {
      joined.handlers.delete(handlers);
      // A revoked room is already gone; a room of the same name joined since is another one.
      if (joined.handlers.size === 0 && this.rooms.get(room) === joined) {
        this.rooms.delete(room);
        if (this.stateValue === 'open') void this.request({ action: 'unsubscribe', room }).catch(() => undefined);
      }
    };
  }

  /**
   * Join, or, when the server refuses the room, end it as revoked rather than
   * ask again at each reconnect: `refused` (FORBIDDEN, NOT_FOUND) or `limit`
   * (LIMIT_EXCEEDED: the connection already holds 500 rooms, CONTRACT §5).
   */
  private async joinOrDrop(room: Room): Promise<void> {
    try {
      await this.join(room);
    } catch (err) {
      if (!(err instanceof WaypostRequestError)) return;
      if (err.code === 'FORBIDDEN' || err.code === 'NOT_FOUND') this.revoke(room.name, 'refused');
      else if (err.code === 'LIMIT_EXCEEDED') this.revoke(room.name, 'limit');
    }
  }

  /** The room ended for good: forget it (it is not joined again) and tell its handlers and the client's listeners. */
  private revoke(roomName: string, reason: string): void {
    const room = this.rooms.get(roomName);
    if (room === undefined) return;
    this.rooms.delete(roomName);
    room.buffer = undefined;
    const revoked: RoomRevoked = { room: roomName, reason };
    for (const h of room.handlers) h.onRevoked?.(revoked);
    this.emit('revoked', revoked);
  }

  /** Order rooms replay from a seq; live feeds are re-read over HTTP after a drop (the rooms registry says which). */
  private isOrderRoom(room: Room): boolean {
    return isResumableRoom(room.name);
  }

  private async join(room: Room): Promise<void> {
    room.buffer = [];
    const resume = this.isOrderRoom(room) && room.lastSeq >= 0;
    try {
      const ack = await this.request({
        action: 'subscribe',
        room: room.name,
        ...(resume && { sinceSeq: room.lastSeq }),
      });
      if (this.isOrderRoom(room)) {
        if (room.lastSeq < 0) room.lastSeq = ack.headSeq ?? 0;
        for (const e of ack.items ?? []) this.deliver(room, e);
        if (ack.more === true) await this.catchUpOverHttp(room);
      } else if (room.joinedOnce) {
        for (const h of room.handlers) h.onResync?.();
      }
      room.joinedOnce = true;
    } catch (err) {
      room.buffer = undefined;
      throw err;
    }
    const buffered = room.buffer ?? [];
    room.buffer = undefined;
    for (const e of buffered) this.deliver(room, e);
  }

  /** Pages the rest of a long catch-up over HTTP. */
  private async catchUpOverHttp(room: Room): Promise<void> {
    const orderId = orderIdOfRoom(room.name);
    if (orderId === undefined) return;
    for (;;) {
      const page = await this.http<{ items: OrderEvent[]; headSeq: number }>(
        `/api/orders/${encodeURIComponent(orderId)}/timeline?sinceSeq=${room.lastSeq}&limit=500`,
      );
      for (const e of page.items) this.deliver(room, e);
      if (page.items.length === 0 || room.lastSeq >= page.headSeq) return;
    }
  }

  private onServerEvent(roomName: string, event: OrderEvent): void {
    const room = this.rooms.get(roomName);
    if (room === undefined) return;
    if (room.buffer !== undefined) {
      room.buffer.push(event);
      return;
    }
    if (this.isOrderRoom(room) && room.lastSeq >= 0 && event.seq > room.lastSeq + 1) {
      // A gap (events were dropped on the way): fetch what is missing, then go on.
      room.buffer = [event];
      void this.catchUpOverHttp(room)
        .catch(() => this.reconnectNow())
        .finally(() => {
          const buffered = room.buffer ?? [];
          room.buffer = undefined;
          for (const e of buffered) this.deliver(room, e);
        });
      return;
    }
    this.deliver(room, event);
  }

  private deliver(room: Room, event: OrderEvent): void {
    // Left or revoked meanwhile (a catch-up still in flight): nothing more for its handlers.
    if (this.rooms.get(room.name) !== room) return;
    if (this.isOrderRoom(room)) {
      if (event.seq <= room.lastSeq) return;
      room.lastSeq = event.seq;
    } else {
      if (event.seq <= (room.seenPerOrder.get(event.orderId) ?? 0)) return;
      room.seenPerOrder.set(event.orderId, event.seq);
    }
    for (const h of room.handlers) h.onEvent(event);
  }

  // ---------------------------------------------------------------- posts

  /** Post a checkpoint through the outbox. Resolves with its ack (now or after reconnecting). */
  checkpoint(input: CheckpointInput): Promise<CheckpointAck> {
    const frame = parseOrThrow(checkpointFrameSchema, { ...input, action: 'checkpoint', eventId: input.eventId ?? newId('ev') }, 'checkpoint');
    return this.enqueue({ id: frame.eventId, kind: 'checkpoint', frame, queuedAt: new Date().toISOString() }) as Promise<CheckpointAck>;
  }

  /** Post a message through the outbox. */
  message(input: MessageInput): Promise<MessageAck> {
    const frame = parseOrThrow(messageFrameSchema, { ...input, action: 'message', messageId: input.messageId ?? newId('msg') }, 'message');
    return this.enqueue({ id: frame.messageId, kind: 'message', frame, queuedAt: new Date().toISOString() }) as Promise<MessageAck>;
  }

  read(orderId: string, seq: number): Promise<AckOf<'read'>> {
    return this.request({ action: 'read', orderId, seq });
  }

  ackAlert(alertId: string): Promise<AckOf<'ackAlert'>> {
    return this.request({ action: 'ackAlert', alertId });
  }

  private enqueue(item: OutboxItem): Promise<PostAck> {
    const settled = new Promise<PostAck>((resolve, reject) => this.waiting.set(item.id, { resolve, reject }));
    this.outbox.push(item);
    this.emit('outbox', this.outbox.items());
    void this.drain();
    return settled;
  }

  /** Send queued posts one at a time, in order, while the socket is open. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.stateValue === 'open') {
        const item = this.outbox.peek();
        if (item === undefined) return;
        let ack: PostAck;
        try {
          ack = await this.request(item.frame);
        } catch (err) {
          const error = err instanceof WaypostRequestError ? err : new WaypostRequestError('INTERNAL', String(err));
          if (RETRYABLE.has(error.code)) {
            if (this.stateValue === 'open') await new Promise((r) => setTimeout(r, this.delay()));
            continue;
          }
          this.outbox.remove(item.id);
          this.emit('outbox', this.outbox.items());
          this.emit('rejected', { item, error });
          this.waiting.get(item.id)?.reject(error);
          this.waiting.delete(item.id);
          continue;
        }
        this.outbox.remove(item.id);
        this.emit('outbox', this.outbox.items());
        this.emit('delivered', { item, ack });
        this.waiting.get(item.id)?.resolve(ack);
        this.waiting.delete(item.id);
      }
    } finally {
      this.draining = false;
    }
  }

  // ---------------------------------------------------------------- transport

  /**
   * One request, one reply: the ack, or a `WaypostRequestError` with the
   * contract's code. Requests are paced under the server's per-connection
   * rate (CONTRACT §5: 20 a second, bursts of 100) by a token bucket a little
   * below it, so a long outbox replay or a burst of subscribes waits instead
   * of being refused; and a `RATE_LIMITED` reply, which means the frame was
   * not run, is waited out (`details.retryAfterMs`) and the frame sent again,
   * never reported to the caller. A request that is still waiting for its
   * turn when the socket drops fails with `OFFLINE`.
   */
  async request<A extends Action>(frame: RequestInput<A>): Promise<AckOf<A>> {
    for (;;) {
      await this.pace();
      try {
        return await this.requestOnce(frame);
      } catch (err) {
        if (!(err instanceof WaypostRequestError) || err.code !== 'RATE_LIMITED') throw err;
        const retryAfterMs = (err.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
        await sleep(typeof retryAfterMs === 'number' && retryAfterMs > 0 ? Math.min(retryAfterMs, 10_000) : 1000);
      }
    }
  }

  /** Wait for a token of the client-side bucket; fails with `OFFLINE` when not connected. */
  private async pace(): Promise<void> {
    for (;;) {
      if (this.socket === undefined || this.stateValue !== 'open') throw new WaypostRequestError('OFFLINE', 'Not connected.');
      if (this.sendBucket.take(Date.now())) return;
      await sleep(this.sendBucket.waitMs(Date.now()));
    }
  }

  private requestOnce<A extends Action>(frame: RequestInput<A>): Promise<AckOf<A>> {
    const requester = this.requester;
    if (requester === undefined || this.stateValue !== 'open') {
      return Promise.reject(new WaypostRequestError('OFFLINE', 'Not connected.'));
    }
    return requester.request(frame);
  }

  /** GET from the HTTP API with this client's token. */
  async http<T>(path: string): Promise<T> {
    const f = this.options.fetch ?? fetch;
    const res = await f(`${this.options.baseUrl}${path}`, { headers: { authorization: `Bearer ${await this.token()}` } });
    const body = (await res.json()) as T & { error?: { code: ErrorCode; message: string } };
    if (!res.ok) throw new WaypostRequestError(body.error?.code ?? 'INTERNAL', body.error?.message ?? `HTTP ${res.status}`);
    return body;
  }

  private async token(): Promise<string> {
    return typeof this.options.token === 'string' ? this.options.token : this.options.token();
  }

  private delay(): number {
    const initial = this.options.backoff?.initialMs ?? 250;
    const max = this.options.backoff?.maxMs ?? 15_000;
    // Full jitter: spread reconnecting clients out.
    return Math.floor((this.options.random ?? Math.random)() * Math.min(max, initial * 2 ** Math.min(this.attempt, 16)));
  }

  private async open(): Promise<void> {
    this.setState('connecting');
    let socket: WebSocketLike;
    let times: TokenTimes | null;
    let receivedAt: number;
    try {
      const ws = this.options.wsUrl ?? `${this.options.baseUrl.replace(/^http/, 'ws')}/ws`;
      const token = await this.token();
      receivedAt = Date.now();
      times = tokenTimes(token);
      const url = `${ws}?token=${encodeURIComponent(token)}`;
      const make = this.options.webSocket ?? ((u: string) => new WebSocket(u) as unknown as WebSocketLike);
      socket = make(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    const requester = new Requester({
      send: (text) => socket.send(text),
      timeoutMs: this.options.requestTimeoutMs ?? 15_000,
      newReqId: () => newId('req'),
    });
    this.requester = requester;
    socket.onopen = () => {
      this.attempt = 0;
      this.sendBucket = new TokenBucket(SEND_RATE, SEND_BURST);
      this.setState('open');
      const every = this.options.keepAliveMs ?? 9 * 60_000;
      clearInterval(this.keepAliveTimer);
      if (every > 0) this.keepAliveTimer = setInterval(() => void this.request({ action: 'ping' }).catch(() => undefined), every);
      this.tokenExp = times?.exp;
      this.scheduleRenewal(times, receivedAt);
      for (const room of this.rooms.values()) void this.joinOrDrop(room);
      void this.drain();
    };
    socket.onmessage = (ev) => this.onFrame(typeof ev.data === 'string' ? ev.data : String(ev.data));
    socket.onerror = () => undefined;
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      clearInterval(this.keepAliveTimer);
      clearTimeout(this.renewTimer);
      this.requester = undefined;
      requester.failAll(new WaypostRequestError('DISCONNECTED', 'The connection dropped before the reply.'));
      if (ev.code === TOKEN_EXPIRED_CLOSE_CODE && typeof this.options.token === 'string') {
        // The token ran out and there is nothing to renew it with: reconnecting would only be refused.
        this.wanted = false;
        this.setState('closed');
        this.emit('expired', { exp: this.tokenExp });
        return;
      }
      // After a 4001 close (token expired) too: `open` asks the provider for a fresh token.
      if (this.wanted) this.scheduleReconnect();
      else this.setState('closed');
    };
  }

  /** With a token provider: renew the connection's token shortly before it expires (`renewAtMs`). */
  private scheduleRenewal(times: TokenTimes | null, receivedAt: number): void {
    clearTimeout(this.renewTimer);
    if (times === null || typeof this.options.token === 'string') return;
    this.renewTimer = setTimeout(() => void this.renew(), Math.max(0, renewAtMs(times, receivedAt) - Date.now()));
  }

  /**
   * Send `auth` with a fresh token from the provider. On failure (no newer
   * token, a refusal, a timeout) try again while the token lasts; past its
   * `exp` the server closes the socket (4001) and the client reconnects.
   */
  private async renew(): Promise<void> {
    const socket = this.socket;
    if (socket === undefined || this.stateValue !== 'open') return;
    try {
      const token = await this.token();
      const receivedAt = Date.now();
      const times = tokenTimes(token);
      if (times === null || times.exp <= (this.tokenExp ?? 0)) throw new Error('The token provider gave no token that lives longer.');
      const ack = await this.request({ action: 'auth', token });
      if (this.socket !== socket) return;
      const exp = typeof ack.exp === 'number' ? ack.exp : times.exp;
      this.tokenExp = exp;
      this.scheduleRenewal({ ...times, exp }, receivedAt);
      this.emit('renewed', { exp });
    } catch {
      if (this.socket !== socket || this.stateValue !== 'open') return;
      const left = (this.tokenExp ?? 0) * 1000 - Date.now();
      if (left > 0) this.renewTimer = setTimeout(() => void this.renew(), renewRetryMs(left));
    }
  }

  private scheduleReconnect(): void {
    this.setState('offline');
    this.attempt++;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.open(), this.delay());
  }

  private onFrame(text: string): void {
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (frame.type === 'event') {
      this.onServerEvent(String(frame.room), frame.event as OrderEvent);
      return;
    }
    if (frame.type === 'revoked') {
      this.revoke(String(frame.room), String(frame.reason));
      return;
    }
    this.requester?.receive(frame);
  }

  private setState(s: ConnectionState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    this.emit('state', s);
  }

  private emit<K extends keyof ClientEvents>(kind: K, value: ClientEvents[K]): void {
    for (const listener of this.listeners[kind]) listener(value);
  }
}
