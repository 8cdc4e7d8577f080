/**
 * `npm run cost`: what 1,000 deliveries cost on AWS, from a simulated
 * delivery day run against Waypost's local runtime (started here as a child
 * process, in-memory database).
 *
 * 1,000 deliveries take too long to simulate, so N (default 50) are run, each
 * with 10 checkpoints, 5 messages and 5 watchers, and the counts are scaled.
 * Counted from outside, by the simulation's own clients: WebSocket frames in
 * and out (by kind and size), connections, HTTP requests, the events stored
 * (read back from the timeline), the SMS sent (the SNS stand-in's outbox),
 * and the time each request took. DynamoDB units are computed from the write
 * pattern README "How it works" documents, with the item sizes measured by
 * scanning the runtime's DynamoDB Local after the run. Everything that cannot
 * be observed locally (how long a watcher stays connected, Lambda batching,
 * the sweep's duration) is an assumption, printed with the result.
 *
 * Prices: bench/prices.json (its source and date are in the file).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import WebSocket, { type RawData } from 'ws';
import type { LocalCredentials } from '../local/credentials';
import { LOCAL_REGION } from '../local/dynamodb';
import { roomsForEvent } from '../shared/domain/rooms';
import { DEFAULT_SLA_POLICY } from '../shared/domain/sla';
import { Requester } from '../web/sdk/requester';
import type { OrderEvent } from '../shared/domain/model';
import { signLocalToken, type TokenRequest } from '../shared/runtime/auth';
import { ArgError, intFlag, numberFlag, parseArgs, stringFlag, usage, type FlagSpec } from './lib/args';
import { ROOT, spawnWaypost, stopAll, type Child } from './lib/procs';
import { revision, type Revision } from './lib/revision';

const FLAGS: FlagSpec[] = [
  { name: 'deliveries', kind: 'int', help: 'deliveries simulated (default 50; the counts are scaled to 1,000)' },
  { name: 'checkpoints', kind: 'int', help: 'checkpoints per delivery, the last one `delivered` (default 10)' },
  { name: 'messages', kind: 'int', help: 'messages per delivery (default 5)' },
  { name: 'watchers', kind: 'int', help: 'sockets subscribed to each order room (default 5: retailer users and dispatchers)' },
  { name: 'stalled', kind: 'int', help: 'deliveries that stall at a hub long enough to escalate to one SMS (default 2 of 50)' },
  { name: 'watch-minutes', kind: 'number', help: 'ASSUMED minutes each watcher stays connected per delivery (default 30)' },
  { name: 'driver-minutes', kind: 'number', help: "ASSUMED minutes of a driver's connection per delivery (default 24: 20 stops in an 8-hour shift)" },
  { name: 'keepalive', kind: 'string', help: 'how idle sockets survive API Gateway\'s 10-minute idle limit: ping (a `ping` frame every --ping-minutes; default), reconnect (dropped and re-opened: a client that does not ping), none' },
  { name: 'ping-minutes', kind: 'number', help: 'keep-alive ping interval, minutes (default 9)' },
  { name: 'lambda-ms', kind: 'number', help: 'also price Lambda at this ASSUMED duration per invocation, for comparison with the measured one (default 25)' },
  { name: 'feed-sockets', kind: 'int', help: 'consoles on `dispatch` / `retailer:` feeds all day (default 6)' },
  { name: 'feed-hours', kind: 'number', help: 'ASSUMED hours a day the feed consoles are open (default 10)' },
  { name: 'per-day', kind: 'int', help: 'ASSUMED deliveries a day, to share the daily fixed costs (sweep, feeds) (default 1000)' },
  { name: 'memory-mb', kind: 'int', help: "Lambda memory (default 512, AppFunction's default in lib/app-function.ts)" },
  { name: 'sweep-ms', kind: 'number', help: "ASSUMED billed duration of one SLA sweep invocation (default 150)" },
  { name: 'concurrency', kind: 'int', help: 'deliveries in flight at once (default 2: low, so round trips are not inflated by queueing)' },
  { name: 'no-write', kind: 'switch', help: 'print only; write nothing to bench/results' },
  { name: 'help', kind: 'switch', help: 'this text' },
];

interface Prices {
  readonly writtenOn: string;
  readonly source: string;
  readonly apiGatewayWebSocket: { messagesPerMillion: number; messageMeterBytes: number; connectionMinutesPerMillion: number };
  readonly apiGatewayHttp: { requestsPerMillion: number };
  readonly lambdaArm64: { requestsPerMillion: number; gbSecond: number };
  readonly dynamodbOnDemand: { writeRequestUnitsPerMillion: number; readRequestUnitsPerMillion: number };
  readonly snsSmsUs: { basePerMessage: number; carrierFeePerMessage: number };
}

type Frame = Record<string, unknown>;

// ------------------------------------------------------------ counting clients

/** Everything the simulation's clients saw, for the bill. */
class Meter {
  framesIn = 0;
  framesOut = 0;
  /** 32 KB-metered message units, in and out. */
  unitsIn = 0;
  unitsOut = 0;
  readonly inByAction = new Map<string, number>();
  readonly outByType = new Map<string, number>();
  connections = 0;
  connectionMs = 0;
  http = 0;
  readonly durations = new Map<string, number[]>();
  /** When a post was acked and when its event first reached a watcher, by `<orderId>#<seq>`. */
  readonly ackAt = new Map<string, number>();
  readonly firstPush = new Map<string, number>();
  constructor(private readonly meterBytes: number) {}
  units(bytes: number): number {
    return Math.max(1, Math.ceil(bytes / this.meterBytes));
  }
  time(kind: string, ms: number): void {
    const list = this.durations.get(kind);
    if (list) list.push(ms);
    else this.durations.set(kind, [ms]);
  }
  /** Median ms from a post's ack to its first push: what a fan-out invocation takes, at most. */
  pushDelay(): number | null {
    const d: number[] = [];
    for (const [k, at] of this.ackAt) {
      const pushed = this.firstPush.get(k);
      if (pushed !== undefined) d.push(Math.max(1, pushed - at));
    }
    d.sort((a, b) => a - b);
    return d.length === 0 ? null : d[Math.floor(d.length / 2)]!;
  }
  median(kind: string): number | null {
    const list = [...(this.durations.get(kind) ?? [])].sort((a, b) => a - b);
    return list.length === 0 ? null : list[Math.floor(list.length / 2)]!;
  }
}

