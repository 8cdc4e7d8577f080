/**
 * The SDK's public API as a package entry (`waypost/sdk`, package.json
 * `exports`), pinned: the names it exports at run time, and its types
 * (checked by `tsc --noEmit`, which includes test/; `expectTypeOf` does
 * nothing at run time, and each `@ts-expect-error` fails the typecheck if
 * the line below it stops being an error).
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as sdk from 'waypost/sdk';
import {
  WaypostClient,
  type WaypostHttp,
  WaypostRequestError,
  nodeWebSocket,
  type AckOf,
  type CheckpointAck,
  type ClientEvents,
  type ConnectionState,
  type MessageAck,
  type OrderEvent,
  type RoomHandlers,
  type RoomRevoked,
  type TimelinePage,
  type WebSocketLike,
} from 'waypost/sdk';

const client = new WaypostClient({ baseUrl: 'http://127.0.0.1:1', token: 't', webSocket: () => ({}) as WebSocketLike });

describe('waypost/sdk', () => {
  it('exports the client, the HTTP half, the requester, the errors and the socket adapters', () => {
    expect(Object.keys(sdk).sort()).toEqual([
      'Backoff',
      'Requester',
      'TOKEN_EXPIRED_CLOSE_CODE',
      'WaypostClient',
      'WaypostHttp',
      'WaypostRequestError',
      'browserWebSocket',
      'nodeWebSocket',
      'tokenTimes',
    ]);
    expect(new WaypostRequestError('OFFLINE', 'x')).toBeInstanceOf(Error);
  });

  it('types request by action: the ack of that action, and a bad action or frame does not compile', () => {
    expectTypeOf<AckOf<'checkpoint'>>().toHaveProperty('seq').toEqualTypeOf<number>();
    expectTypeOf<AckOf<'checkpoint'>>().toHaveProperty('applied').toEqualTypeOf<boolean>();
    expectTypeOf<AckOf<'auth'>>().toHaveProperty('exp').toEqualTypeOf<number>();
    const ping = () => client.request({ action: 'ping' });
    expectTypeOf(ping).returns.resolves.toEqualTypeOf<AckOf<'ping'>>();
    expectTypeOf(ping).returns.resolves.toHaveProperty('now').toEqualTypeOf<string>();
    const subscribe = () => client.request({ action: 'subscribe', room: 'dispatch', sinceSeq: 3 });
    expectTypeOf(subscribe).returns.resolves.toHaveProperty('items').toEqualTypeOf<OrderEvent[] | undefined>();
    // @ts-expect-error: not an action of the protocol table
    const bad = () => client.request({ action: 'nope' });
    // @ts-expect-error: `read` needs `seq`
    const missing = () => client.request({ action: 'read', orderId: 'o-1' });
    expect([bad, missing]).toHaveLength(2);
  });

  it('types the posts: checkpoint() resolves with the checkpoint ack, message() with the message ack', () => {
    expectTypeOf(client.checkpoint).returns.resolves.toEqualTypeOf<CheckpointAck>();
    expectTypeOf<CheckpointAck>().toEqualTypeOf<AckOf<'checkpoint'>>();
    expectTypeOf(client.message).returns.resolves.toEqualTypeOf<MessageAck>();
    expectTypeOf(client.read).returns.resolves.toEqualTypeOf<AckOf<'read'>>();
    // @ts-expect-error: a delivered checkpoint needs its proof
    const noProof = () => client.checkpoint({ orderId: 'o-1', status: 'delivered' });
    expect(noProof).toBeTypeOf('function');
  });

  it("types the room handlers' events and the client's events", () => {
    expectTypeOf<RoomHandlers['onEvent']>().parameter(0).toEqualTypeOf<OrderEvent>();
    expectTypeOf<NonNullable<RoomHandlers['onRevoked']>>().parameter(0).toEqualTypeOf<RoomRevoked>();
    expectTypeOf<RoomRevoked>().toEqualTypeOf<{ readonly room: string; readonly reason: string }>();
    expectTypeOf(client.subscribe).returns.toEqualTypeOf<() => void>();
    expectTypeOf<ClientEvents['state']>().toEqualTypeOf<ConnectionState>();
    expectTypeOf<ConnectionState>().toEqualTypeOf<'connecting' | 'open' | 'offline' | 'closed'>();
    expectTypeOf<ClientEvents['renewed']>().toEqualTypeOf<{ exp: number }>();
    expectTypeOf(client.on<'revoked'>).parameter(1).parameter(0).toEqualTypeOf<RoomRevoked>();
  });

  it('types the HTTP half and the ws adapter', () => {
    expectTypeOf<WaypostHttp['timeline']>().returns.resolves.toEqualTypeOf<TimelinePage>();
    expectTypeOf<TimelinePage['items']>().toEqualTypeOf<OrderEvent[]>();
    expectTypeOf(nodeWebSocket).returns.toEqualTypeOf<WebSocketLike>();
    // @ts-expect-error: a browser-shaped socket is not a `ws` one (no `on`)
    const wrong = () => nodeWebSocket({} as WebSocketLike);
    expect(wrong).toBeTypeOf('function');
  });
});
