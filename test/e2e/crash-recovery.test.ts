/**
 * A runtime on a file database, killed with SIGKILL while a driver posts,
 * restarted on the same data dir: every acked checkpoint is there, once, in
 * order, and a client resuming with sinceSeq gets everything after its last seq.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { castOf, checkpoint, http, orderFor, uniqueTenant, WsClient, type Frame } from '../support/client';
import { spawnRuntime, type SpawnedRuntime } from '../support/spawn-runtime';

const secret = 'crash-test-secret';
const dataDir = mkdtempSync(join(tmpdir(), 'waypost-crash-'));
const runtimes: SpawnedRuntime[] = [];

afterAll(async () => {
  for (const r of runtimes) if (r.child.exitCode === null && r.child.signalCode === null) await r.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<SpawnedRuntime> {
  const rt = await spawnRuntime({ WAYPOST_DATA_DIR: dataDir, WAYPOST_JWT_SECRET: secret });
  runtimes.push(rt);
  return rt;
}

describe('crash recovery on a file database', () => {
  it('keeps every acked post across SIGKILL and restart', { timeout: 240_000 }, async () => {
    const first = await start();
    const cast = await castOf(secret, uniqueTenant('crash'));
    const orderId = await orderFor(first.url, cast);
    const driver = await WsClient.connect(first.url, cast.driver);
    expect(await driver.request(checkpoint(orderId, 'picked_up'))).toMatchObject({ type: 'ack', seq: 3 });

    const acked: { id: string; seq: number; frame: Frame }[] = [];
    let unacked: Frame | undefined;
    let stop = false;
    const posting = (async () => {
      for (let i = 0; !stop; i++) {
        const frame =
          i % 3 === 2
            ? { action: 'message', messageId: `msg-${i}`, orderId, text: `on my way ${i}` }
            : checkpoint(orderId, 'picked_up', { eventId: `ev-${i}`, note: `progress ${i}` });
        unacked = frame;
        let reply: Frame;
        try {
          reply = await driver.request(frame, 3000);
        } catch {
          return; // the runtime died under this request
        }
        if (reply.type !== 'ack') throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
        acked.push({ id: (frame.eventId ?? frame.messageId) as string, seq: reply.seq as number, frame });
        unacked = undefined;
      }
    })();
    while (acked.length < 40) await new Promise((r) => setTimeout(r, 10));
    await first.kill();
    stop = true;
    await posting;
    await driver.close();

    const second = await start();
    const timeline = await http<{ items: Frame[]; headSeq: number }>(second.url, 'GET', `/api/orders/${orderId}/timeline?limit=500`, {
      token: cast.dispatcher,
    });
    expect(timeline.status).toBe(200);
    const items = timeline.body.items;
    // gapless, from 1 to headSeq, each seq once
    expect(items.map((e) => e.seq)).toEqual(Array.from({ length: timeline.body.headSeq }, (_, i) => i + 1));
    const bySeq = new Map(items.map((e) => [e.seq as number, e]));
    for (const { id, seq } of acked) {
      const stored = bySeq.get(seq);
      expect(stored?.eventId ?? stored?.messageId).toBe(id);
    }
    const ids = items.map((e) => e.eventId ?? e.messageId).filter((x) => x !== undefined);
    expect(new Set(ids).size).toBe(ids.length);

    // The driver's offline queue replays what it never saw acked: stored once either way.
    const again = await WsClient.connect(second.url, cast.driver);
    if (unacked !== undefined) {
      const reply = await again.request(unacked);
      expect(reply).toMatchObject({ type: 'ack' });
    }
    // The queue replays the very frame it sent (CONTRACT §5: the same request is a duplicate, another under its id a CONFLICT).
    const replayOfAcked = acked[acked.length - 1]!;
    const dup = await again.request(replayOfAcked.frame);
    expect(dup).toMatchObject({ type: 'ack', seq: replayOfAcked.seq, duplicate: true });

    // A subscriber that had seen up to the 10th acked post catches up on everything after it.
    const lastSeen = acked[9]!.seq;
    const retailer = await WsClient.connect(second.url, cast.retailer);
    const sub = await retailer.request({ action: 'subscribe', room: `order:${orderId}`, sinceSeq: lastSeen });
    const head = sub.headSeq as number;
    expect((sub.items as Frame[]).map((e) => e.seq)).toEqual(Array.from({ length: head - lastSeen }, (_, i) => lastSeen + 1 + i));
    await again.close();
    await retailer.close();
    expect(await second.stop()).toBe(0);
  });
});