class Client {
  /** The SDK's requester: pairs each reply with its request. */
  private readonly requester: Requester;
  readonly events: OrderEvent[] = [];
  private readonly watchers: { match: (e: OrderEvent) => boolean; resolve: () => void }[] = [];
  private openedAt = 0;
  private readonly unmetered = new Set<string>();
  private seq = 0;
  readonly closed: Promise<void>;

  private constructor(
    private readonly ws: WebSocket,
    private readonly meter: Meter,
  ) {
    this.requester = new Requester({ send: (text) => ws.send(text), timeoutMs: 30_000 });
    ws.on('message', (data: RawData) => {
      const text = data.toString();
      const f = JSON.parse(text) as Frame;
      if (!(typeof f.reqId === 'string' && this.unmetered.delete(f.reqId))) {
        meter.framesOut++;
        meter.unitsOut += meter.units(Buffer.byteLength(text));
        const type = f.type === 'event' ? `event ${String(f.room).split(':')[0]}` : String(f.type);
        meter.outByType.set(type, (meter.outByType.get(type) ?? 0) + 1);
      }
      this.requester.receive(f);
      if (f.type === 'event') {
        const e = f.event as OrderEvent;
        this.events.push(e);
        const key = `${e.orderId}#${e.seq}`;
        if (!meter.firstPush.has(key)) meter.firstPush.set(key, performance.now());
        for (const w of [...this.watchers]) {
          if (w.match(e)) {
            this.watchers.splice(this.watchers.indexOf(w), 1);
            w.resolve();
          }
        }
      }
    });
    this.closed = new Promise((r) =>
      ws.on('close', () => {
        meter.connectionMs += performance.now() - this.openedAt;
        r();
      }),
    );
  }

  static async open(baseUrl: string, token: string, meter: Meter): Promise<Client> {
    const started = performance.now();
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(token)}`, { perMessageDeflate: false });
    const client = new Client(ws, meter);
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    client.openedAt = performance.now();
    meter.connections++;
    meter.time('$connect', client.openedAt - started);
    return client;
  }

  /** Send a request and wait for its ack; `metered: false` times it but leaves it off the bill. */
  async request(frame: Frame, metered = true): Promise<Frame> {
    const reqId = `r${++this.seq}`;
    const text = JSON.stringify({ ...frame, reqId });
    const action = String(frame.action);
    if (metered) {
      this.meter.framesIn++;
      this.meter.unitsIn += this.meter.units(Buffer.byteLength(text));
      this.meter.inByAction.set(action, (this.meter.inByAction.get(action) ?? 0) + 1);
    } else {
      this.unmetered.add(reqId);
    }
    const started = performance.now();
    // The requester sends exactly `text` (the frame with this reqId), the size metered above.
    const reply = (await this.requester.exchange(frame, { reqId })) as Frame;
    this.meter.time(action, performance.now() - started);
    if (reply.type === 'ack' && typeof reply.orderId === 'string' && typeof reply.seq === 'number') {
      this.meter.ackAt.set(`${reply.orderId}#${reply.seq}`, performance.now());
    }
    if (reply.type !== 'ack') throw new Error(`${action} refused: ${JSON.stringify(reply)}`);
    return reply;
  }

  /** Resolves when a pushed event matches (already received ones count). */
  waitFor(match: (e: OrderEvent) => boolean, timeoutMs = 20_000): Promise<void> {
    if (this.events.some(match)) return Promise.resolve();
    return new Promise((ok, fail) => {
      const timer = setTimeout(() => fail(new Error('an expected push did not come')), timeoutMs);
      this.watchers.push({
        match,
        resolve: () => {
          clearTimeout(timer);
          ok();
        },
      });
    });
  }

  close(): Promise<void> {
    this.ws.close();
    return this.closed;
  }
}

async function http(meter: Meter | undefined, baseUrl: string, method: string, path: string, token: string, body?: unknown): Promise<Frame> {
  const started = performance.now();
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (meter !== undefined) {
    meter.http++;
    meter.time(`http ${method}`, performance.now() - started);
  }
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as Frame;
}

// ------------------------------------------------------------ DynamoDB item sizes

function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S);
  if (v.N !== undefined) return Math.ceil(v.N.replace(/^-|\.|e.*$/gi, '').replace(/^0+/, '').length / 2) + 1;
  if (v.B !== undefined) return v.B.length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS !== undefined) return v.SS.reduce((a, s) => a + Buffer.byteLength(s), 0);
  if (v.NS !== undefined) return v.NS.reduce((a, n) => a + n.length, 0);
  if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((a, [k, x]) => a + Buffer.byteLength(k) + valueSize(x) + 1, 0);
  if (v.L !== undefined) return 3 + v.L.reduce((a, x) => a + valueSize(x) + 1, 0);
  return 0;
}

function itemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((a, [k, v]) => a + Buffer.byteLength(k) + valueSize(v), 0);
}

