/**
 * DNS rebinding: a page whose name was rebound to 127.0.0.1 reaches the local
 * gateway with `Host: <its name>` (and `Origin: http://<its name>` on a
 * WebSocket upgrade). The gateway answers only loopback names: 421 for any
 * other Host, 403 for an upgrade from a foreign Origin.
 */
import { request } from 'node:http';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { castOf, uniqueTenant, type Cast } from '../support/client';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const port = Number(new URL(url).port);

let cast: Cast;
beforeAll(async () => {
  cast = await castOf(secret, uniqueTenant('loopback'));
});

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** An HTTP/1.1 GET to the gateway with exactly these headers (`noHost`: without Host). */
function rawGet(path: string, headers: Record<string, string>, options: { noHost?: boolean } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers, setHost: options.noHost !== true }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket upgrade of `/ws` with these headers: 101, or the status it was refused with. */
function rawUpgrade(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: `/ws?token=${encodeURIComponent(cast.dispatcher)}`,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Host of an HTTP request', () => {
  it('refuses a foreign Host with 421, for the demo users, the API and the console alike', async () => {
    for (const path of ['/_local/demo-users', '/_local/connections', '/api/health', '/api/orders', '/']) {
      const answer = await rawGet(path, { host: 'attacker.example' });
      expect({ path, status: answer.status }).toEqual({ path, status: 421 });
      expect(answer.body).not.toContain('token');
    }
    expect((await rawGet('/_local/demo-users', { host: `attacker.example:${port}` })).status).toBe(421);
    // A loopback name as a subdomain of another is another name.
    expect((await rawGet('/_local/demo-users', { host: `localhost.attacker.example:${port}` })).status).toBe(421);
    expect((await rawGet('/_local/demo-users', { host: `127.0.0.1.nip.io:${port}` })).status).toBe(421);
  });

  it('answers 127.0.0.1, localhost and [::1], with or without the port', async () => {
    for (const host of ['127.0.0.1', `127.0.0.1:${port}`, 'localhost', `localhost:${port}`, `LOCALHOST:${port}`, '[::1]', `[::1]:${port}`]) {
      const answer = await rawGet('/_local/demo-users', { host });
      expect({ host, status: answer.status }).toEqual({ host, status: 200 });
    }
  });

  it('refuses an HTTP/1.1 request without Host', async () => {
    const answer = await rawGet('/_local/demo-users', {}, { noHost: true });
    // Node's own parser or the gateway: either way, nothing is answered.
    expect([400, 421]).toContain(answer.status);
  });
});

describe('WebSocket upgrade', () => {
  it('is refused with 421 for a foreign Host, before the token is looked at', async () => {
    expect(await rawUpgrade({ host: `attacker.example:${port}` })).toBe(421);
  });

  it('is refused with 403 for a foreign Origin, and for Origin null', async () => {
    expect(await rawUpgrade({ host: `127.0.0.1:${port}`, origin: 'http://attacker.example' })).toBe(403);
    expect(await rawUpgrade({ host: `127.0.0.1:${port}`, origin: `http://attacker.example:${port}` })).toBe(403);
    expect(await rawUpgrade({ host: `127.0.0.1:${port}`, origin: `https://localhost.attacker.example` })).toBe(403);
    expect(await rawUpgrade({ host: `127.0.0.1:${port}`, origin: 'null' })).toBe(403);
  });

  it('goes on from the console (a loopback Origin) and from programs (no Origin)', async () => {
    expect(await rawUpgrade({ host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` })).toBe(101);
    expect(await rawUpgrade({ host: `localhost:${port}`, origin: `http://localhost:${port}` })).toBe(101);
    expect(await rawUpgrade({ host: `127.0.0.1:${port}` })).toBe(101);
  });
});
