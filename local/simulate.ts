/**
 * `npm run simulate -- [--orders 6] [--speed 1] [--parallel 3] [--tenant demo] [--short-sla]`
 *
 * Drives a small fleet through realistic deliveries against a running local
 * runtime (`npm start`), through the client SDK, so the console has life in
 * it: retailer `acme` creates orders, the dispatcher assigns them to drivers,
 * drivers move them picked_up → in_transit/at_hub → out_for_delivery →
 * delivered with proof and positions moving along a line; some fail an
 * attempt first (attempt_failed with a reason, then out for delivery again),
 * some stall (stop moving); drivers and the retailer exchange messages.
 *
 * Talks only to 127.0.0.1 (`WAYPOST_URL`, default http://127.0.0.1:4000),
 * mints its tokens with `WAYPOST_JWT_SECRET` (default: the local one), and
 * stops by itself once every order is delivered or stalled, or on Ctrl-C.
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { OrderView } from '../shared/domain/model';
import type { Status } from '../shared/domain/statuses';
import { signLocalToken } from '../shared/runtime/auth';
import { WaypostClient, type CheckpointInput, type WebSocketLike } from '../web/sdk/client';
import { nodeWebSocket } from '../web/sdk/socket';
import { DEFAULT_JWT_SECRET } from './config';

const USAGE = 'usage: npm run simulate -- [--orders N] [--speed X] [--parallel P] [--tenant T] [--short-sla]';

interface Options {
  readonly baseUrl: string;
  readonly secret: string;
  readonly tenant: string;
  readonly orders: number;
  readonly speed: number;
  readonly parallel: number;
  readonly shortSla: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      orders: { type: 'string', default: '6' },
      speed: { type: 'string', default: '1' },
      parallel: { type: 'string', default: '3' },
      tenant: { type: 'string', default: 'demo' },
      'short-sla': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const orders = Number(values.orders);
  const speed = Number(values.speed);
  const parallel = Number(values.parallel);
  if (!Number.isInteger(orders) || orders < 1 || orders > 500) throw new Error(`--orders must be a whole number from 1 to 500\n${USAGE}`);
  if (!Number.isFinite(speed) || speed <= 0 || speed > 100) throw new Error(`--speed must be a number above 0 (2 = twice as fast), at most 100\n${USAGE}`);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 20) throw new Error(`--parallel must be a whole number from 1 to 20\n${USAGE}`);

  const url = new URL(process.env.WAYPOST_URL?.trim() || 'http://127.0.0.1:4000');
  if (url.hostname === 'localhost') url.hostname = '127.0.0.1';
  if (url.hostname !== '127.0.0.1' || url.protocol !== 'http:') {
    throw new Error(`WAYPOST_URL must be the local runtime on http://127.0.0.1:<port>; got ${url.origin}. The simulator talks to nothing else.`);
  }
  return {
    baseUrl: url.origin,
    secret: process.env.WAYPOST_JWT_SECRET?.trim() || DEFAULT_JWT_SECRET,
    tenant: values.tenant,
    orders,
    speed,
    parallel,
    shortSla: values['short-sla'],
  };
}

// ---------------------------------------------------------------- output

function log(who: string, text: string): void {
  const t = new Date().toTimeString().slice(0, 8);
  process.stdout.write(`${t}  ${who.padEnd(18)} ${text}\n`);
}

// ---------------------------------------------------------------- time

class Stopped extends Error {}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Stopped());
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Stopped());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

// ---------------------------------------------------------------- the world

const DEPOT = { lat: 52.2053, lng: 0.1218, name: 'Acme depot, Cambridge' };
const HUB = { lat: 52.1936, lng: 0.1746, name: 'Cherry Hinton hub' };

const RECIPIENTS = [
  ['Margaret Hamilton', '14 Mill Road, Cambridge'],
  ['Katherine Johnson', '3 Station Road, Histon'],
  ['John von Neumann', '27 High Street, Trumpington'],
  ['Radia Perlman', '8 Church Lane, Fulbourn'],
  ['Donald Knuth', '52 Hills Road, Cambridge'],
  ['Frances Allen', '6 The Green, Grantchester'],
  ['Tim Berners-Lee', '19 Victoria Road, Chesterton'],
  ['Hedy Lamarr', '2 Cambridge Road, Girton'],
] as const;

const DRIVERS = ['dave', 'diego', 'dora', 'dmitri'];

type Plan = 'direct' | 'via hub' | 'failed attempt' | 'stall';
const PLANS: readonly Plan[] = ['direct', 'via hub', 'failed attempt', 'via hub', 'stall'];

interface Actors {
  readonly retailer: WaypostClient;
  readonly retailerToken: string;
  readonly dispatcherToken: string;
  readonly drivers: ReadonlyMap<string, WaypostClient>;
}

function nodeSocket(url: string): WebSocketLike {
  return nodeWebSocket(new WebSocket(url, { headers: { 'user-agent': 'waypost-simulate' } }));
}

async function api<T>(opts: Options, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${opts.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as T & { error?: { code: string; message: string } };
  if (!res.ok) throw new Error(`${method} ${path}: ${json.error?.code ?? res.status} ${json.error?.message ?? ''}`);
  return json;
}

function round(n: number): number {
  return Math.round(n * 1e5) / 1e5;
}

/** A point `f` of the way from a to b, with a few metres of GPS wobble. */
function along(a: { lat: number; lng: number }, b: { lat: number; lng: number }, f: number): { lat: number; lng: number; accuracyM: number } {
  const wobble = () => (Math.random() - 0.5) * 0.0004;
  return { lat: round(a.lat + (b.lat - a.lat) * f + wobble()), lng: round(a.lng + (b.lng - a.lng) * f + wobble()), accuracyM: 5 + Math.round(Math.random() * 20) };
}

