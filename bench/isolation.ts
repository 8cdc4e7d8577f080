/**
 * Isolation from slow readers (issue 11 §1; CONTRACT §5): the same workload
 * twice on one Waypost runtime, undisturbed and then with a fraction of every
 * room's subscribers not reading their sockets, and the healthy subscribers'
 * push latency in both. The goal: their p99 with stalled readers within 2× of
 * the undisturbed p99, with no loss and no duplicate.
 *
 *   npm run bench:isolation -- [--rooms 10] [--subscribers 10] [--rate 20]
 *     [--seconds 20] [--stalled 0.1] [--text 2000] [--write]
 *
 * Open loop: post i is scheduled at t0 + i/rate, whatever the runtime does,
 * and a receipt's latency is its arrival time minus that schedule, so a
 * queue cannot hide. Posts are messages (`--text` characters of `€`, three
 * bytes each), round robin over the rooms, from dispatcher sockets that each
 * stay under 15 frames a second (the limit is 20). Stalled sockets pause
 * right after subscribing; at the end they read again, and the bench counts
 * how many the server had closed with 1008.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { signLocalToken } from '../shared/runtime/auth';
import { Requester } from '../web/sdk/requester';
import { intFlag, numberFlag, parseArgs, stringFlag, usage, type FlagSpec } from './lib/args';
import { machineInfo } from './lib/machine';
import { ROOT, spawnWaypost, stopAll, treeRssMib } from './lib/procs';
import { revision } from './lib/revision';
import { Samples } from './lib/stats';
import type { LatencySummary } from './protocol';

const FLAGS: FlagSpec[] = [
  { name: 'rooms', kind: 'int', help: 'order rooms (default 10)' },
  { name: 'subscribers', kind: 'int', help: 'subscribers per room (default 10)' },
  { name: 'rate', kind: 'number', help: 'posts per second, all rooms (default 20, about half the sustained maximum)' },
  { name: 'seconds', kind: 'int', help: 'measured seconds per run (default 20)' },
  { name: 'stalled', kind: 'number', help: "fraction of each room's subscribers that stop reading in the second run (default 0.1)" },
  { name: 'text', kind: 'int', help: 'characters per message (default 2000)' },
  { name: 'write', kind: 'switch', help: 'write bench/results/<date>-isolation[-<tag>].{json,md}' },
  { name: 'tag', kind: 'string', help: 'a suffix for the results files' },
  { name: 'help', kind: 'switch', help: 'this text' },
];

/** Frames a second one poster socket sends at most: under CONTRACT §5's 20. */
const PER_POSTER = 15;
const SECRET = 'bench-isolation-secret';

