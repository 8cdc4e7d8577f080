/**
 * One room the client listens to, as a state machine (after ably-js
 * `RealtimeChannel`): `waiting` → `joining` (subscribe in flight) → `live`,
 * through `catching-up` when the ack says `more` or a live event shows a gap
 * (the rest is read over HTTP); a drop sends it back to `waiting`; `left`
 * and `revoked` end it. Order rooms (the rooms registry's resumable ones)
 * resume from `lastSeq`; feed rooms dedupe per order and call `onResync`
 * when joined again. Live events that come while joining or catching up
 * are buffered and flushed in seq order: every event reaches the handlers
 * once, in seq order per order.
 */
import type { OrderEvent } from '../../shared/domain/model';
import type { AckOf } from '../../shared/domain/protocol';
import { isResumableRoom, orderIdOfRoom } from '../../shared/domain/rooms';
import type { TimelinePage } from './http';
import { WaypostRequestError } from './requester';

/**
 * `waiting`: not joined on the current connection (new while offline, or the
 * connection dropped); events that come anyway are handled as live ones.
 * `joining`: a `subscribe` is in flight. `catching-up`: the rest of a long
 * catch-up, or a gap, is being read over HTTP. `live`: events are delivered
 * as they come. `left`, `revoked`: ended for good.
 */
export type RoomState = 'waiting' | 'joining' | 'catching-up' | 'live' | 'left' | 'revoked';

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

/** What a room needs from the client. */
export interface RoomHost {
  /** Send `subscribe` (with `sinceSeq` to resume). */
  subscribe(room: string, sinceSeq: number | undefined): Promise<AckOf<'subscribe'>>;
  /** Read an order's events after `sinceSeq` over HTTP. */
  timeline(orderId: string, sinceSeq: number): Promise<TimelinePage>;
  /** A gap could not be filled: drop the connection, so that the rejoin resumes the room. */
  reconnect(): void;
  /** The server refused to join the room: end it as revoked with this reason. */
  refused(room: Room, reason: 'refused' | 'limit'): void;
}

export class Room {
  readonly handlers = new Set<RoomHandlers>();
  /** Order rooms replay from a seq; live feeds are re-read over HTTP after a drop (the rooms registry says which). */
  readonly resumable: boolean;
  private stateValue: RoomState = 'waiting';
  /** Order rooms: the highest seq delivered (-1: none yet, join from the head). */
  private last: number;
  /** Feed rooms: the highest seq delivered per order. */
  private readonly seenPerOrder = new Map<string, number>();
  /** Live events that came while joining or catching up. */
  private buffer: OrderEvent[] = [];
  private joinedOnce = false;
  /** Bumped by each join, gap fill and drop: a step that finds it changed was overtaken and leaves the state alone. */
  private epoch = 0;

  /** @param sinceSeq order rooms: deliver the events after it first (default: only what comes next) */
  constructor(
    readonly name: string,
    sinceSeq: number | undefined,
    private readonly host: RoomHost,
  ) {
    this.last = sinceSeq ?? -1;
    this.resumable = isResumableRoom(name);
  }

  get state(): RoomState {
    return this.stateValue;
  }

  /** Order rooms: the highest seq delivered, -1 before the first join. */
  get lastSeq(): number {
    return this.last;
  }

  get ended(): boolean {
    return this.stateValue === 'left' || this.stateValue === 'revoked';
  }

