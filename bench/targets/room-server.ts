/**
 * The baselines' room server: a plain `ws` server speaking the subset of the
 * Waypost wire contract the load generator uses (`subscribe`, `checkpoint`,
 * `message`, `ping`; pushes `{"type":"event","room":…,"event":{…}}` and acks
 * with the seq), so all four targets see the very same workload. No
 * authentication, no rules: each post gets the room's next seq, is turned into
 * an event as Waypost would shape it, and (depending on the target) is
 * persisted and broadcast.
 *
 * Each target is its own process: it prints `READY port=<port>` on stdout once
 * it listens, and stops (DynamoDB Local included) on SIGTERM or SIGINT.
 */
import { WebSocketServer, WebSocket, type RawData } from 'ws';

export interface RoomServerHooks {
  /**
   * Persist one event; undefined: nothing is persisted (target a). Called
   * one after another per room, so a room's events are stored in seq order.
   */
  readonly persist?: (room: string, seq: number, eventJson: string) => Promise<void>;
  /**
   * true: broadcast when `persist` resolved (target b); false: something
   * else (a stream poller) calls `broadcast` (target c).
   */
  readonly broadcastAfterPersist: boolean;
}

type Json = Record<string, unknown>;

export class RoomServer {
  private readonly wss: WebSocketServer;
  private readonly rooms = new Map<string, Set<WebSocket>>();
  private readonly seqs = new Map<string, number>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly joined = new WeakMap<WebSocket, Set<string>>();
  private listening: Promise<number>;

  constructor(private readonly hooks: RoomServerHooks) {
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.BENCH_PORT ?? 0), path: '/ws', perMessageDeflate: false });
    this.listening = new Promise((resolve, reject) => {
      this.wss.once('listening', () => {
        const address = this.wss.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      });
      this.wss.once('error', reject);
    });
    this.wss.on('connection', (ws) => {
      this.joined.set(ws, new Set());
      ws.on('message', (data, isBinary) => this.onFrame(ws, data, isBinary));
      ws.on('close', () => this.onClose(ws));
      ws.on('error', () => undefined);
    });
  }

  port(): Promise<number> {
    return this.listening;
  }

  /** Push an event (its JSON as stored) to every member of its room. */
  broadcast(room: string, eventJson: string): void {
    const members = this.rooms.get(room);
    if (members === undefined || members.size === 0) return;
    const frame = `{"type":"event","room":${JSON.stringify(room)},"event":${eventJson}}`;
    for (const ws of members) if (ws.readyState === WebSocket.OPEN) ws.send(frame);
  }

  close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  private onClose(ws: WebSocket): void {
    for (const room of this.joined.get(ws) ?? []) this.rooms.get(room)?.delete(ws);
    this.joined.delete(ws);
  }

  private reply(ws: WebSocket, value: Json): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(value));
  }

  private onFrame(ws: WebSocket, data: RawData, isBinary: boolean): void {
    let frame: Json;
    try {
      const parsed: unknown = JSON.parse(isBinary ? '' : data.toString());
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      frame = parsed as Json;
    } catch {
      this.reply(ws, { type: 'error', code: 'BAD_JSON', message: 'Frames are JSON objects.' });
      return;
    }
    const reqId = typeof frame.reqId === 'string' ? frame.reqId : undefined;
    switch (frame.action) {
      case 'subscribe': {
        const room = String(frame.room);
        let members = this.rooms.get(room);
        if (members === undefined) this.rooms.set(room, (members = new Set()));
        members.add(ws);
        this.joined.get(ws)?.add(room);
        this.reply(ws, { type: 'ack', reqId, room, headSeq: this.seqs.get(room) ?? 0 });
        return;
      }
      case 'checkpoint':
      case 'message':
        this.post(ws, reqId, frame);
        return;
      case 'ping':
        this.reply(ws, { type: 'ack', reqId, now: new Date().toISOString() });
        return;
      default:
        this.reply(ws, { type: 'error', reqId, code: 'UNKNOWN_ACTION', message: 'Unknown action.' });
    }
  }

  private post(ws: WebSocket, reqId: string | undefined, frame: Json): void {
    const orderId = String(frame.orderId);
    const room = `order:${orderId}`;
    const seq = (this.seqs.get(room) ?? 0) + 1;
    this.seqs.set(room, seq);
    const event: Json =
      frame.action === 'checkpoint'
        ? {
            orderId,
            seq,
            kind: 'checkpoint',
            at: new Date().toISOString(),
            actor: { sub: 'driver', role: 'driver' },
            status: frame.status,
            statusChanged: false,
            occurredAt: frame.occurredAt,
            ...(frame.location !== undefined && { location: frame.location }),
            ...(frame.note !== undefined && { note: frame.note }),
          }
        : {
            orderId,
            seq,
            kind: 'message',
            at: new Date().toISOString(),
            actor: { sub: 'driver', role: 'driver' },
            messageId: frame.messageId,
            ...(frame.text !== undefined && { text: frame.text }),
          };
    const eventJson = JSON.stringify(event);
    const ack: Json =
      frame.action === 'checkpoint'
        ? { type: 'ack', reqId, orderId, seq, status: frame.status, duplicate: false }
        : { type: 'ack', reqId, orderId, seq, duplicate: false };
    const persist = this.hooks.persist;
    if (persist === undefined) {
      this.broadcast(room, eventJson);
      this.reply(ws, ack);
      return;
    }
    // One write at a time per room keeps a room's events in seq order; rooms go side by side.
    const previous = this.chains.get(room) ?? Promise.resolve();
    const next = previous.then(() => persist(room, seq, eventJson));
    const settled = next.then(
      () => {
        if (this.hooks.broadcastAfterPersist) this.broadcast(room, eventJson);
        this.reply(ws, ack);
      },
      (err: unknown) => {
        this.reply(ws, { type: 'error', reqId, code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) });
      },
    );
    this.chains.set(room, settled);
    void settled.then(() => {
      if (this.chains.get(room) === settled) this.chains.delete(room);
    });
  }
}

/** Print the ready line and stop cleanly on a signal. */
export async function serve(server: RoomServer, stop: () => Promise<void> = async () => undefined): Promise<void> {
  const port = await server.port();
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await server.close().catch(() => undefined);
    await stop().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  // The bench gone without stopping us (killed): stop too, DynamoDB Local included.
  const parent = process.ppid;
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      void shutdown();
    }
  }, 1000).unref();
  process.stdout.write(`READY port=${port}\n`);
}