interface RunResult {
  readonly label: string;
  readonly stalledPerRoom: number;
  readonly posts: number;
  readonly healthy: LatencySummary;
  readonly expected: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly stalledClosed1008: number;
  readonly stalledSockets: number;
  readonly rssMib: { root: number; java: number };
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Send one request and wait for its reply, through the SDK's requester (one per socket). */
async function request(ws: WebSocket, frame: Record<string, unknown>): Promise<Record<string, unknown>> {
  let requester = requesters.get(ws);
  if (requester === undefined) {
    const made = new Requester({ send: (text) => ws.send(text), timeoutMs: 30_000, newReqId: randomUUID });
    // Parsed only while a request waits: the measured pushes are parsed once, by their own listener.
    ws.on('message', (data: WebSocket.RawData) => {
      if (made.waiting > 0) made.receive(JSON.parse(data.toString()) as Record<string, unknown>);
    });
    requesters.set(ws, made);
    requester = made;
  }
  return (await requester.exchange(frame)) as Record<string, unknown>;
}
const requesters = new WeakMap<WebSocket, Requester>();

async function run(
  base: string,
  pid: number,
  label: string,
  opts: { rooms: number; subscribers: number; rate: number; seconds: number; stalledPerRoom: number; text: number },
): Promise<RunResult> {
  const tenant = `iso-${randomUUID().slice(0, 8)}`;
  const dispatcher = await signLocalToken(SECRET, { tenant, role: 'dispatcher', sub: 'dispatcher-1' });
  const retailer = await signLocalToken(SECRET, { tenant, role: 'retailer', sub: 'retailer-1', retailerId: 'retailer-a' });
  const wsUrl = (token: string) => `${base.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(token)}`;

  const orders: string[] = [];
  for (let r = 0; r < opts.rooms; r++) {
    const orderId = `iso-${r}-${randomUUID().slice(0, 8)}`;
    const res = await fetch(`${base}/api/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dispatcher}`, 'content-type': 'application/json' },
      body: JSON.stringify({ orderId, retailerId: 'retailer-a', recipient: { name: 'Ada' }, destination: { address: '1 Bench Street' } }),
    });
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
    orders.push(orderId);
  }

  // Schedules by post index; receipts by (subscriber, index).
  const scheduledAt: number[] = [];
  const latency = new Samples();
  const seen: Set<number>[] = [];
  let duplicates = 0;
  const stalled: { ws: WebSocket; closed: Promise<number> }[] = [];
  const healthy: WebSocket[] = [];
  const marker = `${label}:`;
  for (let r = 0; r < opts.rooms; r++) {
    for (let s = 0; s < opts.subscribers; s++) {
      // Subscribers join from their own sockets, a few at a time, within the rate limit.
      const ws = await open(wsUrl(retailer));
      const ack = await request(ws, { action: 'subscribe', room: `order:${orders[r]!}` });
      if (ack.type !== 'ack') throw new Error(`subscribe refused: ${JSON.stringify(ack)}`);
      if (s < opts.stalledPerRoom) {
        const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
        ws.pause();
        stalled.push({ ws, closed });
        continue;
      }
      const mine = new Set<number>();
      seen.push(mine);
      ws.on('message', (data) => {
        const at = performance.now();
        const frame = JSON.parse(data.toString()) as { type?: string; event?: { kind?: string; text?: string } };
        const text = frame.event?.kind === 'message' ? frame.event.text : undefined;
        if (text === undefined || !text.startsWith(marker)) return;
        const i = Number(text.slice(marker.length, text.indexOf(' ')));
        if (mine.has(i)) {
          duplicates++;
          return;
        }
        mine.add(i);
        const due = scheduledAt[i];
        if (due !== undefined) latency.push(at - due);
      });
      healthy.push(ws);
    }
  }

  const posters = await Promise.all(Array.from({ length: Math.max(1, Math.ceil(opts.rate / PER_POSTER)) }, () => open(wsUrl(dispatcher))));
  const padding = '€'.repeat(opts.text);
  const total = Math.round(opts.rate * opts.seconds);
  const t0 = performance.now() + 200;
  const acks: Promise<Record<string, unknown>>[] = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / opts.rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    scheduledAt[i] = due;
    const orderId = orders[i % opts.rooms]!;
    // The marker and the padding together are `--text` characters (the contract's limit is 4,000).
    const head = `${marker}${i} `;
    const text = head + padding.slice(0, Math.max(0, opts.text - head.length));
    acks.push(request(posters[i % posters.length]!, { action: 'message', messageId: `${label}-${i}`, orderId, text }));
  }
  const replies = await Promise.all(acks);
  const refused = replies.filter((r) => r.type !== 'ack');
  if (refused.length > 0) throw new Error(`${refused.length} posts refused, e.g. ${JSON.stringify(refused[0])}`);
  // Let the last pushes land.
  const expected = healthy.length * (total / opts.rooms);
  for (let waited = 0; waited < 30_000 && latency.length < expected; waited += 100) await new Promise((r) => setTimeout(r, 100));
  const rssMib = treeRssMib(pid);

  for (const s of stalled) s.ws.resume();
  const codes = await Promise.all(stalled.map((s) => Promise.race([s.closed, new Promise<number>((r) => setTimeout(() => r(0), 5000))])));
  for (const ws of [...healthy, ...posters, ...stalled.map((s) => s.ws)]) ws.terminate();
  return {
    label,
    stalledPerRoom: opts.stalledPerRoom,
    posts: total,
    healthy: latency.summary(),
    expected,
    lost: expected - latency.length,
    duplicates,
    stalledClosed1008: codes.filter((c) => c === 1008).length,
    stalledSockets: stalled.length,
    rssMib,
  };
}

