/**
 * The socket the SDK speaks through, and adapters to it: the browser's
 * `WebSocket` (the default) and Node's `ws` (`nodeWebSocket`), so neither
 * has to be cast. Browser-safe: the `ws` adapter takes a socket made by the
 * caller and never imports `ws`.
 */

/** The little of a WebSocket the client needs (the shape of the browser's `on…` handlers). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/**
 * The little of a Node `ws` socket (`ws` 8's `WebSocket`) the adapter uses:
 * its EventEmitter events, which `ws` types precisely (its `on…` handler
 * types are not the browser's, hence the casts this adapter replaces).
 */
export interface NodeWebSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  on(event: 'open', listener: () => void): unknown;
  on(event: 'message', listener: (data: { toString(): string }, isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** A `WebSocketLike` over another socket: keeps the handlers the client sets, for the adapter's listeners to call. */
class Adapted implements WebSocketLike {
  onopen: WebSocketLike['onopen'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;

  constructor(private readonly socket: Pick<WebSocketLike, 'readyState' | 'send' | 'close'>) {}

  get readyState(): number {
    return this.socket.readyState;
  }

  send(data: string): void {
    this.socket.send(data);
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }
}

/**
 * A `ws` socket as a `WebSocketLike`, for Node 20 (which has no global
 * `WebSocket`): `webSocket: (url) => nodeWebSocket(new WebSocket(url))`.
 * Text frames reach `onmessage` as strings, binary ones as they came (as
 * `ws`'s own `onmessage` does); `send`, `close` and `readyState` are the
 * socket's own, looked up at each call. An `error` listener is always
 * attached, so a failed connection never throws out of the EventEmitter.
 *
 * @param socket a `ws` `WebSocket` (or anything with its `on(event)` shape), just made
 */
export function nodeWebSocket(socket: NodeWebSocket): WebSocketLike {
  const adapted = new Adapted(socket);
  socket.on('open', () => adapted.onopen?.({}));
  socket.on('message', (data, isBinary) => adapted.onmessage?.({ data: isBinary ? data : data.toString() }));
  socket.on('close', (code) => adapted.onclose?.({ code }));
  socket.on('error', (error) => adapted.onerror?.(error));
  return adapted;
}

/**
 * The global `WebSocket` (browsers, Node 22+) as a `WebSocketLike`: the
 * client's default. Throws as `new WebSocket(url)` does (a bad URL), and
 * `ReferenceError` where there is no global `WebSocket`.
 */
export function browserWebSocket(url: string): WebSocketLike {
  const socket = new WebSocket(url);
  const adapted = new Adapted(socket);
  socket.onopen = (ev) => adapted.onopen?.(ev);
  socket.onmessage = (ev) => adapted.onmessage?.(ev);
  socket.onclose = (ev) => adapted.onclose?.(ev);
  socket.onerror = (ev) => adapted.onerror?.(ev);
  return adapted;
}
