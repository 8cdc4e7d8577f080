/**
 * The SDK's public types: the client's options and events, the acks (typed
 * by the protocol table, `shared/domain/protocol.ts`) and the post inputs.
 */
import type { AckOf, Action } from '../../shared/domain/protocol';
import type { CheckpointFrame, MessageFrame } from '../../shared/domain/schemas';
import type { ConnectionState } from './connection';
import type { KeyValueStorage, OutboxItem } from './outbox';
import type { WaypostRequestError } from './requester';
import type { RoomRevoked } from './room';
import type { WebSocketLike } from './socket';

export interface WaypostClientOptions {
  /** Where Waypost is: `http://127.0.0.1:4000` (the WebSocket is `/ws` there, the HTTP API `/api`). */
  readonly baseUrl: string;
  /** The WebSocket URL when it is not `<baseUrl>/ws` (in the cloud: the API Gateway stage URL). */
  readonly wsUrl?: string;
  /**
   * A token, or a function giving a fresh one: at each (re)connect, and
   * before the connection's token expires. With a function the client renews
   * by itself (the `auth` action) 60 s or a tenth of the token's lifetime
   * before its `exp`, whichever is sooner to it, retrying until it succeeds or
   * the server closes the socket at `exp` (code 4001), after which it
   * reconnects with a fresh token. With a string, a 4001 close ends the client
   * (`expired`): sign in again.
   */
  readonly token: string | (() => string | Promise<string>);
  /** Defaults to the global `WebSocket` (browsers, Node 22+); on Node 20 pass `(url) => nodeWebSocket(new WebSocket(url))` with `ws`. */
  readonly webSocket?: (url: string) => WebSocketLike;
  /** Keeps the outbox across reloads (e.g. `localStorage`). Default: memory only. */
  readonly storage?: KeyValueStorage;
  /** Storage key of the outbox; one per user and tenant. */
  readonly outboxKey?: string;
  /** Reconnect waits, ms: full jitter under min(maxMs, initialMs · 2^attempts) (defaults 250 and 15,000). */
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** How long a request waits for its reply, ms (default 15,000). */
  readonly requestTimeoutMs?: number;
  /**
   * How often to send a `ping` while connected, so API Gateway's 10-minute
   * idle limit never drops a quiet socket (a ping costs less than a
   * reconnect and resubscribe). Default 9 minutes; 0 turns it off.
   */
  readonly keepAliveMs?: number;
  readonly fetch?: typeof fetch;
  readonly random?: () => number;
}

/** The ack of any action, typed by the protocol table (`shared/domain/protocol.ts`). */
export type Ack = AckOf<Action>;
/** A checkpoint's ack (CONTRACT §5, §3): `applied` is false for a late one, and `status` is then the order's current status. */
export type CheckpointAck = AckOf<'checkpoint'>;
export type MessageAck = AckOf<'message'>;
export type SubscribeAck = AckOf<'subscribe'>;
/** The ack of a queued post. */
export type PostAck = AckOf<'checkpoint' | 'message'>;

type Input<F> = Omit<F, 'action' | 'reqId'>;
export type CheckpointInput = Omit<Input<CheckpointFrame>, 'eventId'> & { eventId?: string };
export type MessageInput = Omit<Input<MessageFrame>, 'messageId'> & { messageId?: string };

/** What a client tells its listeners. */
export interface ClientEvents {
  state: ConnectionState;
  outbox: readonly OutboxItem[];
  delivered: { item: OutboxItem; ack: PostAck };
  rejected: { item: OutboxItem; error: WaypostRequestError };
  /** A room ended for good (see `RoomRevoked`). */
  revoked: RoomRevoked;
  /** The connection's token was renewed: it now lives until `exp` (epoch seconds). */
  renewed: { exp: number };
  /** The server closed the connection at its token's expiry and there is no provider to renew it: the client stopped. */
  expired: { exp: number | undefined };
}
