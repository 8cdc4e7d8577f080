/**
 * The protocol table (shared/domain/protocol.ts) describes the acks the
 * running server really sends: each action's ack, minus `type` and `reqId`,
 * parses with the table's ack schema made strict (no field the table does
 * not name, none it names missing). The SDK's types and, later, the AsyncAPI
 * document are read from that table, so a drift would be a lie in both.
 */
import { beforeAll, describe, inject, it } from 'vitest';
import { signLocalToken } from '../../shared/runtime/auth';
import { castOf, checkpoint, orderFor, socketPool, uniqueId, uniqueTenant, type Cast } from '../support/client';
import { expectTableAck } from '../support/protocol';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const connect = socketPool(url);

describe('acks, as the server sends them, against the protocol table', () => {
  let cast: Cast;
  beforeAll(async () => {
    cast = await castOf(secret, uniqueTenant('acks'));
  });

  it('subscribe (order room with catch-up, feed room), unsubscribe, checkpoint, message, read, ping and auth', async () => {
    const orderId = await orderFor(url, cast);
    const dispatcher = await connect(cast.dispatcher);
    const driver = await connect(cast.driver);

    const posted = await driver.request(checkpoint(orderId, 'picked_up'));
    expectTableAck('checkpoint', posted);
    const message = await driver.request({ action: 'message', messageId: uniqueId('m'), orderId, text: 'at the door' });
    expectTableAck('message', message);
    expectTableAck('read', await dispatcher.request({ action: 'read', orderId, seq: message.seq }));
    expectTableAck('subscribe', await dispatcher.request({ action: 'subscribe', room: `order:${orderId}`, sinceSeq: 0 }));
    expectTableAck('subscribe', await dispatcher.request({ action: 'subscribe', room: 'dispatch' }));
    expectTableAck('unsubscribe', await dispatcher.request({ action: 'unsubscribe', room: 'dispatch' }));
    expectTableAck('ping', await dispatcher.request({ action: 'ping' }));
    const fresh = await signLocalToken(secret, { tenant: cast.tenant, role: 'dispatcher', sub: 'dispatcher-1', ttlSeconds: 7200 });
    expectTableAck('auth', await dispatcher.request({ action: 'auth', token: fresh }));
  });
});
