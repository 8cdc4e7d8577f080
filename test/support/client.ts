/**
 * Test clients that speak only the wire contract: HTTP with a bearer token,
 * and a WebSocket that pairs replies with requests by reqId and collects
 * pushed events.
 */
import { randomUUID } from 'node:crypto';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { signLocalToken, type TokenRequest } from '../../shared/runtime/auth';
import { Requester } from '../../web/sdk/requester';

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export async function http<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string } = {},
): Promise<HttpResult<T>> {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      ...(options.token !== undefined && { authorization: `Bearer ${options.token}` }),
      ...((options.body !== undefined || options.rawBody !== undefined) && { 'content-type': 'application/json' }),
    },
    ...(options.rawBody !== undefined
      ? { body: options.rawBody }
      : options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (CSV, for one)
  }
  return { status: res.status, body: body as T, text, headers: res.headers };
}

export type Frame = Record<string, unknown>;

export class WsClient {
  readonly frames: Frame[] = [];
  /** Each received frame's size on the wire, in UTF-8 bytes. */
  private readonly sizes = new WeakMap<Frame, number>();
  private readonly waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  /** The SDK's requester: pairs each reply with its request by reqId. */
  private readonly requester: Requester;
  closeCode: number | undefined;
  readonly closed: Promise<number>;

  private constructor(readonly socket: WebSocket) {
    this.requester = new Requester({ send: (text) => socket.send(text), newReqId: randomUUID });
    socket.on('message', (data) => {
      const text = data.toString();
      const frame = JSON.parse(text) as Frame;
      this.sizes.set(frame, Buffer.byteLength(text, 'utf8'));
      this.frames.push(frame);
      this.requester.receive(frame);
      for (const w of [...this.waiters]) {
        if (w.match(frame)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(frame);
        }
      }
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
  }

  /** Open a socket; rejects with the HTTP status when the upgrade is refused. */
  static connect(baseUrl: string, token: string | undefined): Promise<WsClient> {
    const url = `${baseUrl.replace(/^http/, 'ws')}/ws${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(new WsClient(socket)));
      socket.once('unexpected-response', (_req, res) => reject(new UpgradeRefused(res.statusCode ?? 0)));
      socket.once('error', reject);
    });
  }

  /** How many UTF-8 bytes a received frame had on the wire. */
  bytesOf(frame: Frame): number {
    const size = this.sizes.get(frame);
    if (size === undefined) throw new Error('not a frame this socket received');
    return size;
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /**
   * Send a request with a fresh reqId and wait for its one reply. A
   * `RATE_LIMITED` reply (the frame was not run) is waited out and the frame
   * sent again, as the SDK does, unless `rateLimited` is `'answer'`.
   */
  async request(frame: Frame, timeoutMs = 10_000, rateLimited: 'retry' | 'answer' = 'retry'): Promise<Frame> {
    const reqId = (frame.reqId as string | undefined) ?? randomUUID();
    for (;;) {
      const answer = (await this.requester.exchange(frame, { reqId, timeoutMs }).catch((err: unknown) => {
        throw new Error(`${err instanceof Error ? err.message : String(err)} Last frames: ${JSON.stringify(this.frames.slice(-5))}`);
      })) as Frame;
      if (rateLimited === 'answer' || answer.code !== 'RATE_LIMITED') return answer;
      await new Promise((r) => setTimeout(r, (answer.details as { retryAfterMs?: number } | undefined)?.retryAfterMs ?? 100));
    }
  }

  /** Send raw text and wait for the next reply without a reqId. */
  async sendRaw(text: string | Buffer, timeoutMs = 10_000): Promise<Frame> {
    const reply = this.next((f) => (f.type === 'ack' || f.type === 'error') && f.reqId === undefined, timeoutMs);
    this.socket.send(text);
    return reply;
  }

  /** The next frame (already received ones included) matching `match`. */
  next(match: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no matching frame within ${timeoutMs} ms; got: ${JSON.stringify(this.frames.slice(-5))}`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (f: Frame) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** Pushed events of a room, in arrival order. */
  events(room?: string): Frame[] {
    return this.frames
      .filter((f) => f.type === 'event' && (room === undefined || f.room === room))
      .map((f) => f.event as Frame);
  }

  /** Wait until a pushed event in `room` matches. */
  async waitForEvent(room: string, match: (e: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    const seen = this.events(room).find(match);
    if (seen) return seen;
    const frame = await this.next((f) => f.type === 'event' && f.room === room && match(f.event as Frame), timeoutMs);
    return frame.event as Frame;
  }

  close(): Promise<number> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) this.socket.close();
    return this.closed;
  }
}

export class UpgradeRefused extends Error {
  constructor(readonly status: number) {
    super(`upgrade refused with ${status}`);
  }
}

/** A tenant nobody else in the run uses. */
export function uniqueTenant(prefix = 't'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function uniqueId(prefix = 'id'): string {
  return `${prefix}-${randomUUID()}`;
}

/** Tokens for one tenant's cast: a dispatcher, two retailers and two drivers. */
export async function castOf(secret: string, tenant: string) {
  const mint = (req: Omit<TokenRequest, 'tenant'>) => signLocalToken(secret, { ...req, tenant });
  return {
    tenant,
    dispatcher: await mint({ role: 'dispatcher', sub: 'dispatcher-1' }),
    retailer: await mint({ role: 'retailer', sub: 'retailer-user-1', retailerId: 'retailer-a' }),
    otherRetailer: await mint({ role: 'retailer', sub: 'retailer-user-2', retailerId: 'retailer-b' }),
    driver: await mint({ role: 'driver', sub: 'driver-1' }),
    otherDriver: await mint({ role: 'driver', sub: 'driver-2' }),
  };
}

export type Cast = Awaited<ReturnType<typeof castOf>>;

/** Create an order of retailer-a and assign it to driver-1; returns its id. */
export async function orderFor(baseUrl: string, cast: Cast, orderId = uniqueId('ord')): Promise<string> {
  const created = await http(baseUrl, 'POST', '/api/orders', {
    token: cast.retailer,
    body: {
      orderId,
      retailerId: 'retailer-a',
      recipient: { name: 'Ada', phone: '+15550100999' },
      destination: { address: '1 Test Street', lat: 51.5, lng: -0.12 },
    },
  });
  if (created.status !== 201) throw new Error(`create failed: ${created.status} ${created.text}`);
  const assigned = await http(baseUrl, 'POST', `/api/orders/${encodeURIComponent(orderId)}/assign`, {
    token: cast.dispatcher,
    body: { driverId: 'driver-1' },
  });
  if (assigned.status !== 200) throw new Error(`assign failed: ${assigned.status} ${assigned.text}`);
  return orderId;
}

export function checkpoint(orderId: string, status: string, extra: Frame = {}): Frame {
  return { action: 'checkpoint', eventId: uniqueId('ev'), orderId, status, occurredAt: new Date().toISOString(), ...extra };
}

/**
 * A test file's sockets: `connect(token)` opens one, and every socket opened
 * during a test is closed after it.
 */
export function socketPool(baseUrl: string): (token: string) => Promise<WsClient> {
  const open: WsClient[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  return async (token: string) => {
    const c = await WsClient.connect(baseUrl, token);
    open.push(c);
    return c;
  };
}
