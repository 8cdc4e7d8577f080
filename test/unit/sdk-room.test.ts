/**
 * The SDK's `Room` state machine (web/sdk/room.ts), with a fake host (no
 * socket, no server), and through the client with a fake WebSocketLike: a
 * join goes joining → live, live events that come meanwhile are flushed in
 * seq order and repeats dropped, a gap is read over HTTP (and when that
 * fails the room waits for the rejoin instead of skipping the gap), a revoke
 * ends it, and a refused re-join after a reconnect revokes it.
 */
import { describe, expect, it, vi } from 'vitest';
import { FakeSocket } from '../support/fake-socket';
import type { OrderEvent } from '../../shared/domain/model';
import type { AckOf } from '../../shared/domain/protocol';
import { WaypostClient, type RoomRevoked } from '../../web/sdk/client';
import type { TimelinePage } from '../../web/sdk/http';
import { WaypostRequestError } from '../../web/sdk/requester';
import { Room, type RoomHost } from '../../web/sdk/room';

function ev(seq: number, orderId = 'o-1'): OrderEvent {
  return { orderId, seq, kind: 'checkpoint', at: '2026-01-01T00:00:00.000Z' } as unknown as OrderEvent;
}

/** A promise settled by the test. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A host whose subscribes and timeline reads the test settles, one at a time. */
function fakeHost() {
  const subscribes: { room: string; sinceSeq: number | undefined; reply: ReturnType<typeof deferred<AckOf<'subscribe'>>> }[] = [];
  const timelines: { sinceSeq: number; reply: ReturnType<typeof deferred<TimelinePage>> }[] = [];
  const refused: string[] = [];
  let reconnects = 0;
  const host: RoomHost = {
    subscribe: (room, sinceSeq) => {
      const reply = deferred<AckOf<'subscribe'>>();
      subscribes.push({ room, sinceSeq, reply });
      return reply.promise;
    },
    timeline: (_orderId, sinceSeq) => {
      const reply = deferred<TimelinePage>();
      timelines.push({ sinceSeq, reply });
      return reply.promise;
    },
    reconnect: () => void reconnects++,
    refused: (_room, reason) => void refused.push(reason),
  };
  return { host, subscribes, timelines, refused, reconnects: () => reconnects };
}

const ack = (fields: Partial<AckOf<'subscribe'>> = {}): AckOf<'subscribe'> => ({ type: 'ack', room: 'order:o-1', ...fields });
const settle = () => new Promise((r) => setTimeout(r, 0));

function orderRoom(sinceSeq?: number) {
  const h = fakeHost();
  const room = new Room('order:o-1', sinceSeq, h.host);
  const seen: number[] = [];
  const revoked: RoomRevoked[] = [];
  room.handlers.add({ onEvent: (e) => seen.push(e.seq), onRevoked: (r) => revoked.push(r) });
  return { ...h, room, seen, revoked };
}