/** Average item sizes (bytes) by kind, from the runtime's tables. */
async function measureItems(endpoint: string, credentials: LocalCredentials): Promise<Map<string, { count: number; avg: number; max: number }>> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials });
  const sizes = new Map<string, number[]>();
  const add = (kind: string, n: number) => {
    const list = sizes.get(kind);
    if (list) list.push(n);
    else sizes.set(kind, [n]);
  };
  try {
    const tables = (await client.send(new ListTablesCommand({}))).TableNames ?? [];
    for (const table of tables) {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
        for (const item of page.Items ?? []) {
          const pk = item.pk?.S ?? '';
          const sk = item.sk?.S ?? '';
          const kind =
            sk === 'HEAD'
              ? 'order head'
              : sk.startsWith('E#')
                ? `event ${item.kind?.S ?? '?'}`
                : sk.startsWith('ID#')
                  ? 'idempotency key'
                  : sk === 'ALERT'
                    ? 'alert'
                    : sk.startsWith('SMS#')
                      ? 'sms outbox'
                      : sk === 'META'
                        ? 'connection'
                        : pk.startsWith('R#')
                          ? 'membership'
                          : `other (${table})`;
          add(kind, itemSize(item));
        }
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    }
  } finally {
    client.destroy();
  }
  return new Map(
    [...sizes].map(([k, list]) => [k, { count: list.length, avg: Math.round(list.reduce((a, b) => a + b, 0) / list.length), max: Math.max(...list) }]),
  );
}

// ------------------------------------------------------------ the simulated day

interface Sim {
  readonly deliveries: number;
  readonly checkpoints: number;
  readonly messages: number;
  readonly watchers: number;
  readonly stalled: number;
  readonly feedSockets: number;
  readonly concurrency: number;
}

/** The statuses one delivery goes through: moves, then progress updates on the last mile, then `delivered`. */
function route(checkpoints: number): string[] {
  const moves = ['picked_up', 'in_transit', 'at_hub', 'in_transit', 'at_hub'].slice(0, Math.max(0, checkpoints - 2));
  const progress = Math.max(0, checkpoints - 2 - moves.length);
  return [...moves, 'out_for_delivery', ...Array.from({ length: progress }, () => 'out_for_delivery'), 'delivered'];
}