async function deliver(opts: Options, actors: Actors, n: number, runId: string, signal: AbortSignal): Promise<'delivered' | 'stalled'> {
  const plan = PLANS[(n - 1) % PLANS.length]!;
  const driverId = DRIVERS[(n - 1) % DRIVERS.length]!;
  const [name, address] = RECIPIENTS[(n - 1) % RECIPIENTS.length]!;
  const orderId = `sim-${runId}-${n}`;
  const who = `${orderId}`;
  const angle = (n * 137.5 * Math.PI) / 180;
  const km = 3 + ((n * 7) % 9);
  const dest = { lat: round(DEPOT.lat + (Math.sin(angle) * km) / 111), lng: round(DEPOT.lng + (Math.cos(angle) * km) / (111 * Math.cos((DEPOT.lat * Math.PI) / 180))) };
  const step = (factor = 1) => sleep(((2000 + Math.random() * 2000) * factor) / opts.speed, signal);
  const driver = actors.drivers.get(driverId)!;

  await api<{ order: OrderView }>(opts, actors.retailerToken, 'POST', '/api/orders', {
    orderId,
    retailerId: 'acme',
    recipient: { name, phone: `+1555010${String(1000 + n).slice(-4)}` },
    destination: { address, lat: dest.lat, lng: dest.lng },
    promisedBy: new Date(Date.now() + 6 * 3600_000).toISOString(),
  });
  log(who, `created for ${name}, ${address} (${plan})`);
  await step();
  await api(opts, actors.dispatcherToken, 'POST', `/api/orders/${orderId}/assign`, { driverId });
  log(who, `assigned to ${driverId}`);
  await step();

  let here: { lat: number; lng: number } = DEPOT;
  const post = async (status: Status, extra: Partial<CheckpointInput> = {}, at = here) => {
    const location = along(at, at, 0);
    const ack = await driver.checkpoint({ orderId, status, occurredAt: new Date().toISOString(), location, ...extra });
    log(who, `${driverId}: ${status.replace(/_/g, ' ')}${extra.note ? ` (${extra.note})` : ''}${extra.reason ? ` (${extra.reason})` : ''} at ${location.lat}, ${location.lng} #${ack.seq}`);
  };
  const drive = async (to: { lat: number; lng: number }, status: Status, hops: number) => {
    const from = here;
    for (let i = 1; i <= hops; i++) {
      await step(0.8);
      here = along(from, to, i / (hops + 1));
      await post(status);
    }
    here = to;
  };
  const say = async (client: WaypostClient, from: string, text: string) => {
    const ack = await client.message({ orderId, text });
    log(who, `${from} says: "${text}" #${ack.seq}`);
  };

  await post('picked_up', { note: `Collected at ${DEPOT.name}` });
  if (plan === 'stall') {
    await step();
    here = along(DEPOT, HUB, 0.4);
    await post('in_transit');
    await drive(HUB, 'in_transit', 1);
    log(who, `${driverId} stops moving: stalled in transit (the SLA sweep will flag it once its limit passes)`);
    return 'stalled';
  }
  if (plan === 'via hub' || plan === 'failed attempt') {
    await step();
    await post('in_transit');
    await drive(HUB, 'in_transit', 2);
    await post('at_hub', { note: HUB.name });
    await step();
  }
  await post('out_for_delivery');
  await say(driver, driverId, 'On my way, about 15 minutes.');
  await drive(dest, 'out_for_delivery', 2);

  if (plan === 'failed attempt') {
    await step();
    await post('attempt_failed', { reason: 'Nobody at home; card left' });
    await say(driver, driverId, "Nobody home, I'll try again after my next stop.");
    await step();
    await say(actors.retailer, 'rita', 'Customer called: they are back in 20 minutes, please retry.');
    await step(1.5);
    await post('out_for_delivery', { note: 'Second attempt' });
    here = along(dest, dest, 0);
    await step();
  } else {
    await say(actors.retailer, 'rita', 'Thanks! Please ring twice.');
  }
  await step();
  const proof =
    n % 3 === 0
      ? { recipientType: 'neighbor' as const, recipientName: 'Mr Wu, next door' }
      : n % 3 === 1
        ? { recipientType: 'self' as const, recipientName: name }
        : { recipientType: 'locker' as const };
  await post('delivered', { proof });
  const order = await actors.retailer.http<{ order: OrderView }>(`/api/orders/${orderId}`);
  await actors.retailer.read(orderId, order.order.headSeq).catch(() => undefined);
  return 'delivered';
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const opts = options();
  const health = await fetch(`${opts.baseUrl}/api/health`).catch(() => undefined);
  if (health?.status !== 200) throw new Error(`Waypost is not answering at ${opts.baseUrl}: start it with \`npm start\` (or set WAYPOST_URL).`);

  const mint = (role: 'retailer' | 'dispatcher' | 'driver', sub: string, retailerId?: string) =>
    signLocalToken(opts.secret, { tenant: opts.tenant, role, sub, ...(retailerId && { retailerId }), ttlSeconds: 6 * 3600 });
  const retailerToken = await mint('retailer', 'rita', 'acme');
  const dispatcherToken = await mint('dispatcher', 'dana');
  const client = (token: string) => new WaypostClient({ baseUrl: opts.baseUrl, token, webSocket: nodeSocket, backoff: { initialMs: 200, maxMs: 3000 } });
  const retailer = client(retailerToken);
  const drivers = new Map<string, WaypostClient>();
  for (const d of DRIVERS) drivers.set(d, client(await mint('driver', d)));
  const all = [retailer, ...drivers.values()];
  await Promise.all(all.map((c) => c.connect()));
  const actors: Actors = { retailer, retailerToken, dispatcherToken, drivers };

  if (opts.shortSla) {
    await api(opts, dispatcherToken, 'PUT', '/api/sla-policy', {
      dwellSeconds: { created: 120, picked_up: 120, in_transit: 60, at_hub: 90, out_for_delivery: 180, attempt_failed: 120 },
      escalation: [{ afterSeconds: 0, notify: 'dispatch' }],
    });
    log('simulate', `tenant ${opts.tenant}: short SLA limits set (in transit 60 s, …): stalled orders raise alerts within a minute or two`);
  }

  const controller = new AbortController();
  let interrupted = false;
  const stop = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('simulate', 'stopping (Ctrl-C again to quit at once)…');
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const runId = Date.now().toString(36).slice(-5);
  log('simulate', `${opts.orders} deliveries, ${opts.parallel} at a time, speed ×${opts.speed}, tenant ${opts.tenant}, at ${opts.baseUrl}`);
  const outcome = { delivered: 0, stalled: 0, failed: 0 };
  let next = 1;
  const worker = async () => {
    while (!controller.signal.aborted && next <= opts.orders) {
      const n = next++;
      try {
        outcome[await deliver(opts, actors, n, runId, controller.signal)]++;
      } catch (err) {
        if (err instanceof Stopped) return;
        outcome.failed++;
        log(`sim-${runId}-${n}`, `gave up: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (!controller.signal.aborted) await sleep(1000 / opts.speed, controller.signal).catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.parallel, opts.orders) }, worker));

  for (const c of all) c.close();
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  log('simulate', `done: ${outcome.delivered} delivered, ${outcome.stalled} stalled${outcome.failed ? `, ${outcome.failed} failed` : ''}${interrupted ? ' (interrupted)' : ''}.`);
}

main().catch((err: unknown) => {
  process.stderr.write(`simulate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
