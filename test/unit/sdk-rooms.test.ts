/**
 * The SDK ends a room the server will not let it join as revoked, with the
 * reason, instead of dropping it silently and asking again at each
 * reconnect: `limit` for LIMIT_EXCEEDED (500 rooms per connection, CONTRACT §5).
 * The server here is a fake socket: only the SDK's handling is under test.
 */
import { describe, expect, it, vi } from 'vitest';
import { signLocalToken } from '../../shared/runtime/auth';
import { WaypostClient, type RoomRevoked, type WebSocketLike } from '../../web/sdk/client';

/** A socket that acks every subscribe but those of rooms in `full`, which get LIMIT_EXCEEDED. */
class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  readonly subscribes: string[] = [];

  constructor(private readonly full: ReadonlySet<string>) {
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }

  send(data: string): void {
    const frame = JSON.parse(data) as { action: string; reqId: string; room?: string };
    const reply =
      frame.action === 'subscribe' && this.full.has(frame.room ?? '')
        ? { type: 'error', reqId: frame.reqId, code: 'LIMIT_EXCEEDED', message: 'This connection holds 500 rooms already.', details: { limit: 500 } }
        : { type: 'ack', reqId: frame.reqId, room: frame.room, headSeq: 0 };
    if (frame.action === 'subscribe') this.subscribes.push(frame.room ?? '');
    setTimeout(() => this.onmessage?.({ data: JSON.stringify(reply) }), 0);
  }

  close(code = 1000): void {
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code }), 0);
  }
}

describe('WaypostClient and LIMIT_EXCEEDED', () => {
  it('ends the refused room as revoked with reason "limit", keeps the others, and does not ask for it again', async () => {
    const sockets: FakeSocket[] = [];
    const token = await signLocalToken('unit-secret', { tenant: 't', role: 'dispatcher', sub: 'd-1' });
    const client = new WaypostClient({
      baseUrl: 'http://127.0.0.1:1',
      token,
      webSocket: () => {
        const s = new FakeSocket(new Set(['retailer:full']));
        sockets.push(s);
        return s;
      },
      backoff: { initialMs: 1, maxMs: 5 },
    });
    const revoked: RoomRevoked[] = [];
    const handlerRevoked: RoomRevoked[] = [];
    client.on('revoked', (r) => revoked.push(r));
    await client.connect();
    client.subscribe('retailer:ok', { onEvent: () => undefined });
    client.subscribe('retailer:full', { onEvent: () => undefined, onRevoked: (r) => handlerRevoked.push(r) });
    await vi.waitFor(() => expect(revoked).toEqual([{ room: 'retailer:full', reason: 'limit' }]));
    expect(handlerRevoked).toEqual([{ room: 'retailer:full', reason: 'limit' }]);

    // After a reconnect only the room it still holds is joined again.
    client.reconnectNow();
    await vi.waitFor(() => expect(sockets).toHaveLength(2));
    await vi.waitFor(() => expect(sockets[1]!.subscribes).toEqual(['retailer:ok']));
    client.close();
  });
});
