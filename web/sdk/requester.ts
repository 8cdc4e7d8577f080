/**
 * One request, one reply, over any socket: the `reqId` correlation of
 * CONTRACT §5, typed by the protocol table (`shared/domain/protocol.ts`).
 * The SDK's connection, the tests' client, the bench and the simulator all
 * send requests through this one class (the socket.io-client `acks[id]`
 * shape: a map of pending replies, each with its timer).
 *
 * Browser-safe; it never touches the socket itself except through `send`.
 */
import type { ErrorCode } from '../../shared/domain/errors';
import type { AckOf, Action, Reply, RequestInput } from '../../shared/domain/protocol';

/** A refused request: the contract's error code and message, or the client's own (`OFFLINE`, `TIMEOUT`, `DISCONNECTED`). */
export class WaypostRequestError extends Error {
  constructor(
    readonly code: ErrorCode | 'OFFLINE' | 'TIMEOUT' | 'DISCONNECTED',
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'WaypostRequestError';
  }
}

export interface RequesterOptions {
  /** Sends one text frame on the socket. */
  readonly send: (text: string) => void;
  /** How long a request waits for its reply, in ms (default 15,000): then it fails with `TIMEOUT`. */
  readonly timeoutMs?: number;
  /** Makes a `reqId` for a request that does not bring its own (default: `req-` and a random id). */
  readonly newReqId?: () => string;
}

interface Pending {
  readonly settle: (reply: Reply) => void;
  readonly fail: (err: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** Pairs replies with requests by `reqId`. Feed it every frame received (`receive`), and `failAll` when the socket closes. */
export class Requester {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly options: RequesterOptions) {}

  /** Requests still waiting for a reply. */
  get waiting(): number {
    return this.pending.size;
  }

  /**
   * Send a request of the protocol table and wait for its ack.
   *
   * @returns the ack, typed by the action
   * @throws {WaypostRequestError} with the reply's `code`, `message` and `details` for an error reply; `TIMEOUT` when no reply came in time; whatever `failAll` was given when the socket closed first
   */
  async request<A extends Action>(frame: RequestInput<A>, options: { reqId?: string; timeoutMs?: number } = {}): Promise<AckOf<A>> {
    const reply = await this.exchange(frame, options);
    if (reply.type === 'error') throw new WaypostRequestError(reply.code, reply.message, reply.details);
    return reply as AckOf<A>;
  }

  /**
   * Send any frame (a bad one included: tests and fuzzers send them) with a
   * `reqId`, and wait for its one reply, ack or error, as it came.
   *
   * @param frame sent as JSON with `reqId` set (`options.reqId`, else a fresh one)
   * @throws {WaypostRequestError} `TIMEOUT` when no reply came in time; whatever `failAll` was given when the socket closed first
   */
  exchange(frame: object, options: { reqId?: string; timeoutMs?: number } = {}): Promise<Reply> {
    const reqId = options.reqId ?? (this.options.newReqId ?? (() => newId('req')))();
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? 15_000;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        reject(new WaypostRequestError('TIMEOUT', `No reply to ${actionOf(frame)} ${reqId} in ${timeoutMs} ms.`));
      }, timeoutMs);
      this.pending.set(reqId, { settle: resolve, fail: reject, timer });
      try {
        this.options.send(JSON.stringify({ ...frame, reqId }));
      } catch (err) {
        this.forget(reqId);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /**
   * Offer a received frame: a reply (`ack` or `error`) to a waiting request
   * settles it and returns true; anything else (a push, a reply nobody waits
   * for) returns false.
   */
  receive(frame: Record<string, unknown>): boolean {
    if (frame.type !== 'ack' && frame.type !== 'error') return false;
    const reqId = frame.reqId;
    if (typeof reqId !== 'string') return false;
    const p = this.forget(reqId);
    if (p === undefined) return false;
    // As it came: an error reply's `code` is the contract's; any field the server adds stays.
    p.settle(frame as Reply);
    return true;
  }

  /** Fail every waiting request with `err` (the socket closed: no reply will come). */
  failAll(err: Error): void {
    for (const reqId of [...this.pending.keys()]) this.forget(reqId)?.fail(err);
  }

  private forget(reqId: string): Pending | undefined {
    const p = this.pending.get(reqId);
    if (p === undefined) return undefined;
    this.pending.delete(reqId);
    clearTimeout(p.timer);
    return p;
  }
}

const actionOf = (frame: object): string => String((frame as { action?: unknown }).action);

/** A fresh id: `prefix-` and a random UUID (or time and randomness where there is no `crypto.randomUUID`). */
export function newId(prefix: string): string {
  const c = globalThis.crypto;
  return `${prefix}-${typeof c?.randomUUID === 'function' ? c.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`}`;
}
