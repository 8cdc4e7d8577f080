/**
 * One connection never slows or floods the others (CONTRACT §5, limits):
 * - a subscriber that stops reading its socket is closed with 1008 once more
 *   than 1 MiB waits for it, and the other members of its room and of other
 *   rooms get every event, complete and in seq order, meanwhile;
 * - a client sending frames without waiting is answered `RATE_LIMITED` past
 *   20 a second (bursts of 100), each frame exactly once, and its socket stays
 *   open and usable.
 * Timing is measured in bench/ (`npm run bench -- --isolation`), not asserted here.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { castOf, orderFor, uniqueId, uniqueTenant, socketPool, type Cast, type Frame, type WsClient } from '../support/client';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const connect = socketPool(url);

let cast: Cast;
beforeEach(async () => {
  cast = await castOf(secret, uniqueTenant('iso'));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Send `frames` on `ws` at most `perSecond` a second after the first `burst`, and wait for every reply. */
async function paced(ws: WsClient, frames: Frame[], perSecond = 18, burst = 90): Promise<Frame[]> {
  const replies: Promise<Frame>[] = [];
  for (let i = 0; i < frames.length; i++) {
    if (i >= burst) await sleep(1000 / perSecond);
    replies.push(ws.request(frames[i]!, 60_000));
  }
  return Promise.all(replies);
}

function seqsOf(ws: WsClient, room: string, kind: string): number[] {
  return ws
    .events(room)
    .filter((e) => e.kind === kind)
    .map((e) => e.seq as number);
}

describe('a subscriber that stops reading', () => {
  it('is closed with 1008 past 1 MiB, while every other member gets every event in order', async () => {
    // Four busy orders (the kernel's socket buffers take several MB before
    // anything waits in the gateway), and a quiet one.
    const busy = await Promise.all(Array.from({ length: 4 }, () => orderFor(url, cast)));
    const quiet = await orderFor(url, cast);
    const quietRoom = `order:${quiet}`;

    const stalled = await connect(cast.dispatcher);
    const healthyBusy = await connect(cast.retailer);
    const healthyQuiet = await connect(cast.retailer);
    for (const orderId of busy) {
      for (const ws of [stalled, healthyBusy]) expect((await ws.request({ action: 'subscribe', room: `order:${orderId}` })).type).toBe('ack');
    }
    expect((await healthyQuiet.request({ action: 'subscribe', room: quietRoom })).type).toBe('ack');
    // Stop reading: what the server sends now piles up in its buffers.
    stalled.socket.pause();

    // About 8.6 MB of 12 KB messages (4,000 three-byte characters) into the
    // busy orders, from senders each within its own rate, and small ones into
    // the quiet order meanwhile.
    const big = '€'.repeat(4000);
    const senders = await Promise.all(Array.from({ length: 8 }, () => connect(cast.dispatcher)));
    const quietPoster = await connect(cast.dispatcher);
    const [busyReplies, quietReplies] = await Promise.all([
      Promise.all(
        senders.map((ws, i) =>
          paced(
            ws,
            Array.from({ length: 90 }, () => ({ action: 'message', messageId: uniqueId('m'), orderId: busy[i % busy.length]!, text: big })),
          ),
        ),
      ),
      paced(
        quietPoster,
        Array.from({ length: 40 }, (_, i) => ({ action: 'message', messageId: uniqueId('m'), orderId: quiet, text: `q ${i}` })),
        10,
        10,
      ),
    ]);
    const want = new Map<string, number[]>();
    for (const r of [...busyReplies.flat(), ...quietReplies]) {
      expect(r.type, JSON.stringify(r).slice(0, 300)).toBe('ack');
      const room = `order:${r.orderId as string}`;
      want.set(room, [...(want.get(room) ?? []), r.seq as number].sort((x, y) => x - y));
    }

    // Every event reaches the healthy members, complete and in seq order.
    for (const [room, seqs] of want) {
      const member = room === quietRoom ? healthyQuiet : healthyBusy;
      await member.waitForEvent(room, (e) => e.seq === seqs[seqs.length - 1], 30_000);
      expect(seqsOf(member, room, 'message'), room).toEqual(seqs);
    }

    // The stalled reader was closed with 1008: it learns so once it reads
    // again, after no more than what was queued before the close.
    stalled.socket.resume();
    expect(await stalled.closed).toBe(1008);
    const received = busy.reduce((n, orderId) => n + seqsOf(stalled, `order:${orderId}`, 'message').length, 0);
    expect(received).toBeLessThan(8 * 90);
    for (const orderId of busy) {
      const room = `order:${orderId}`;
      const got = seqsOf(stalled, room, 'message');
      expect(got).toEqual(want.get(room)!.slice(0, got.length));
    }

    // Later pushes to it are refused (410) and hold nobody back.
    const after = await healthyBusy.request({ action: 'message', messageId: uniqueId('m'), orderId: busy[0]!, text: 'after' });
    expect(after.type).toBe('ack');
    await healthyBusy.waitForEvent(`order:${busy[0]!}`, (e) => e.seq === after.seq);
  }, 120_000);
});

describe('a client that floods', () => {
  it('is answered RATE_LIMITED past 20 frames a second (bursts of 100), each frame exactly once, and stays open', async () => {
    const ws = await connect(cast.dispatcher);
    const pad = 'x'.repeat(63_000);
    const ids = Array.from({ length: 1500 }, () => randomUUID());
    const replies = new Map<string, Frame[]>();
    const all = new Promise<void>((resolve) => {
      let answered = 0;
      ws.socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as Frame;
        if (typeof frame.reqId !== 'string') return;
        const list = replies.get(frame.reqId) ?? [];
        if (list.length === 0) answered++;
        list.push(frame);
        replies.set(frame.reqId, list);
        if (answered === ids.length) resolve();
      });
    });
    const started = performance.now();
    for (const reqId of ids) ws.socket.send(JSON.stringify({ action: 'ping', reqId, pad }));
    await all;
    const elapsedS = (performance.now() - started) / 1000;

    let executed = 0;
    let limited = 0;
    for (const reqId of ids) {
      const list = replies.get(reqId) ?? [];
      expect(list, reqId).toHaveLength(1);
      const reply = list[0]!;
      if (reply.type === 'error' && reply.code === 'RATE_LIMITED') {
        limited++;
        expect((reply.details as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
      } else executed++;
    }
    // At most one burst plus the sustained rate over the time it took ran.
    expect(executed).toBeLessThanOrEqual(100 + Math.ceil(20 * elapsedS) + 1);
    expect(limited).toBe(ids.length - executed);
    expect(limited).toBeGreaterThan(0);

    // The socket is open, and once the bucket refills, frames run again.
    expect(ws.isOpen).toBe(true);
    await sleep(200);
    const pong = await ws.request({ action: 'ping' });
    expect(pong.type).toBe('ack');
  }, 120_000);

  it('is not limited while it stays within 20 frames a second', async () => {
    const ws = await connect(cast.dispatcher);
    const replies = await paced(
      ws,
      Array.from({ length: 130 }, () => ({ action: 'ping' })),
      18,
      95,
    );
    expect(replies.filter((r) => r.type !== 'ack')).toEqual([]);
  });
});
