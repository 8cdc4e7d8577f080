/**
 * The SDK ends a room the server will not let it join as revoked, with the
 * reason, instead of dropping it silently and asking again at each
 * reconnect: `limit` for LIMIT_EXCEEDED (500 rooms per connection, CONTRACT §5).
 * The server here is a fake socket: only the SDK's handling is under test.
 */
import { describe, expect, it, vi } from 'vitest';
import { FakeSocket } from '../support/fake-socket';
import { signLocalToken } from '../../shared/runtime/auth';
import { WaypostClient, type RoomRevoked } from '../../web/sdk/client';


describe('WaypostClient and LIMIT_EXCEEDED', () => {
  it('ends the refused room as revoked with reason "limit", keeps the others, and does not ask for it again', async () => {
    const sockets: FakeSocket[] = [];
    const token = await signLocalToken('unit-secret', { tenant: 't', role: 'dispatcher', sub: 'd-1' });
    const client = new WaypostClient({
      baseUrl: 'http://127.0.0.1:1',
      token,
      webSocket: () => {
        // Acks every subscribe but those of a full room, which get LIMIT_EXCEEDED.
        const s = new FakeSocket((f) =>
          f.action === 'subscribe' && f.room === 'retailer:full'
            ? { type: 'error', code: 'LIMIT_EXCEEDED', message: 'This connection holds 500 rooms already.', details: { limit: 500 } }
            : { type: 'ack', room: f.room, headSeq: 0 },
        );
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
    await vi.waitFor(() => expect(sockets[1]!.sent.filter((f) => f.action === 'subscribe').map((f) => f.room)).toEqual(['retailer:ok']));
    client.close();
  });
});