async function simulate(baseUrl: string, secret: string, sim: Sim, meter: Meter): Promise<{ orderIds: string[]; tenant: string; dispatcher: string }> {
  const tenant = `cost-${randomBytes(4).toString('hex')}`;
  const mint = (req: Omit<TokenRequest, 'tenant'>) => signLocalToken(secret, { ...req, tenant, ttlSeconds: 6 * 3600 });
  const retailers = Math.max(1, Math.min(5, sim.feedSockets - 1));
  const dispatcher = await mint({ role: 'dispatcher', sub: 'dispatcher-main' });
  const drivers = Math.max(1, Math.ceil(sim.deliveries / 5));

  // All-day consoles: one dispatcher on `dispatch`, one console per retailer on `retailer:<id>`.
  const feeds: Client[] = [];
  for (let k = 0; k < sim.feedSockets; k++) {
    const isDispatch = k === 0;
    const token = isDispatch ? dispatcher : await mint({ role: 'retailer', sub: `retailer-console-${k}`, retailerId: `r${(k - 1) % retailers}` });
    const c = await Client.open(baseUrl, token, meter);
    await c.request({ action: 'subscribe', room: isDispatch ? 'dispatch' : `retailer:r${(k - 1) % retailers}` });
    feeds.push(c);
  }
  const driverClients: Client[] = [];
  for (let j = 0; j < drivers; j++) driverClients.push(await Client.open(baseUrl, await mint({ role: 'driver', sub: `driver-${j}` }), meter));

  const orderIds = Array.from({ length: sim.deliveries }, (_, i) => `cost-${i}`);
  const plan = route(sim.checkpoints);
  const delivery = async (i: number) => {
    const orderId = orderIds[i]!;
    const retailerId = `r${i % retailers}`;
    const retailerToken = await mint({ role: 'retailer', sub: `retailer-user-${retailerId}`, retailerId });
    await http(meter, baseUrl, 'POST', '/api/orders', retailerToken, {
      orderId,
      retailerId,
      recipient: { name: 'Ada Lovelace', phone: '+15550100999' },
      destination: { address: `${i} Analytical Engine Row, Springfield`, lat: 39.78, lng: -89.65 },
      promisedBy: new Date(Date.now() + 4 * 3600_000).toISOString(),
    });
    await http(meter, baseUrl, 'POST', `/api/orders/${orderId}/assign`, dispatcher, { driverId: `driver-${i % drivers}` });
    const watchers: Client[] = [];
    for (let w = 0; w < sim.watchers; w++) {
      const token =
        w % 2 === 0
          ? await mint({ role: 'retailer', sub: `retailer-user-${retailerId}-${w}`, retailerId })
          : await mint({ role: 'dispatcher', sub: `dispatcher-${w}` });
      const c = await Client.open(baseUrl, token, meter);
      await c.request({ action: 'subscribe', room: `order:${orderId}`, sinceSeq: 0 });
      watchers.push(c);
    }
    const driver = driverClients[i % drivers]!;
    const stalls = i < sim.stalled;
    let stalledOnce = false;
    let lastSeq = 0;
    let messagesSent = 0;
    const sendMessage = async (m: number) => {
      const from = m % 3 === 0 ? driver : (watchers[m % Math.max(1, watchers.length)] ?? driver);
      const ack = await from.request({ action: 'message', messageId: `${orderId}-m${m}`, orderId, text: `Message ${m + 1} about ${orderId}: gate code 4711, ring twice, leave with the neighbour at no. 7 if nobody answers.` });
      lastSeq = Math.max(lastSeq, ack.seq as number);
    };
    for (let k = 0; k < plan.length; k++) {
      const status = plan[k]!;
      const ack = await driver.request({
        action: 'checkpoint',
        eventId: `${orderId}-c${k}`,
        orderId,
        status,
        occurredAt: new Date().toISOString(),
        location: { lat: 39.78 + k / 1000, lng: -89.65 + k / 1000, accuracyM: 12 },
        note: status === 'out_for_delivery' ? 'On the last mile.' : `Scanned: ${status.replace(/_/g, ' ')}.`,
        ...(status === 'delivered' && { proof: { recipientType: 'neighbor', recipientName: 'Mr Wu' } }),
      });
      lastSeq = Math.max(lastSeq, ack.seq as number);
      if (stalls && !stalledOnce && status === 'at_hub') {
        // Stuck at the hub: wait for the alert to escalate to its SMS level.
        stalledOnce = true;
        const before = (await (await fetch(`${baseUrl}/_local/sms`)).json()) as { message: string }[];
        const already = before.filter((s) => s.message.includes(orderId)).length;
        const deadline = Date.now() + 30_000;
        for (;;) {
          const sms = (await (await fetch(`${baseUrl}/_local/sms`)).json()) as { message: string }[];
          if (sms.filter((s) => s.message.includes(orderId)).length > already) break;
          if (Date.now() > deadline) throw new Error(`no SMS for stalled ${orderId}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      // Messages spread over the delivery.
      while (messagesSent < sim.messages && (messagesSent + 1) * plan.length <= (k + 1) * (sim.messages + 1)) await sendMessage(messagesSent++);
    }
    while (messagesSent < sim.messages) await sendMessage(messagesSent++);
    // Every watcher has everything up to the last ack, then goes.
    await Promise.all(watchers.map((c) => c.waitFor((e) => e.seq >= lastSeq)));
    await new Promise((r) => setTimeout(r, 200));
    await Promise.all(watchers.map((c) => c.close()));
  };
  // Deliveries side by side, a few at a time.
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(sim.concurrency, sim.deliveries) }, async () => {
      for (let i = next++; i < sim.deliveries; i = next++) await delivery(i);
    }),
  );
  await new Promise((r) => setTimeout(r, 500));
  // A few pings, off the bill, to time the keep-alive frame.
  for (let k = 0; k < 3; k++) await Promise.all(feeds.map((c) => c.request({ action: 'ping' }, false)));
  await Promise.all([...driverClients, ...feeds].map((c) => c.close()));
  return { orderIds, tenant, dispatcher };
}

// ------------------------------------------------------------ the bill

interface Line {
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  readonly usd: number;
  readonly how: string;
}

function kb(bytes: number, per: number): number {
  return Math.max(1, Math.ceil(bytes / per));
}

async function main(): Promise<void> {
  const p = parseArgs(process.argv.slice(2), FLAGS);
  if (p.has('help')) {
    process.stdout.write(`${usage('npm run cost -- [flags]', FLAGS)}\n`);
    return;
  }
  const sim: Sim = {
    deliveries: intFlag(p, 'deliveries', 50),
    checkpoints: intFlag(p, 'checkpoints', 10, 2, 100),
    messages: intFlag(p, 'messages', 5, 0, 100),
    watchers: intFlag(p, 'watchers', 5, 0, 50),
    stalled: intFlag(p, 'stalled', 2, 0, 1_000_000),
    feedSockets: intFlag(p, 'feed-sockets', 6, 1, 100),
    concurrency: intFlag(p, 'concurrency', 2, 1, 100),
  };
  if (sim.stalled > sim.deliveries) throw new ArgError('--stalled cannot exceed --deliveries');
  const watchMinutes = numberFlag(p, 'watch-minutes', 30);
  const driverMinutes = numberFlag(p, 'driver-minutes', 24);
  const pingMinutes = numberFlag(p, 'ping-minutes', 9, 0.5, 9.99);
  const keepalive = (stringFlag(p, 'keepalive') ?? 'ping') as Keepalive;
  if (!KEEPALIVES.includes(keepalive)) throw new ArgError('--keepalive must be ping, reconnect or none');
  const lambdaMs = numberFlag(p, 'lambda-ms', 25, 1);
  const feedHours = numberFlag(p, 'feed-hours', 10, 0, 24);
  const perDay = intFlag(p, 'per-day', 1000);
  const memoryGb = intFlag(p, 'memory-mb', 512, 128, 10240) / 1024;
  const sweepMs = numberFlag(p, 'sweep-ms', 150);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const prices = JSON.parse(readFileSync(resolve(ROOT, 'bench/prices.json'), 'utf8')) as Prices;
  const meter = new Meter(prices.apiGatewayWebSocket.messageMeterBytes);

  // A policy that makes a hub stay of 2 s escalate: level 1 to dispatch at once, level 2 by SMS after 1 s.
  const work = mkdtempSync(join(tmpdir(), 'waypost-cost-'));
  const policyFile = join(work, 'policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify({
      dwellSeconds: { at_hub: 2 },
      escalation: [
        { afterSeconds: 0, notify: 'dispatch' },
        { afterSeconds: 1, notify: 'sms', to: ['+15550100001'] },
      ],
    }),
  );
  const secret = randomBytes(24).toString('hex');
  const code = revision();
  process.stdout.write(`Simulating ${sim.deliveries} deliveries (${sim.checkpoints} checkpoints, ${sim.messages} messages, ${sim.watchers} watchers each; ${sim.stalled} stall into an SMS) against a local runtime …\n`);
  let child: Child | undefined;
  try {
    const started = await spawnWaypost({ jwtSecret: secret, env: { WAYPOST_SLA_POLICY: policyFile, WAYPOST_SWEEP_MS: '250' } });
    child = started.child;
    const baseUrl = `http://127.0.0.1:${started.port}`;
    const t0 = performance.now();
    const { orderIds, dispatcher } = await simulate(baseUrl, secret, sim, meter);
    const simSeconds = (performance.now() - t0) / 1000;

    // Read back what was stored (not billed: this is the meter, not the workload).
    const events: OrderEvent[] = [];
    for (const id of orderIds) events.push(...(((await http(undefined, baseUrl, 'GET', `/api/orders/${id}/timeline`, dispatcher)).items as OrderEvent[]) ?? []));
    const sms = ((await (await fetch(`${baseUrl}/_local/sms`)).json()) as unknown[]).length;
    const sizes = await measureItems(`http://127.0.0.1:${started.dynamodbPort}`, started.credentials);
    await child.stop();
    child = undefined;

    const assume = (k: Keepalive): Assumptions => ({ watchMinutes, driverMinutes, keepalive: k, pingMinutes, lambdaMs, feedHours, perDay, memoryGb, sweepMs });
    const bill = price(sim, meter, events, sms, sizes, prices, assume(keepalive));
    const variants = KEEPALIVES.map((k) => ({ keepalive: k, bill: price(sim, meter, events, sms, sizes, prices, assume(k)) }));
    const md = render(sim, meter, events, sms, sizes, prices, bill, simSeconds, variants, code);
    process.stdout.write(`\n${md}\n`);
    if (!p.has('no-write')) {
      const dir = resolve(ROOT, 'bench/results');
      mkdirSync(dir, { recursive: true });
      const name = `${new Date().toISOString().slice(0, 10)}-cost`;
      writeFileSync(join(dir, `${name}.md`), `${md}\n`);
      writeFileSync(
        join(dir, `${name}.json`),
        `${JSON.stringify(
          {
            sim,
            revision: code,
            observed: observedSummary(meter, events, sms, simSeconds),
            itemSizes: Object.fromEntries(sizes),
            bill,
            keepaliveVariants: variants.map((v) => ({ keepalive: v.keepalive, withoutSms: v.bill.withoutSms, withoutSmsAtAssumedLambda: v.bill.withoutSmsAtAssumedLambda, withSms: v.bill.withSms })),
            pricesWrittenOn: prices.writtenOn,
          },
          null,
          1,
        )}\n`,
      );
      process.stdout.write(`Wrote bench/results/${name}.md and .json\n`);
    }
  } finally {
    await child?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

const KEEPALIVES = ['ping', 'reconnect', 'none'] as const;
type Keepalive = (typeof KEEPALIVES)[number];
/** API Gateway closes a WebSocket idle this long. */
const IDLE_MINUTES = 10;

interface Assumptions {
  readonly watchMinutes: number;
  readonly driverMinutes: number;
  readonly keepalive: Keepalive;
  readonly pingMinutes: number;
  readonly lambdaMs: number;
  readonly feedHours: number;
  readonly perDay: number;
  readonly memoryGb: number;
  readonly sweepMs: number;
}

interface Bill {
  readonly lines: Line[];
  readonly withoutSms: number;
  readonly withSms: number;
  readonly perSms: number;
  readonly smsPer1000: number;
  readonly assumptions: string[];
  /** The total without SMS with Lambda priced at `lambdaMs` per invocation instead of the measured round trips. */
  readonly withoutSmsAtAssumedLambda: number;
  readonly lambdaMs: number;
  readonly keepalive: Keepalive;
}

function observedSummary(meter: Meter, events: readonly OrderEvent[], sms: number, simSeconds: number) {
  const kinds: Record<string, number> = {};
  for (const e of events) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
  return {
    seconds: Math.round(simSeconds * 10) / 10,
    framesIn: meter.framesIn,
    framesOut: meter.framesOut,
    inByAction: Object.fromEntries(meter.inByAction),
    outByType: Object.fromEntries(meter.outByType),
    connections: meter.connections,
    connectionMinutesHeld: Math.round((meter.connectionMs / 60_000) * 100) / 100,
    httpRequests: meter.http,
    events: events.length,
    eventsByKind: kinds,
    sms,
    medianMs: Object.fromEntries([...meter.durations.keys()].map((k) => [k, Math.round((meter.median(k) ?? 0) * 10) / 10])),
  };
}

function price(
  sim: Sim,
  meter: Meter,
  events: readonly OrderEvent[],
  sms: number,
  sizes: Map<string, { count: number; avg: number; max: number }>,
  prices: Prices,
  a: Assumptions,
): Bill {
  const scale = 1000 / sim.deliveries;
  const dayShare = 1000 / a.perDay;
  const size = (kind: string, fallback = 400) => sizes.get(kind)?.avg ?? fallback;
  const wru = (bytes: number) => kb(bytes, 1024);
  const head = wru(size('order head'));
  const ev = (kind: string) => wru(size(`event ${kind}`));
  const idKey = wru(size('idempotency key'));
  const alert = wru(size('alert', 500));
  const conn = wru(size('connection', 200));
  const member = wru(size('membership', 100));
  const assumptions: string[] = [];

  // --- counts from the events stored
  const count = (f: (e: OrderEvent) => boolean) => events.filter(f).length;
  const created = count((e) => e.kind === 'created');
  const assigned = count((e) => e.kind === 'assigned');
  const moves = events.filter((e): e is Extract<OrderEvent, { kind: 'checkpoint' }> => e.kind === 'checkpoint' && e.statusChanged);
  const progress = count((e) => e.kind === 'checkpoint' && !e.statusChanged);
  const messages = count((e) => e.kind === 'message');
  const alertEvents = events.filter((e): e is Extract<OrderEvent, { kind: 'alert' }> => e.kind === 'alert');
  const opened = alertEvents.filter((e) => e.state === 'open' && e.level <= 1).length;
  const levels = alertEvents.filter((e) => e.state === 'open' && e.level > 1).length;
  const resolved = alertEvents.filter((e) => e.state === 'resolved').length;

  // GSI writes of a status move under the built-in policy: the due index entry moves (delete + put), appears or goes.
  const clock = (s: string) => (DEFAULT_SLA_POLICY.dwellSeconds as Record<string, number | undefined>)[s] !== undefined;
  let moveGsi = 0;
  const byOrder = new Map<string, string>();
  for (const e of [...events].sort((x, y) => x.seq - y.seq)) {
    if (e.kind === 'created') byOrder.set(e.orderId, 'created');
    if (e.kind !== 'checkpoint' || !e.statusChanged) continue;
    const before = clock(byOrder.get(e.orderId) ?? 'created');
    const after = clock(e.status);
    moveGsi += before && after ? 2 : before || after ? 1 : 0;
    byOrder.set(e.orderId, e.status);
  }

  // --- DynamoDB writes (WRU), per the write pattern
  const subscribesOrder = (meter.inByAction.get('subscribe') ?? 0) - sim.feedSockets;
  const subscribesFeed = sim.feedSockets;
  const wWrites =
    created * (2 * (head + ev('created')) + 2 + (clock('created') ? 1 : 0)) + // create: tx(head, event) + byTenant + byRetailer (+ byDue)
    assigned * (2 * (head + ev('assigned')) + 1) + // assign: tx(head, event) + byDriver
    moves.length * 2 * (head + ev('checkpoint') + idKey) +
    moveGsi +
    progress * 2 * (head + ev('checkpoint') + idKey) +
    messages * 2 * (head + ev('message') + idKey) +
    opened * (2 * (head + alert + ev('alert')) + alert + 2) + // open: tx(head, alert, event) + byAlertState + byDue moves
    levels * (2 * (head + alert + ev('alert') + wru(size('sms outbox', 300))) + alert + 2) + // fire a level: tx(head, alert, event, outbox) + index rewrites
    sms * 2 + // claim + mark sent
    resolved * (2 * (alert + ev('alert')) + 2) + // in the checkpoint's tx: alert update + resolved event; byAlertState moves
    meter.connections * conn + // $connect: put
    (subscribesOrder + subscribesFeed) * 2 * (conn + member) + // subscribe: tx(connection update, membership put)
    subscribesOrder * head + // order-room subscribe: moves the head's roomEpoch on (UpdateItem)
    subscribesOrder * 2 * (head + ev('checkpoint') + idKey) + // worst case: the next post, decided on a head cached before the subscribe, fails its condition once
    (meter.connections * conn + (subscribesOrder + subscribesFeed) * member); // $disconnect: batch deletes
  // --- DynamoDB reads (RRU)
  const eventRooms = events.reduce((a, e) => a + roomsForEvent(e, 'x').length, 0);
  const timelineBytesAtSubscribe = size('event created') + size('event assigned');
  const rReads =
    assigned * 1 + // getOrder (consistent)
    (moves.length + progress + messages) * 2 + // at most: getOrder + idempotency lookup (consistent)
    (eventRooms - events.length) * 0.5 + // fan-out, feed rooms: one members Query per room per event, eventually consistent
    subscribesOrder * 1 + // fan-out, order rooms: one consistent members Query per membership epoch (each subscribe moves it on)
    subscribesOrder * (1 + kb(timelineBytesAtSubscribe, 4096)) + // readableHead + the sinceSeq timeline Query
    subscribesOrder * 1 + // worst case: that post then re-reads the head
    meter.connections * 0.5 + // $disconnect reads the connection
    opened * 2 +
    levels * 4 +
    sms * 1;
  const sweepInvocationsPerDay = 24 * 60;
  const sweepReadsPerDay = sweepInvocationsPerDay * 8 * 0.5; // 8 due-index shards, each an (empty) eventually consistent Query
  assumptions.push(
    `DynamoDB units from the write pattern in README "How it works": a post is one TransactWriteItems of 3 items (head, event, idempotency key: 2 WRU per KB each) and, at most, 2 consistent GetItems before it (head and idempotency key: a container without the head cached, or a lost race; a warm container that last wrote the head reads nothing, which saves about $0.004 per 1,000 deliveries); item sizes measured in the runtime's tables after the run (order head ${size('order head')} B, checkpoint event ${size('event checkpoint')} B, message event ${size('event message')} B, idempotency key ${size('idempotency key')} B); GSIs project keys only, so only key changes write them (status moves under the built-in SLA policy: the due-index entry moves; create: byTenant, byRetailer, byDue; assign: byDriver).`,
    `Fan-out: an order room's members are read with one consistent Query (1 RRU) per membership epoch, i.e. once after each subscribe (the fan-out container keeps the list while the epoch stays; a cold container reads it once more, left out); retailer and dispatch rooms with one eventually consistent Query (0.5 RRU) per event that reaches them (creations, status moves, alerts). Each order-room subscribe also writes the head (its roomEpoch), and is counted, as a worst case, as costing the order's next post one failed transaction and a head read (when the post is handled by a Lambda container that cached the head before the subscribe; the container that handled the subscribe knows the new epoch). The SLA policy is cached per container (30 s): its reads are left out.`,
    `Alerts (${opened} opened, ${levels} later levels, ${resolved} resolved, ${sms} SMS in the simulation) are costed item by item from the code paths (open, fire, claim/mark SMS, resolve), approximately.`,
  );

  // --- WebSocket messages
  const frames = meter.unitsIn + meter.unitsOut;
  // --- connection minutes (modelled), and the idle reconnects they imply
  const perDeliveryMinutes = sim.watchers * a.watchMinutes + a.driverMinutes;
  const feedMinutesPerDay = sim.feedSockets * a.feedHours * 60;
  const minutesPer1000 = perDeliveryMinutes * 1000 + feedMinutesPerDay * dayShare;
  const reconnectsPer1000 = a.keepalive === 'reconnect' ? minutesPer1000 / IDLE_MINUTES : 0;
  const pingsPer1000 = a.keepalive === 'ping' ? minutesPer1000 / a.pingMinutes : 0;
  assumptions.push(
    `Connection minutes cannot be observed in a compressed simulation (it held ${Math.round(meter.connectionMs / 600) / 100} min for ${meter.connections} sockets): each of the ${sim.watchers} watchers is assumed connected ${a.watchMinutes} min per delivery and the driver ${a.driverMinutes} min per delivery; ${sim.feedSockets} feed consoles ${a.feedHours} h a day, shared by ${a.perDay} deliveries a day.`,
    a.keepalive === 'ping'
      ? `Keep-alive: every client sends a \`ping\` (a frame, its ack and one small $default invocation) every ${a.pingMinutes} connected minutes, so API Gateway's 10-minute idle limit never drops it: ${Math.round(pingsPer1000).toLocaleString('en-US')} pings per 1,000 deliveries. The client SDK (web/sdk/client.ts) does this (\`keepAliveMs\`, default 9 minutes).`
      : a.keepalive === 'reconnect'
        ? `Keep-alive: none (a client without the SDK's ping): every ${IDLE_MINUTES} connected minutes cost an idle drop and a reconnect (a $connect, a subscribe and its ack, a $disconnect, with their DynamoDB writes): ${Math.round(reconnectsPer1000).toLocaleString('en-US')} per 1,000 deliveries (conservative: pushes may count as activity).`
        : 'Keep-alive: none needed (assumes server pushes keep every socket active).',
    `WebSocket messages: every frame the simulation's clients sent (route requests) and received (route responses and pushes), each metered per 32 KB; $connect/$disconnect are not messages.`,
  );
  const reconnectFrames = reconnectsPer1000 * 2 + pingsPer1000 * 2;
  const reconnectWru = reconnectsPer1000 * (conn + 2 * (conn + member) + head + conn + member);
  const reconnectRru = reconnectsPer1000 * (2 + 1 + 0.5);

  // --- Lambda
  const med = (k: string, fallback: number) => meter.median(k) ?? fallback;
  const wsDefault = meter.framesIn;
  const wsDefaultMs = [...meter.inByAction].reduce((acc, [action, n]) => acc + n * med(action, 20), 0);
  const fanoutInvocations = events.length;
  const fanoutMs = fanoutInvocations * (meter.pushDelay() ?? med('message', 20));
  const connectMs = meter.connections * 2 * med('$connect', 20);
  const httpMs = (meter.durations.get('http POST') ?? []).reduce((x, y) => x + y, 0);
  const reconnectMs = med('$connect', 20) * 2 + med('subscribe', 20);
  const lambdaRequests =
    (wsDefault + meter.connections * 2 + meter.http + fanoutInvocations) * scale + reconnectsPer1000 * 3 + pingsPer1000 + sweepInvocationsPerDay * dayShare;
  const lambdaSeconds =
    ((wsDefaultMs + fanoutMs + connectMs + httpMs) * scale +
      reconnectsPer1000 * reconnectMs +
      pingsPer1000 * med('ping', 5) +
      sweepInvocationsPerDay * dayShare * a.sweepMs) /
    1000;
  const lambdaSecondsAssumed = (lambdaRequests * a.lambdaMs) / 1000;
  assumptions.push(
    `Lambda invocations: one per inbound frame ($default), per $connect and $disconnect, per HTTP request, one fan-out invocation per stored event (an upper bound: the event source mapping batches when events come close together), and the SLA sweep once a minute (${sweepInvocationsPerDay} a day, shared by ${a.perDay} deliveries).`,
    `Lambda duration at ${a.memoryGb * 1024} MB arm64: each request's median round trip measured locally (an upper bound for the handler: it includes the local gateway and DynamoDB Local, in memory); $disconnect as long as $connect; a fan-out invocation as long as the median time from a post's ack to its first push (${meter.pushDelay()?.toFixed(1) ?? '—'} ms; an upper bound, it includes the stream's delay); a sweep ${a.sweepMs} ms. Locally these round trips run on a loaded 2-core machine against DynamoDB Local, so the total is also given with every invocation at ${a.lambdaMs} ms.`,
  );

  const smsPer1000 = sms * scale;
  const perSms = prices.snsSmsUs.basePerMessage + prices.snsSmsUs.carrierFeePerMessage;
  const M = 1_000_000;
  const lines: Line[] = [
    {
      item: 'API Gateway WebSocket messages',
      quantity: frames * scale + reconnectFrames,
      unit: 'messages',
      usd: ((frames * scale + reconnectFrames) / M) * prices.apiGatewayWebSocket.messagesPerMillion,
      how: `observed ${meter.unitsIn} in + ${meter.unitsOut} out ×${scale}, plus modelled keep-alive (${a.keepalive})`,
    },
    {
      item: 'API Gateway WebSocket connection minutes',
      quantity: minutesPer1000,
      unit: 'minutes',
      usd: (minutesPer1000 / M) * prices.apiGatewayWebSocket.connectionMinutesPerMillion,
      how: `modelled: (${sim.watchers} × ${a.watchMinutes} + ${a.driverMinutes}) min per delivery + feeds`,
    },
    {
      item: 'API Gateway HTTP API requests',
      quantity: meter.http * scale,
      unit: 'requests',
      usd: ((meter.http * scale) / M) * prices.apiGatewayHttp.requestsPerMillion,
      how: `observed ${meter.http} ×${scale} (create, assign)`,
    },
    {
      item: 'Lambda requests (arm64)',
      quantity: lambdaRequests,
      unit: 'requests',
      usd: (lambdaRequests / M) * prices.lambdaArm64.requestsPerMillion,
      how: `frames, connects, disconnects, HTTP, fan-out per event, keep-alive (${a.keepalive}), sweeps`,
    },
    {
      item: 'Lambda duration (arm64)',
      quantity: lambdaSeconds * a.memoryGb,
      unit: 'GB-s',
      usd: lambdaSeconds * a.memoryGb * prices.lambdaArm64.gbSecond,
      how: `${Math.round(lambdaSeconds)} s × ${a.memoryGb} GB, from the measured round trips (at ${a.lambdaMs} ms each: ${money(lambdaSecondsAssumed * a.memoryGb * prices.lambdaArm64.gbSecond)})`,
    },
    {
      item: 'DynamoDB write request units (on demand)',
      quantity: wWrites * scale + reconnectWru,
      unit: 'WRU',
      usd: ((wWrites * scale + reconnectWru) / M) * prices.dynamodbOnDemand.writeRequestUnitsPerMillion,
      how: `${Math.round(wWrites / sim.deliveries)} WRU per delivery (transactions at 2×)${a.keepalive === 'reconnect' ? ' + reconnects' : ''}`,
    },
    {
      item: 'DynamoDB read request units (on demand)',
      quantity: rReads * scale + reconnectRru + sweepReadsPerDay * dayShare,
      unit: 'RRU',
      usd: ((rReads * scale + reconnectRru + sweepReadsPerDay * dayShare) / M) * prices.dynamodbOnDemand.readRequestUnitsPerMillion,
      how: `${Math.round(rReads / sim.deliveries)} RRU per delivery${a.keepalive === 'reconnect' ? ' + reconnects' : ''} + the sweep's due-index queries`,
    },
  ];
  const withoutSms = lines.reduce((acc, l) => acc + l.usd, 0);
  lines.push({
    item: 'SNS SMS (US)',
    quantity: smsPer1000,
    unit: 'SMS',
    usd: smsPer1000 * perSms,
    how: `observed ${sms} SMS for ${sim.stalled} stalled of ${sim.deliveries} deliveries, ×${scale}; $${perSms.toFixed(5)} each`,
  });
  const lambdaDuration = lines.find((l) => l.item.startsWith('Lambda duration'))?.usd ?? 0;
  return {
    lines,
    withoutSms,
    withSms: withoutSms + smsPer1000 * perSms,
    perSms,
    smsPer1000,
    assumptions,
    withoutSmsAtAssumedLambda: withoutSms - lambdaDuration + lambdaSecondsAssumed * a.memoryGb * prices.lambdaArm64.gbSecond,
    lambdaMs: a.lambdaMs,
    keepalive: a.keepalive,
  };
}

function money(x: number): string {
  return x >= 0.01 ? `$${x.toFixed(4)}` : `$${x.toFixed(6)}`;
}

function render(
  sim: Sim,
  meter: Meter,
  events: readonly OrderEvent[],
  sms: number,
  sizes: Map<string, { count: number; avg: number; max: number }>,
  prices: Prices,
  bill: Bill,
  simSeconds: number,
  variants: readonly { keepalive: Keepalive; bill: Bill }[],
  code: Revision,
): string {
  const o = observedSummary(meter, events, sms, simSeconds);
  const L: string[] = [];
  L.push(`# Waypost cost model: ${new Date().toISOString().slice(0, 10)}`, '');
  L.push(
    `Simulated ${sim.deliveries} deliveries (${sim.checkpoints} checkpoints, ${sim.messages} messages, ${sim.watchers} watchers each; ${sim.stalled} stalled into an SMS escalation) ` +
      `against the local runtime (in memory; commit \`${code.commit ?? 'unknown'}\`${code.uncommitted.length > 0 ? ' with uncommitted changes' : ''}) in ${o.seconds} s, then scaled to 1,000 deliveries. Prices: \`bench/prices.json\` (us-east-1 list prices written ${prices.writtenOn} from knowledge, not fetched: see its \`source\`).`,
    '',
  );
  L.push('## Per 1,000 deliveries', '');
  L.push('| item | quantity | cost | how |', '| --- | ---: | ---: | --- |');
  for (const l of bill.lines) L.push(`| ${l.item} | ${Math.round(l.quantity).toLocaleString('en-US')} ${l.unit} | ${money(l.usd)} | ${l.how} |`);
  const target = 0.5;
  L.push(
    '',
    `**Without SMS: ${money(bill.withoutSms)} per 1,000 deliveries** (target < $0.50: ${bill.withoutSms < target ? 'met' : 'NOT met'}), ` +
      `with Lambda durations from the local round trips (an upper bound); with every invocation at ${bill.lambdaMs} ms instead: ${money(bill.withoutSmsAtAssumedLambda)}.`,
    '',
    `**With SMS: ${money(bill.withSms)} per 1,000 deliveries** (${Math.round(bill.smsPer1000)} SMS, ${Math.round((100 * sim.stalled) / sim.deliveries)}% of deliveries stalling into one SMS each at ${money(bill.perSms)}). ` +
      `Every SMS adds ${money(bill.perSms)}; one SMS for every delivery would add ${money(1000 * bill.perSms)}.`,
    '',
  );
  L.push(
    '### Keep-alive and Lambda duration change the answer',
    '',
    `| keep-alive | without SMS, Lambda from local round trips | without SMS, Lambda at ${bill.lambdaMs} ms an invocation | with SMS |`,
    '| --- | ---: | ---: | ---: |',
    ...variants.map(
      (v) =>
        `| ${v.keepalive}${v.keepalive === bill.keepalive ? ' (above)' : ''} | ${money(v.bill.withoutSms)} | ${money(v.bill.withoutSmsAtAssumedLambda)} | ${money(v.bill.withSms)} |`,
    ),
    '',
    '`ping`: clients ping every few minutes; `reconnect`: a client that does not ping, each idle drop re-opens and re-subscribes; `none`: pushes are assumed to keep sockets alive.',
    '',
  );
  L.push('## Observed in the simulation', '');
  L.push(
    `- WebSocket frames: ${o.framesIn} in (${Object.entries(o.inByAction).map(([k, v]) => `${k} ${v}`).join(', ')}), ${o.framesOut} out (${Object.entries(o.outByType).map(([k, v]) => `${k} ${v}`).join(', ')})`,
    `- connections: ${o.connections}; HTTP requests: ${o.httpRequests}; events stored: ${o.events} (${Object.entries(o.eventsByKind).map(([k, v]) => `${k} ${v}`).join(', ')}); SMS: ${o.sms}`,
    `- median round trips (ms): ${Object.entries(o.medianMs).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `- item sizes in the tables (average bytes): ${[...sizes].map(([k, v]) => `${k} ${v.avg}`).join(', ')}`,
    '',
  );
  L.push('## Assumptions', '', ...bill.assumptions.map((x) => `- ${x}`), '');
  L.push(
    'Not counted: storage (about 20 items of under 1 KB per delivery: cents a month per 100,000 deliveries; PITR doubles it), CloudWatch Logs ingestion of the functions’ JSON logs, ' +
      "data transfer out, the console's S3/CloudFront traffic, SMS origination-identity fees, and AWS Free Tier allowances.",
  );
  return L.join('\n');
}

process.on('SIGINT', () => void stopAll().finally(() => process.exit(130)));
main().catch(async (err: unknown) => {
  process.stderr.write(`${err instanceof ArgError ? `cost: ${err.message}\n\n${usage('npm run cost -- [flags]', FLAGS)}` : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  await stopAll();
  process.exitCode = err instanceof ArgError ? 2 : 1;
});
