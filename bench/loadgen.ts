/**
 * The load generator, in its own process (forked by `bench/run.ts`, config
 * over IPC). One event loop, one batched send timer: it should take as little
 * of the machine's two cores as it can, since the target runs beside it.
 *
 * Workload: R order rooms × S subscribers (sockets subscribed to
 * `order:<id>`, alternately retailers and dispatchers for Waypost), P driver
 * sockets posting ~300-byte checkpoints (same-status `picked_up` progress
 * updates) and messages, alternating per room, round robin over the rooms.
 *
 * Open loop: each step has a fixed schedule (post i at t0 + i/rate); sends
 * happen when due whatever the target does, and latency is measured from the
 * scheduled time to each subscriber's receipt on this process's clock, so a
 * slow target cannot hide its queueing (and neither can a late generator:
 * its own lag is reported). Receipts are matched to posts by a marker in the
 * note/text, losses counted against R×S expectations, duplicates by
 * (subscriber, room, seq).
 */
import WebSocket, { type RawData } from 'ws';
import { signLocalToken, type TokenRequest } from '../shared/runtime/auth';
import { Requester } from '../web/sdk/requester';
import { Samples } from './lib/stats';
import type { LoadgenConfig, LoadgenMessage, OrchestratorMessage, SetupSummary, StepResult } from './protocol';

type Frame = Record<string, unknown>;

const send = (m: LoadgenMessage) => process.send?.(m);
/** The longest wait for a target to catch up after the warm-up or a failed step. */
const DRAIN_MS = 30_000;
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

class Conn {
  /** The SDK's requester: setup requests wait for their replies; posts in a step are fire-and-forget. */
  readonly requester: Requester;
  closed = false;
  constructor(readonly ws: WebSocket) {
    this.requester = new Requester({ send: (text) => ws.send(text), timeoutMs: 30_000 });
  }
  async request(frame: Frame, reqId: string): Promise<Frame> {
    return (await this.requester.exchange(frame, { reqId })) as Frame;
  }
}

interface Subscriber {
  readonly conn: Conn;
  readonly room: number;
  readonly seen: Set<number>;
}

