/**
 * Acked means durable, even when everything dies at once: a runtime on a file
 * database whose whole process group (Node and DynamoDB Local's Java) is
 * killed with SIGKILL right after a driver's ack comes back with that post,
 * and what a subscriber was pushed before the kill agrees, seq by seq, with
 * the restarted timeline. Repeated over many kill cycles on one data dir.
 *
 * Without the durability fence (`local/durability-fence.ts`) the last acked
 * transaction is lost in most cycles (`WAYPOST_DURABILITY_FENCE=0` shows it:
 * see `bench/durability-probe.ts`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { castOf, checkpoint, http, orderFor, uniqueTenant, WsClient, type Frame } from '../support/client';
import { spawnRuntime, type SpawnedRuntime } from '../support/spawn-runtime';

const secret = 'crash-group-secret';
const dataDir = mkdtempSync(join(tmpdir(), 'waypost-crash-group-'));
const runtimes: SpawnedRuntime[] = [];
/** At least 10, as the trust issue asks; each cycle is a cold start of the runtime and DynamoDB Local. */
const CYCLES = 10;
/** Posts per cycle; the kill follows the last one's ack at once. */
const POSTS_PER_CYCLE = 3;

afterAll(async () => {
  for (const r of runtimes) if (r.child.exitCode === null && r.child.signalCode === null) await r.killGroup();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<SpawnedRuntime> {
  const rt = await spawnRuntime({ WAYPOST_DATA_DIR: dataDir, WAYPOST_JWT_SECRET: secret }, 120_000, { ownProcessGroup: true });
  runtimes.push(rt);
  return rt;
}

async function timelineOf(url: string, token: string, orderId: string): Promise<{ items: Frame[]; headSeq: number }> {
  const res = await http<{ items: Frame[]; headSeq: number }>(url, 'GET', `/api/orders/${orderId}/timeline?limit=500`, { token });
  expect(res.status).toBe(200);
  return res.body;
}

describe('SIGKILL of the whole process group (Node and Java) right after an ack', () => {
  it(`keeps every acked post and every pushed event, over ${CYCLES} kill cycles`, { timeout: 900_000 }, async () => {
    const cast = await castOf(secret, uniqueTenant('crash-group'));
    let rt = await start();
    const orderId = await orderFor(rt.url, cast);

    /** Every post acked before some kill: its id and seq. */
    const acked: { id: string; seq: number }[] = [];
    /** Every event a subscriber of the order's room was pushed or caught up on, by seq. */
    const seen = new Map<number, Frame>();
    let postsSent = 0;

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // A retailer watching the order: catches up from what it has seen, then live.
      const watcher = await WsClient.connect(rt.url, cast.retailer);
      const lastSeen = Math.max(0, ...seen.keys());
      const sub = await watcher.request({ action: 'subscribe', room: `order:${orderId}`, sinceSeq: lastSeen });
      expect(sub).toMatchObject({ type: 'ack', more: false });
      for (const e of sub.items as Frame[]) seen.set(e.seq as number, e);

      const driver = await WsClient.connect(rt.url, cast.driver);
      for (let i = 0; i < POSTS_PER_CYCLE; i++) {
        const n = postsSent++;
        const frame =
          n % 3 === 2
            ? { action: 'message', messageId: `msg-${n}`, orderId, text: `cycle ${cycle} post ${i}` }
            : checkpoint(orderId, n === 0 ? 'picked_up' : n === 1 ? 'in_transit' : 'in_transit', { eventId: `ev-${n}`, note: `cycle ${cycle} post ${i}` });
        const reply = await driver.request(frame, 30_000);
        expect(reply).toMatchObject({ type: 'ack', duplicate: false });
        acked.push({ id: (frame.eventId ?? frame.messageId) as string, seq: reply.seq as number });
      }
      // The kill follows the last ack at once: no other request in between.
      await rt.killGroup();
      for (const e of watcher.events(`order:${orderId}`)) seen.set(e.seq as number, e);
      await Promise.all([watcher.closed, driver.closed]);

      rt = await start();
      const { items, headSeq } = await timelineOf(rt.url, cast.dispatcher, orderId);
      // Gapless from 1 to headSeq.
      expect(items.map((e) => e.seq)).toEqual(Array.from({ length: headSeq }, (_, i) => i + 1));
      const bySeq = new Map(items.map((e) => [e.seq as number, e]));
      // Every acked post is stored at the seq its ack gave.
      for (const { id, seq } of acked) {
        const stored = bySeq.get(seq);
        expect(stored?.eventId ?? stored?.messageId, `cycle ${cycle}: acked ${id} at seq ${seq}`).toBe(id);
      }
      // What the subscriber was shown is what the restarted timeline holds, seq by seq.
      for (const [seq, event] of seen) expect(bySeq.get(seq), `cycle ${cycle}: pushed seq ${seq}`).toEqual(event);
    }

    expect(acked).toHaveLength(CYCLES * POSTS_PER_CYCLE);
    expect(seen.size).toBeGreaterThanOrEqual(acked.length);
    expect(await rt.stop()).toBe(0);
  });
});