describe('Room', () => {
  it('goes waiting → joining → live, resuming from lastSeq, and delivers the ack items', async () => {
    const t = orderRoom(2);
    expect(t.room.state).toBe('waiting');
    const joined = t.room.join();
    expect(t.room.state).toBe('joining');
    expect(t.subscribes.map((s) => [s.room, s.sinceSeq])).toEqual([['order:o-1', 2]]);
    t.subscribes[0]!.reply.resolve(ack({ headSeq: 4, items: [ev(3), ev(4)] }));
    await joined;
    expect(t.room.state).toBe('live');
    expect(t.seen).toEqual([3, 4]);
    expect(t.room.lastSeq).toBe(4);
  });

  it('joins from the head without sinceSeq, and buffers live events while joining, flushed in seq order with repeats dropped', async () => {
    const t = orderRoom();
    const joined = t.room.join();
    expect(t.subscribes[0]!.sinceSeq).toBeUndefined();
    for (const seq of [7, 5, 6, 5]) t.room.receive(ev(seq));
    expect(t.seen).toEqual([]);
    t.subscribes[0]!.reply.resolve(ack({ headSeq: 4 }));
    await joined;
    expect(t.seen).toEqual([5, 6, 7]);
    t.room.receive(ev(7));
    t.room.receive(ev(8));
    expect(t.seen).toEqual([5, 6, 7, 8]);
  });

  it('pages a long catch-up over HTTP (catching-up), holding live events until it is done', async () => {
    const t = orderRoom(0);
    const joined = t.room.join();
    t.subscribes[0]!.reply.resolve(ack({ headSeq: 6, items: [ev(1), ev(2)], more: true }));
    await vi.waitFor(() => expect(t.timelines).toHaveLength(1));
    expect(t.room.state).toBe('catching-up');
    expect(t.timelines[0]!.sinceSeq).toBe(2);
    t.room.receive(ev(7));
    t.timelines[0]!.reply.resolve({ items: [ev(3), ev(4)], headSeq: 6 });
    await vi.waitFor(() => expect(t.timelines).toHaveLength(2));
    expect(t.timelines[1]!.sinceSeq).toBe(4);
    t.timelines[1]!.reply.resolve({ items: [ev(5), ev(6)], headSeq: 6 });
    await joined;
    expect(t.room.state).toBe('live');
    expect(t.seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('fills a gap over HTTP before going on', async () => {
    const t = orderRoom();
    const joined = t.room.join();
    t.subscribes[0]!.reply.resolve(ack({ headSeq: 4 }));
    await joined;
    t.room.receive(ev(7));
    expect(t.room.state).toBe('catching-up');
    t.room.receive(ev(8));
    t.timelines[0]!.reply.resolve({ items: [ev(5), ev(6), ev(7)], headSeq: 7 });
    await settle();
    expect(t.seen).toEqual([5, 6, 7, 8]);
    expect(t.room.state).toBe('live');
  });

  it('when a gap cannot be filled, delivers nothing past it, waits, and asks to reconnect; the rejoin resumes from before the gap', async () => {
    const t = orderRoom();
    const joined = t.room.join();
    t.subscribes[0]!.reply.resolve(ack({ headSeq: 4 }));
    await joined;
    t.room.receive(ev(7));
    t.timelines[0]!.reply.reject(new WaypostRequestError('OFFLINE', 'The server cannot be reached.'));
    await settle();
    expect(t.seen).toEqual([]);
    expect(t.room.state).toBe('waiting');
    expect(t.reconnects()).toBe(1);
    const rejoined = t.room.join();
    expect(t.subscribes[1]!.sinceSeq).toBe(4);
    t.subscribes[1]!.reply.resolve(ack({ headSeq: 7, items: [ev(5), ev(6), ev(7)] }));
    await rejoined;
    expect(t.seen).toEqual([5, 6, 7]);
  });

  it('a drop (suspend) overtakes a join in flight: its failure leaves the room waiting, not revoked', async () => {
    const t = orderRoom(3);
    const joined = t.room.join();
    t.room.receive(ev(4));
    t.room.suspend();
    expect(t.room.state).toBe('waiting');
    t.subscribes[0]!.reply.reject(new WaypostRequestError('DISCONNECTED', 'dropped'));
    await joined;
    expect(t.room.state).toBe('waiting');
    expect(t.refused).toEqual([]);
    expect(t.seen).toEqual([]);
  });

  it('revoke ends it: handlers told once, nothing delivered after, not joined again, and a join in flight delivers nothing', async () => {
    const t = orderRoom(0);
    const joined = t.room.join();
    t.room.receive(ev(1));
    expect(t.room.revoke('unassigned')).toEqual({ room: 'order:o-1', reason: 'unassigned' });
    expect(t.room.state).toBe('revoked');
    t.subscribes[0]!.reply.resolve(ack({ headSeq: 2, items: [ev(1), ev(2)] }));
    await joined;
    t.room.receive(ev(3));
    await t.room.join();
    expect(t.room.revoke('again')).toBeUndefined();
    expect(t.seen).toEqual([]);
    expect(t.revoked).toEqual([{ room: 'order:o-1', reason: 'unassigned' }]);
    expect(t.subscribes).toHaveLength(1);
    expect(t.room.state).toBe('revoked');
  });

  it('a refused join goes to the host as refused (FORBIDDEN, NOT_FOUND) or limit (LIMIT_EXCEEDED); other failures leave it waiting', async () => {
    const t = orderRoom();
    for (const code of ['FORBIDDEN', 'NOT_FOUND', 'LIMIT_EXCEEDED', 'TIMEOUT', 'INTERNAL'] as const) {
      const joined = t.room.join();
      t.subscribes.at(-1)!.reply.reject(new WaypostRequestError(code, code));
      await joined;
      expect(t.room.state).toBe('waiting');
    }
    expect(t.refused).toEqual(['refused', 'refused', 'limit']);
  });

  it('feed rooms dedupe per order and call onResync when joined again, not the first time', async () => {
    const h = fakeHost();
    const room = new Room('retailer:r-1', undefined, h.host);
    const seen: string[] = [];
    let resyncs = 0;
    room.handlers.add({ onEvent: (e) => seen.push(`${e.orderId}#${e.seq}`), onResync: () => void resyncs++ });
    const first = room.join();
    h.subscribes[0]!.reply.resolve(ack({ room: 'retailer:r-1' }));
    await first;
    expect(h.subscribes[0]!.sinceSeq).toBeUndefined();
    for (const e of [ev(1, 'a'), ev(1, 'b'), ev(1, 'a'), ev(2, 'a')]) room.receive(e);
    expect(seen).toEqual(['a#1', 'b#1', 'a#2']);
    expect(resyncs).toBe(0);
    room.suspend();
    const again = room.join();
    h.subscribes[1]!.reply.resolve(ack({ room: 'retailer:r-1' }));
    await again;
    expect(resyncs).toBe(1);
    room.leave();
    room.receive(ev(3, 'a'));
    expect(room.state).toBe('left');
    expect(seen).toEqual(['a#1', 'b#1', 'a#2']);
  });
});


describe('WaypostClient rooms over a fake socket', () => {
  for (const [code, reason] of [
    ['FORBIDDEN', 'refused'],
    ['NOT_FOUND', 'refused'],
    ['LIMIT_EXCEEDED', 'limit'],
  ] as const) {
    it(`a re-join refused with ${code} after a reconnect revokes the room with "${reason}", and it is not asked for again`, async () => {
      const sockets: FakeSocket[] = [];
      const client = new WaypostClient({
        baseUrl: 'http://127.0.0.1:1',
        token: 'not-a-jwt',
        backoff: { initialMs: 1, maxMs: 5 },
        webSocket: () => {
          const refuse = sockets.length >= 1;
          const s = new FakeSocket((f) =>
            f.action === 'subscribe' && refuse && f.room === 'order:o-1'
              ? { type: 'error', code, message: 'no' }
              : { type: 'ack', room: f.room, headSeq: 3 },
          );
          sockets.push(s);
          return s;
        },
      });
      const fromRoom: RoomRevoked[] = [];
      const fromClient: RoomRevoked[] = [];
      client.on('revoked', (r) => fromClient.push(r));
      client.subscribe('order:o-1', { onEvent: () => undefined, onRevoked: (r) => fromRoom.push(r) });
      client.subscribe('dispatch', { onEvent: () => undefined });
      await client.connect();
      await vi.waitFor(() => expect(sockets[0]!.sent.map((f) => f.room)).toEqual(['order:o-1', 'dispatch']));
      expect(fromClient).toEqual([]);

      client.reconnectNow();
      await vi.waitFor(() => expect(fromClient).toEqual([{ room: 'order:o-1', reason }]));
      expect(fromRoom).toEqual([{ room: 'order:o-1', reason }]);
      expect(sockets[1]!.sent.find((f) => f.room === 'order:o-1')?.sinceSeq).toBe(3);

      client.reconnectNow();
      await vi.waitFor(() => expect(sockets[2]?.sent.map((f) => f.room)).toEqual(['dispatch']));
      client.close();
    });
  }

  it('flushes live events that came during the join in seq order, once each', async () => {
    let socket: FakeSocket | undefined;
    const client = new WaypostClient({
      baseUrl: 'http://127.0.0.1:1',
      token: 'not-a-jwt',
      webSocket: () => {
        // The subscribe's ack is held back until the live events are in.
        socket = new FakeSocket((f) => (f.action === 'subscribe' ? undefined : { type: 'ack' }));
        return socket;
      },
    });
    const seen: number[] = [];
    client.subscribe('order:o-1', { onEvent: (e) => seen.push(e.seq) }, 4);
    await client.connect();
    await vi.waitFor(() => expect(socket!.sent).toHaveLength(1));
    for (const seq of [7, 5, 6, 6]) socket!.push({ type: 'event', room: 'order:o-1', event: ev(seq) });
    await settle();
    expect(seen).toEqual([]);
    socket!.push({ type: 'ack', reqId: socket!.sent[0]!.reqId, room: 'order:o-1', headSeq: 4 });
    await vi.waitFor(() => expect(seen).toEqual([5, 6, 7]));
    client.close();
  });

  it('does not skip a gap it could not fill over HTTP: it reconnects and resumes from before the gap', async () => {
    const sockets: FakeSocket[] = [];
    const client = new WaypostClient({
      baseUrl: 'http://127.0.0.1:1',
      token: 'not-a-jwt',
      backoff: { initialMs: 1, maxMs: 5 },
      fetch: () => Promise.reject(new TypeError('fetch failed')),
      webSocket: () => {
        const first = sockets.length === 0;
        const s = new FakeSocket((f) =>
          f.action !== 'subscribe' ? { type: 'ack' } : first ? { type: 'ack', room: f.room, headSeq: 4 } : { type: 'ack', room: f.room, headSeq: 7, items: [ev(5), ev(6), ev(7)] },
        );
        sockets.push(s);
        return s;
      },
    });
    const seen: number[] = [];
    client.subscribe('order:o-1', { onEvent: (e) => seen.push(e.seq) });
    await client.connect();
    await vi.waitFor(() => expect(sockets[0]!.sent).toHaveLength(1));
    await settle();
    sockets[0]!.push({ type: 'event', room: 'order:o-1', event: ev(7) });
    await vi.waitFor(() => expect(sockets[1]?.sent.map((f) => [f.room, f.sinceSeq])).toEqual([['order:o-1', 4]]));
    await vi.waitFor(() => expect(seen).toEqual([5, 6, 7]));
    client.close();
  });
});