interface StepState {
  readonly index: number;
  readonly warmup: boolean;
  readonly offered: number;
  readonly n: number;
  readonly t0: number;
  readonly sched: Float64Array;
  readonly acked: Uint8Array;
  readonly recv: Uint8Array;
  readonly lat: Samples;
  readonly ackLat: Samples;
  readonly lag: Samples;
  readonly errors: Record<string, number>;
  ackCount: number;
  errorCount: number;
  delivered: number;
  dup: number;
  lastReceipt: number;
  finalized: StepResult | undefined;
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

async function httpJson(baseUrl: string, method: string, path: string, token: string, body: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

class LoadGenerator {
  private readonly steps: StepState[] = [];
  private readonly subscribers: Subscriber[] = [];
  private readonly drivers: Conn[] = [];
  private readonly orderIds: string[];
  private readonly wsUrl: string;
  private unexpectedCloses = 0;
  private runStep = -1;

  constructor(private readonly cfg: LoadgenConfig) {
    if (cfg.subscribers > 250) throw new Error('at most 250 subscribers per room');
    this.orderIds = Array.from({ length: cfg.rooms }, (_, i) => `bench-${cfg.runId}-${i}`);
    this.wsUrl = `${cfg.baseUrl.replace(/^http/, 'ws')}/ws`;
  }

  // ------------------------------------------------------------ setup

  private token(req: Omit<TokenRequest, 'tenant'>): Promise<string> {
    if (this.cfg.kind === 'bare') return Promise.resolve('bare');
    return signLocalToken(this.cfg.jwtSecret ?? '', { ...req, tenant: `bench-${this.cfg.runId}`, ttlSeconds: 6 * 3600 });
  }

  private retailerOf(room: number): string {
    return `r${room % Math.min(10, this.cfg.rooms)}`;
  }

  private driverOf(room: number): number {
    return room % this.cfg.drivers;
  }

  private connect(token: string, onFrame: (conn: Conn, f: Frame, now: number) => void): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.wsUrl}?token=${encodeURIComponent(token)}`, { perMessageDeflate: false });
      const conn = new Conn(ws);
      ws.on('message', (data: RawData) => {
        const now = performance.now();
        let f: Frame;
        try {
          f = JSON.parse(data.toString()) as Frame;
        } catch {
          return;
        }
        if (conn.requester.receive(f)) return;
        onFrame(conn, f, now);
      });
      ws.once('open', () => resolve(conn));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode ?? '?'}`)));
      ws.once('error', reject);
      ws.on('close', () => {
        conn.closed = true;
        if (this.runStep >= 0) this.unexpectedCloses++;
      });
    });
  }

  async setup(): Promise<SetupSummary> {
    const started = performance.now();
    const { cfg } = this;
    if (cfg.kind === 'waypost') await this.createOrders();
    // Drivers.
    const driverIds = Array.from({ length: cfg.drivers }, (_, j) => j);
    await pool(driverIds, cfg.connectConcurrency, async (j) => {
      const token = await this.token({ role: 'driver', sub: `bench-driver-${j}` });
      this.drivers[j] = await this.connect(token, (_c, f, now) => this.onDriverFrame(f, now));
    });
    if (cfg.kind === 'waypost') {
      // One status move per order (created → picked_up); every post after it is a same-status progress update.
      await pool(driverIds, cfg.connectConcurrency, async (j) => {
        for (let room = j; room < cfg.rooms; room += cfg.drivers) {
          const reply = await this.drivers[j]!.request(
            { action: 'checkpoint', eventId: `${cfg.runId}-pickup-${room}`, orderId: this.orderIds[room], status: 'picked_up', occurredAt: new Date().toISOString() },
            `setup-pickup-${room}`,
          );
          if (reply.type !== 'ack') throw new Error(`initial picked_up of ${this.orderIds[room]} refused: ${JSON.stringify(reply)}`);
        }
      });
    }
    // Subscribers.
    const slots: { room: number; j: number }[] = [];
    for (let j = 0; j < cfg.subscribers; j++) for (let room = 0; room < cfg.rooms; room++) slots.push({ room, j });
    await pool(slots, cfg.connectConcurrency, async ({ room, j }) => {
      const token =
        j % 2 === 0
          ? await this.token({ role: 'retailer', sub: `bench-ret-${room}-${j}`, retailerId: this.retailerOf(room) })
          : await this.token({ role: 'dispatcher', sub: `bench-disp-${room}-${j}` });
      const sub: Subscriber = {
        conn: await this.connect(token, (_c, f, now) => this.onSubscriberFrame(sub, f, now)),
        room,
        seen: new Set(),
      };
      const reply = await sub.conn.request({ action: 'subscribe', room: `order:${this.orderIds[room]}` }, `setup-sub-${room}-${j}`);
      if (reply.type !== 'ack') throw new Error(`subscribe refused: ${JSON.stringify(reply)}`);
      this.subscribers.push(sub);
    });
    return {
      sockets: this.drivers.length + this.subscribers.length,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      orders: cfg.kind === 'waypost' ? cfg.rooms : 0,
    };
  }

  private async createOrders(): Promise<void> {
    const { cfg } = this;
    const dispatcher = await this.token({ role: 'dispatcher', sub: 'bench-dispatch' });
    const retailers = new Map<string, string>();
    for (let room = 0; room < cfg.rooms; room++) {
      const r = this.retailerOf(room);
      if (!retailers.has(r)) retailers.set(r, await this.token({ role: 'retailer', sub: `bench-retailer-${r}`, retailerId: r }));
    }
    await pool(this.orderIds, 8, async (orderId, room) => {
      const retailerId = this.retailerOf(room);
      const created = await httpJson(cfg.baseUrl, 'POST', '/api/orders', retailers.get(retailerId)!, {
        orderId,
        retailerId,
        recipient: { name: 'Bench Recipient' },
        destination: { address: `${room} Bench Street`, lat: 51.5, lng: -0.12 },
      });
      if (created.status !== 201 && created.status !== 200) throw new Error(`create ${orderId}: ${created.status} ${created.text}`);
      const assigned = await httpJson(cfg.baseUrl, 'POST', `/api/orders/${encodeURIComponent(orderId)}/assign`, dispatcher, {
        driverId: `bench-driver-${this.driverOf(room)}`,
      });
      if (assigned.status !== 200) throw new Error(`assign ${orderId}: ${assigned.status} ${assigned.text}`);
    });
  }

  // ------------------------------------------------------------ receipts

  private stepOf(marker: unknown): { st: StepState; i: number } | undefined {
    if (typeof marker !== 'string' || marker.charCodeAt(0) !== 66 /* B */) return undefined;
    const dot = marker.indexOf('.');
    const end = marker.indexOf('.', dot + 1);
    const st = this.steps[Number(marker.slice(1, dot))];
    const i = Number(marker.slice(dot + 1, end));
    return st === undefined || !(i >= 0 && i < st.n) ? undefined : { st, i };
  }

  private onSubscriberFrame(sub: Subscriber, f: Frame, now: number): void {
    if (f.type !== 'event') return;
    const event = f.event as Frame | undefined;
    if (event === undefined) return;
    const seq = event.seq as number;
    const hit = this.stepOf(event.note ?? event.text);
    if (sub.seen.has(seq)) {
      const st = hit?.st ?? this.steps[this.steps.length - 1];
      if (st !== undefined) st.dup++;
      return;
    }
    sub.seen.add(seq);
    if (hit === undefined) return;
    const { st, i } = hit;
    if (st.finalized !== undefined) {
      st.finalized.late++;
      return;
    }
    const count = ++st.recv[i]!;
    if (count > this.cfg.subscribers) {
      st.dup++;
      return;
    }
    st.delivered++;
    st.lat.push(now - st.sched[i]!);
    st.lastReceipt = now;
  }

  private onDriverFrame(f: Frame, now: number): void {
    const reqId = f.reqId;
    if (typeof reqId !== 'string' || reqId.charCodeAt(0) !== 112 /* p */) return;
    const hit = this.stepOf(`B${reqId.slice(1)}.`);
    if (hit === undefined) return;
    const { st, i } = hit;
    if (st.acked[i] !== 0) return;
    st.acked[i] = 1;
    if (f.type === 'ack') {
      st.ackCount++;
      st.ackLat.push(now - st.sched[i]!);
    } else {
      st.errorCount++;
      const code = typeof f.code === 'string' ? f.code : typeof f.message === 'string' ? f.message.slice(0, 40) : 'UNKNOWN';
      st.errors[code] = (st.errors[code] ?? 0) + 1;
    }
  }

  // ------------------------------------------------------------ steps

  /** The frame of post i of a step, padded to about `payloadBytes`. */
  private frameBuilder(stepIndex: number): (i: number, isoNow: string) => string {
    const { cfg } = this;
    const build = (i: number, iso: string, pad: string) => {
      const room = i % cfg.rooms;
      const orderId = this.orderIds[room]!;
      const id = `${cfg.runId}-${stepIndex}-${i}`;
      const marker = `B${stepIndex}.${i}.${pad}`;
      // Alternate kinds per room: a room's posts go checkpoint, message, checkpoint, …
      return Math.floor(i / cfg.rooms) % 2 === 0
        ? `{"action":"checkpoint","reqId":"p${stepIndex}.${i}","eventId":"${id}","orderId":"${orderId}","status":"picked_up","occurredAt":"${iso}","location":{"lat":51.5072,"lng":-0.1276,"accuracyM":8},"note":"${marker}"}`
        : `{"action":"message","reqId":"p${stepIndex}.${i}","messageId":"${id}","orderId":"${orderId}","text":"${marker}"}`;
    };
    const iso = new Date().toISOString();
    const padFor = (i: number) => 'x'.repeat(Math.max(0, cfg.payloadBytes - build(i, iso, '').length));
    const padCheckpoint = padFor(0);
    const padMessage = padFor(cfg.rooms);
    return (i, isoNow) => build(i, isoNow, Math.floor(i / cfg.rooms) % 2 === 0 ? padCheckpoint : padMessage);
  }

  async step(offered: number, seconds: number, warmup: boolean, afterFailure = false): Promise<StepResult> {
    return this.finishStep(await this.sendStep(offered, seconds, warmup), afterFailure);
  }

  /** Send one step's schedule; resolves when its last post is sent. */
  private async sendStep(offered: number, seconds: number, warmup: boolean): Promise<{ st: StepState; startUs: number }> {
    const { cfg } = this;
    const index = this.steps.length;
    const n = Math.max(1, Math.round(offered * seconds));
    const interval = 1000 / offered;
    const t0 = performance.now() + 20;
    const sched = new Float64Array(n);
    for (let i = 0; i < n; i++) sched[i] = t0 + i * interval;
    const st: StepState = {
      index,
      warmup,
      offered,
      n,
      t0,
      sched,
      acked: new Uint8Array(n),
      recv: new Uint8Array(n),
      lat: new Samples(n * cfg.subscribers),
      ackLat: new Samples(n),
      lag: new Samples(n),
      errors: {},
      ackCount: 0,
      errorCount: 0,
      delivered: 0,
      dup: 0,
      lastReceipt: 0,
      finalized: undefined,
    };
    this.steps.push(st);
    this.runStep = index;
    send({ type: 'step-start', index, offered, warmup });
    const frameOf = this.frameBuilder(index);
    const startUs = monoUs();

    // The schedule: one timer, sending every post that is due, then sleeping until the next.
    await new Promise<void>((resolve) => {
      let next = 0;
      const tick = () => {
        const now = performance.now();
        if (next < n && sched[next]! <= now) {
          const iso = new Date().toISOString();
          while (next < n && sched[next]! <= now) {
            const driver = this.drivers[this.driverOf(next % cfg.rooms)]!;
            if (!driver.closed) driver.ws.send(frameOf(next, iso));
            st.lag.push(performance.now() - sched[next]!);
            next++;
          }
        }
        if (next >= n) resolve();
        else setTimeout(tick, Math.max(0, Math.min(50, sched[next]! - performance.now())));
      };
      setTimeout(tick, Math.max(0, t0 - performance.now()));
    });
    return { st, startUs };
  }

  /** Wait for a sent step's deliveries and replies (or its grace to pass), and sum it up. */
  private async finishStep({ st, startUs }: { st: StepState; startUs: number }, afterFailure: boolean): Promise<StepResult> {
    const { cfg } = this;
    const { index, warmup, offered, n, t0, sched } = st;
    const interval = 1000 / offered;
    // Wait for every delivery and reply, or until the grace is over.
    const deadline = sched[n - 1]! + interval + cfg.graceSeconds * 1000;
    const expected = n * cfg.subscribers;
    while (performance.now() < deadline && (st.delivered < expected || st.ackCount + st.errorCount < n)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const endUs = monoUs();
    const lost = expected - st.delivered;
    const unacked = n - st.ackCount - st.errorCount;
    const latency = st.lat.summary();
    const elapsedS = (st.lastReceipt - t0) / 1000;
    const reasons: string[] = [];
    if (latency.p99 === null || latency.p99 > cfg.p99LimitMs) reasons.push(`p99 ${latency.p99 ?? '—'} ms > ${cfg.p99LimitMs} ms`);
    if (lost > 0) reasons.push(`${lost} deliveries lost`);
    if (st.errorCount > 0) reasons.push(`${st.errorCount} error replies`);
    if (unacked > 0) reasons.push(`${unacked} posts unanswered`);
    if (this.unexpectedCloses > 0) reasons.push(`${this.unexpectedCloses} sockets closed`);
    const result: StepResult = {
      index,
      warmup,
      afterFailure,
      offered,
      posts: n,
      achieved: elapsedS > 0 ? Math.round((st.delivered / cfg.subscribers / elapsedS) * 10) / 10 : 0,
      expectedDeliveries: expected,
      delivered: st.delivered,
      lost,
      dup: st.dup,
      late: 0,
      acked: st.ackCount,
      errors: st.errors,
      errorCount: st.errorCount,
      unacked,
      latency,
      ack: st.ackLat.summary(),
      sendLag: st.lag.summary(),
      windowUs: [startUs, endUs],
      passed: reasons.length === 0,
      ...(reasons.length > 0 && { failReason: reasons.join('; ') }),
    };
    st.finalized = result;
    return result;
  }

  /** Wait until every earlier post is answered and delivered (late ones included), or `timeoutMs`. */
  private async drain(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    const pending = () =>
      this.steps.some((st) => st.ackCount + st.errorCount < st.n || st.delivered + (st.finalized?.late ?? 0) < st.n * this.cfg.subscribers);
    while (performance.now() < deadline && pending()) await new Promise((r) => setTimeout(r, 100));
  }

  async run(): Promise<StepResult[]> {
    const { cfg } = this;
    const results: StepResult[] = [];
    if (cfg.warmupSeconds > 0) {
      // Long enough for the JVM (DynamoDB Local) and V8 to compile their hot
      // paths, at a rate every target handles; then let the target drain.
      const r = await this.step(cfg.warmupRate, cfg.warmupSeconds, true);
      results.push(r);
      send({ type: 'step-end', result: r });
      await this.drain(DRAIN_MS);
      await new Promise((res) => setTimeout(res, 500));
    }
    if (cfg.soakWindows !== undefined) {
      const rate = cfg.steps[0] ?? 100;
      const finishing: Promise<StepResult>[] = [];
      for (let w = 0; w < cfg.soakWindows; w++) {
        const sent = await this.sendStep(rate, cfg.stepSeconds, false);
        finishing.push(
          this.finishStep(sent, false).then((r) => {
            send({ type: 'step-end', result: r });
            return r;
          }),
        );
      }
      results.push(...(await Promise.all(finishing)));
      await new Promise((res) => setTimeout(res, 300));
      this.runStep = -1;
      return results;
    }
    let failed = false;
    for (const offered of cfg.steps) {
      // After a failure, only the steps up to the reference rate still run (for the p99-at-200 comparison).
      if (failed && offered > cfg.referenceRate) break;
      const r = await this.step(offered, cfg.stepSeconds, false, failed);
      results.push(r);
      send({ type: 'step-end', result: r });
      if (!r.passed) {
        failed = true;
        if (cfg.steps.some((x) => x > offered && x <= cfg.referenceRate)) await this.drain(DRAIN_MS);
      }
      await new Promise((res) => setTimeout(res, 500));
    }
    // Late receipts of the last step still count in its `late`.
    await new Promise((res) => setTimeout(res, 300));
    this.runStep = -1;
    return results;
  }

  close(): void {
    for (const c of [...this.drivers, ...this.subscribers.map((s) => s.conn)]) c.ws.terminate();
  }
}

// The orchestrator gone (Ctrl-C, a crash): stop at once.
process.on('disconnect', () => process.exit(0));

process.on('message', (m: OrchestratorMessage) => {
  if (m.type !== 'config') return;
  const gen = new LoadGenerator(m.config);
  void (async () => {
    try {
      send({ type: 'setup', summary: await gen.setup() });
      const steps = await gen.run();
      send({ type: 'done', steps });
    } catch (err) {
      send({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    } finally {
      gen.close();
      setTimeout(() => process.exit(0), 200);
    }
  })();
});