function markdown(results: RunResult[], opts: { rooms: number; subscribers: number; rate: number; seconds: number; stalled: number; text: number }, ratio: number | null): string {
  const rows = results.map(
    (r) =>
      `| ${r.label} | ${r.stalledSockets} | ${r.healthy.p50 ?? '-'} | ${r.healthy.p90 ?? '-'} | ${r.healthy.p99 ?? '-'} | ${r.healthy.max ?? '-'} | ${r.lost} | ${r.duplicates} | ${r.stalledClosed1008} | ${r.rssMib.root} / ${r.rssMib.java} |`,
  );
  return [
    `# Isolation from slow readers, ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Workload: ${opts.rooms} rooms × ${opts.subscribers} subscribers, ${opts.rate} posts/s for ${opts.seconds} s, messages of ${opts.text} three-byte characters; ${Math.round(opts.stalled * 100)}% of each room's subscribers stalled in the second run. Latency in ms, healthy subscribers only, from each post's scheduled time.`,
    '',
    '| run | stalled sockets | p50 | p90 | p99 | max | lost | duplicates | closed 1008 | RSS MiB (node / java) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `p99 with stalled readers / undisturbed p99: **${ratio === null ? 'n/a' : ratio.toFixed(2)}×** (goal: at most 2×).`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), FLAGS);
  if (args.has('help')) {
    console.log(usage('npm run bench:isolation -- [flags]', FLAGS));
    return;
  }
  const opts = {
    rooms: intFlag(args, 'rooms', 10, 1, 200),
    subscribers: intFlag(args, 'subscribers', 10, 1, 100),
    rate: numberFlag(args, 'rate', 20, 1, 500),
    seconds: intFlag(args, 'seconds', 20, 1, 600),
    stalled: numberFlag(args, 'stalled', 0.1, 0, 0.9),
    text: intFlag(args, 'text', 2000, 1, 4000),
  };
  const load = loadavg();
  const { child, port } = await spawnWaypost({ jwtSecret: SECRET });
  const base = `http://127.0.0.1:${port}`;
  try {
    const pid = child.pid;
    const stalledPerRoom = Math.max(1, Math.round(opts.subscribers * opts.stalled));
    // A short warm-up (JIT, DynamoDB Local's first transactions), not reported.
    await run(base, pid, 'warmup', { ...opts, seconds: Math.min(opts.seconds, 5), stalledPerRoom: 0 });
    const undisturbed = await run(base, pid, 'undisturbed', { ...opts, stalledPerRoom: 0 });
    const withStalled = await run(base, pid, 'stalled', { ...opts, stalledPerRoom });
    const results = [undisturbed, withStalled];
    const ratio =
      undisturbed.healthy.p99 !== null && withStalled.healthy.p99 !== null && undisturbed.healthy.p99 > 0
        ? withStalled.healthy.p99 / undisturbed.healthy.p99
        : null;
    const md = markdown(results, opts, ratio);
    console.log(md);
    if (args.has('write')) {
      const dir = join(ROOT, 'bench', 'results');
      mkdirSync(dir, { recursive: true });
      const tag = stringFlag(args, 'tag');
      const name = `${new Date().toISOString().slice(0, 10)}-isolation${tag === undefined ? '' : `-${tag.replace(/[^\w-]/g, '')}`}`;
      writeFileSync(join(dir, `${name}.json`), `${JSON.stringify({ opts, results, ratio, machine: machineInfo(load), revision: revision() }, null, 2)}\n`);
      writeFileSync(join(dir, `${name}.md`), md);
      console.log(`wrote bench/results/${name}.{json,md}`);
    }
  } finally {
    await stopAll();
  }
}

main().catch(async (err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  await stopAll();
  process.exit(1);
});
