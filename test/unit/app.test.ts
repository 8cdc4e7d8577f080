/**
 * The composition factory (functions/common/wiring.ts `createApp`) and the
 * clients it is given (shared/runtime/clients.ts `createClients`): two apps
 * from two configs share nothing, nothing is built before it is used, and the
 * `@connections` client goes through the injected request handler (the
 * local gateway's in-process transport), with no process-global setter.
 */
import { describe, expect, it } from 'vitest';
import { createApp } from '../../functions/common/wiring';
import { createClients } from '../../shared/runtime/clients';
import { loadConfig } from '../../shared/runtime/config';

interface Seen {
  method: string;
  path: string;
  body: string;
}

/** A Smithy request handler that records each call and answers with `status`. */
function recordingTransport(status: number, seen: Seen[]) {
  return {
    metadata: { handlerProtocol: 'test' },
    handle: async (request: { method: string; path: string; body?: unknown }) => {
      seen.push({ method: request.method, path: request.path, body: typeof request.body === 'string' ? request.body : Buffer.from((request.body as Uint8Array | undefined) ?? []).toString() });
      return { response: { statusCode: status, headers: status === 410 ? { 'x-amzn-errortype': 'GoneException' } : {}, body: new Uint8Array() } };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
  };
}

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };

describe('createApp', () => {
  it('pushes through the injected @connections transport, per app', async () => {
    const seenA: Seen[] = [];
    const seenB: Seen[] = [];
    const cfg = loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_CALLBACK_URL: 'http://127.0.0.1:1' });
    const a = createApp(cfg, createClients(cfg, { credentials, managementRequestHandler: recordingTransport(200, seenA) }));
    const b = createApp(cfg, createClients(cfg, { credentials, managementRequestHandler: recordingTransport(410, seenB) }));

    expect(await a.notifier().send('conn-1', '{"hi":1}')).toBe('sent');
    expect(await b.notifier().send('conn-2', 'x')).toBe('gone');

    expect(seenA).toEqual([{ method: 'POST', path: '/@connections/conn-1', body: '{"hi":1}' }]);
    expect(seenB.map((s) => s.path)).toEqual(['/@connections/conn-2']);
    expect(a.notifier()).toBe(a.notifier());
    expect(a.notifier()).not.toBe(b.notifier());
  });

  it('builds each part from its own config, on first use', () => {
    const one = loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_ORDERS_TABLE: 'orders-one' });
    const two = loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_ORDERS_TABLE: 'orders-two' });
    let built = 0;
    const clients = createClients(one);
    const counting = { ...clients, document: () => (built++, clients.document()) };
    const a = createApp(one, counting);
    const b = createApp(two, createClients(two));
    expect(built).toBe(0);
    expect(a.config.ordersTable).toBe('orders-one');
    expect(b.config.ordersTable).toBe('orders-two');
    expect(a.orderStore()).toBe(a.orderStore());
    expect(built).toBe(1);
    expect(a.orderStore()).not.toBe(b.orderStore());
  });

  it('fails on first push, naming WAYPOST_CALLBACK_URL, when the config has none', async () => {
    const cfg = loadConfig({ WAYPOST_JWT_SECRET: 's' });
    const app = createApp(cfg, createClients(cfg, { credentials }));
    expect(() => app.notifier()).toThrow(/WAYPOST_CALLBACK_URL/);
  });
});
