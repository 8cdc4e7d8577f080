/**
 * Property-based fuzzing (fast-check) of every WebSocket frame and HTTP body
 * against the running runtime: every input gets a contract error or an ack,
 * never a crash, a closed socket, or a stored change from a refused request.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { ERROR_CODES } from '../../shared/domain/errors';
import { ACTIONS as PROTOCOL_ACTIONS } from '../../shared/domain/protocol';
import { STATUSES } from '../../shared/domain/statuses';
import { castOf, http, orderFor, socketPool, uniqueTenant, type Cast, type Frame } from '../support/client';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const connect = socketPool(url);
let cast: Cast;
let orderId: string;

beforeAll(async () => {
  cast = await castOf(secret, uniqueTenant('fuzz'));
  orderId = await orderFor(url, cast);
});

/** Every action of the protocol table, so a new one is fuzzed too. */
const ACTIONS = Object.keys(PROTOCOL_ACTIONS);
const value = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(...STATUSES),
  fc.constantFrom('2026-01-01T10:00:00Z', '2026-01-01T10:00:00', 'yesterday'),
  fc.string({ minLength: 129, maxLength: 140 }),
);

/** Frames near the valid ones: the right action and fields, with some fields dropped, swapped or garbled. */
const frame = fc.record(
  {
    action: fc.oneof(fc.constantFrom(...ACTIONS), fc.string({ maxLength: 12 })),
    eventId: fc.oneof(fc.uuid(), value),
    messageId: fc.oneof(fc.uuid(), value),
    orderId: fc.oneof(fc.constant('__ORDER__'), value),
    status: fc.oneof(fc.constantFrom(...STATUSES), value),
    occurredAt: fc.oneof(fc.constant(new Date().toISOString()), value),
    text: fc.oneof(fc.string({ maxLength: 60 }), value),
    room: fc.oneof(fc.constant('order:__ORDER__'), fc.constantFrom('dispatch', 'retailer:retailer-a', 'order:', 'nope'), value),
    sinceSeq: fc.oneof(fc.nat(10), value),
    seq: fc.oneof(fc.nat(10), value),
    alertId: value,
    token: value,
    reason: value,
    location: fc.oneof(fc.record({ lat: fc.double(), lng: fc.double() }), value),
    proof: fc.oneof(fc.record({ recipientType: fc.constantFrom('self', 'proxy', 'robot') }), value),
  },
  { requiredKeys: ['action'] },
);

/** Valid posts, so refused frames are interleaved with ones that store something. */
const validPost = fc.oneof(
  fc.record({
    action: fc.constant('checkpoint'),
    eventId: fc.uuid(),
    orderId: fc.constant('__ORDER__'),
    status: fc.constant('picked_up'),
    // Now, not a fixed date: CONTRACT §3 refuses an occurredAt more than 7 days old.
    occurredAt: fc.constant(new Date().toISOString()),
    note: fc.string({ maxLength: 30 }),
  }),
  fc.record({ action: fc.constant('message'), messageId: fc.uuid(), orderId: fc.constant('__ORDER__'), text: fc.string({ minLength: 1, maxLength: 30 }) }),
);

function materialize(f: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(f).replaceAll('__ORDER__', orderId)) as Record<string, unknown>;
}

describe('fuzzing', () => {
  it('answers every WebSocket frame with one ack or one contract error, keeps the socket, stores only what it acks', async () => {
    const driver = await connect(cast.driver);
    const acked = new Set<string>();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof({ weight: 4, arbitrary: frame }, { weight: 1, arbitrary: fc.jsonValue() }, { weight: 1, arbitrary: validPost }),
        async (input) => {
          const reqId = `fz-${n++}`;
          const isObject = input !== null && typeof input === 'object' && !Array.isArray(input);
          const reply = isObject
            ? await driver.request({ ...materialize(input), reqId })
            : await driver.sendRaw(JSON.stringify(input));
          expect(['ack', 'error']).toContain(reply.type);
          if (reply.type === 'error') expect(ERROR_CODES).toContain(reply.code);
          if (isObject) expect(reply.reqId).toBe(reqId);
          expect(driver.isOpen).toBe(true);
          if (reply.type === 'ack' && reply.duplicate === false) {
            const sent = materialize(input as Record<string, unknown>);
            acked.add(String(sent.action === 'message' ? sent.messageId : sent.eventId));
          }
        },
      ),
      { numRuns: 300, seed: 20261123 },
    );
    expect(await driver.request({ action: 'ping' })).toMatchObject({ type: 'ack' });
    expect(acked.size).toBeGreaterThan(0); // the fuzz reached the write path, not only the validators

    const timeline = await http<{ items: Frame[]; headSeq: number }>(url, 'GET', `/api/orders/${orderId}/timeline?limit=500`, {
      token: cast.dispatcher,
    });
    const posted = timeline.body.items.filter((e) => e.kind === 'checkpoint' || e.kind === 'message');
    expect(posted.map((e) => String(e.eventId ?? e.messageId)).sort()).toEqual([...acked].sort());
    expect(timeline.body.items.map((e) => e.seq)).toEqual(Array.from({ length: timeline.body.headSeq }, (_, i) => i + 1));
  });

  it('answers every HTTP body with a contract status and error, and stores nothing it refuses', async () => {
    const routes: [string, string][] = [
      ['POST', '/api/orders'],
      ['POST', `/api/orders/__ORDER__/assign`],
      ['PUT', '/api/sla-policy'],
    ];
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          orderId: fc.oneof(fc.uuid(), value),
          retailerId: fc.oneof(fc.constantFrom('retailer-a', 'retailer-b'), value),
          recipient: fc.oneof(fc.record({ name: fc.oneof(fc.string({ maxLength: 20 }), value), phone: value }), value),
          destination: fc.oneof(fc.record({ address: fc.oneof(fc.string({ maxLength: 20 }), value) }), value),
          driverId: value,
          dwellSeconds: fc.oneof(fc.dictionary(fc.constantFrom(...STATUSES, 'nope'), fc.integer({ min: -5, max: 5 })), value),
          escalation: fc.oneof(fc.array(fc.record({ afterSeconds: fc.integer({ min: -1, max: 5 }), notify: fc.constantFrom('dispatch', 'sms', 'fax') })), value),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, fc.constantFrom('retailer', 'dispatcher', 'driver'), async ([method, path], input, who) => {
        const res = await http<{ error?: { code: string; message: string } }>(url, method, path.replace('__ORDER__', orderId), {
          token: cast[who],
          rawBody: JSON.stringify(input),
        });
        expect([200, 201, 400, 403, 404, 409, 413]).toContain(res.status);
        if (res.status >= 400) {
          expect(ERROR_CODES).toContain(res.body.error?.code);
          expect(typeof res.body.error?.message).toBe('string');
          const id = (input as { orderId?: unknown } | null)?.orderId;
          if (method === 'POST' && path === '/api/orders' && typeof id === 'string' && id.length > 0 && id.length <= 128) {
            const probe = await http(url, 'GET', `/api/orders/${encodeURIComponent(id)}`, { token: cast.dispatcher });
            if (res.status !== 409) expect(probe.status).toBe(404);
          }
        }
      }),
      { numRuns: 200, seed: 20261124 },
    );
  });
});