  /**
   * Join (again, after a reconnect: order rooms with `sinceSeq`), deliver the
   * ack's events and page the rest over HTTP, then flush what came meanwhile.
   * Never rejects: a refusal (`FORBIDDEN`, `NOT_FOUND`: `refused`;
   * `LIMIT_EXCEEDED`: `limit`) goes to `host.refused`, and any other failure
   * leaves the room `waiting` for the next connection.
   */
  async join(): Promise<void> {
    if (this.ended) return;
    const epoch = ++this.epoch;
    this.stateValue = 'joining';
    this.buffer = [];
    try {
      const ack = await this.host.subscribe(this.name, this.resumable && this.last >= 0 ? this.last : undefined);
      if (this.resumable) {
        if (this.last < 0) this.last = ack.headSeq ?? 0;
        for (const e of ack.items ?? []) this.deliver(e);
        if (ack.more === true) {
          if (epoch === this.epoch && !this.ended) this.stateValue = 'catching-up';
          await this.catchUp();
        }
      } else if (this.joinedOnce) {
        for (const h of this.handlers) h.onResync?.();
      }
      this.joinedOnce = true;
    } catch (err) {
      this.stopIfCurrent(epoch);
      if (err instanceof WaypostRequestError && (err.code === 'FORBIDDEN' || err.code === 'NOT_FOUND')) this.host.refused(this, 'refused');
      else if (err instanceof WaypostRequestError && err.code === 'LIMIT_EXCEEDED') this.host.refused(this, 'limit');
      return;
    }
    if (epoch === this.epoch) this.goLive();
  }

  /** A live event of this room: buffered while joining or catching up; a gap in an order room is read over HTTP first. */
  receive(event: OrderEvent): void {
    if (this.ended) return;
    if (this.stateValue === 'joining' || this.stateValue === 'catching-up') {
      this.buffer.push(event);
      return;
    }
    if (this.resumable && this.last >= 0 && event.seq > this.last + 1) {
      void this.fillGap(event);
      return;
    }
    this.deliver(event);
  }

  /** The connection dropped: what is in flight is overtaken; the room is joined again when it opens. */
  suspend(): void {
    if (this.ended || this.stateValue === 'waiting') return;
    this.epoch++;
    this.stateValue = 'waiting';
    this.buffer = [];
  }

  /** The last handler left: no more events. */
  leave(): void {
    if (this.ended) return;
    this.stateValue = 'left';
    this.buffer = [];
  }

  /** Ended for good: tell the handlers. Returns what was told, or undefined when the room had already ended. */
  revoke(reason: string): RoomRevoked | undefined {
    if (this.ended) return undefined;
    this.stateValue = 'revoked';
    this.buffer = [];
    const revoked: RoomRevoked = { room: this.name, reason };
    for (const h of this.handlers) h.onRevoked?.(revoked);
    return revoked;
  }

  /** Events were dropped on the way: read what is missing, then go on; when that fails, reconnect (the rejoin resumes). */
  private async fillGap(event: OrderEvent): Promise<void> {
    const epoch = ++this.epoch;
    this.stateValue = 'catching-up';
    this.buffer = [event];
    try {
      await this.catchUp();
    } catch {
      if (this.stopIfCurrent(epoch)) this.host.reconnect();
      return;
    }
    if (epoch === this.epoch) this.goLive();
  }

  /** Pages an order room's events after `lastSeq` over HTTP up to the head. */
  private async catchUp(): Promise<void> {
    const orderId = orderIdOfRoom(this.name);
    if (orderId === undefined) return;
    while (!this.ended) {
      const page = await this.host.timeline(orderId, this.last);
      for (const e of page.items) this.deliver(e);
      if (page.items.length === 0 || this.last >= page.headSeq) return;
    }
  }

  /** A step failed: back to `waiting` (the buffer dropped: a rejoin brings it again), unless it was overtaken. */
  private stopIfCurrent(epoch: number): boolean {
    if (epoch !== this.epoch || this.ended) return false;
    this.stateValue = 'waiting';
    this.buffer = [];
    return true;
  }

  /** Live: what came meanwhile goes through, in seq order (a repeat is dropped, a gap is filled). */
  private goLive(): void {
    if (this.ended) return;
    const buffered = this.buffer.sort((a, b) => a.seq - b.seq);
    this.buffer = [];
    this.stateValue = 'live';
    for (const e of buffered) this.receive(e);
  }

  private deliver(event: OrderEvent): void {
    // Left or revoked meanwhile (a catch-up still in flight): nothing more for its handlers.
    if (this.ended) return;
    if (this.resumable) {
      if (event.seq <= this.last) return;
      this.last = event.seq;
    } else {
      if (event.seq <= (this.seenPerOrder.get(event.orderId) ?? 0)) return;
      this.seenPerOrder.set(event.orderId, event.seq);
    }
    for (const h of this.handlers) h.onEvent(event);
  }
}
