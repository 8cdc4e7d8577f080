/**
 * SLA policy and escalation (CONTRACT §6) as pure decisions: policy parsing,
 * when a stay is due, opening an alert, firing levels one at a time,
 * acknowledging, resolving on a status change, SMS text and the due shards.
 * Every time comes from an explicit clock (`at(seconds)` after T0).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ForbiddenError, ValidationError } from '../../shared/domain/errors';
import type { EventDraft, OrderHead } from '../../shared/domain/model';
import { planCheckpoint, planMessage, type Append, type AlertWrite } from '../../shared/domain/orders';
import { parseOrThrow } from '../../shared/domain/schemas';
import {
  alertIdFor,
  alertView,
  DUE_SHARDS,
  dueAtFor,
  dueShardOf,
  formatDuration,
  MAX_ESCALATION_LEVELS,
  nextAlertDueAt,
  nextLevelToFire,
  planAcknowledge,
  planFireLevel,
  planOpenAlert,
  shouldOpenAlert,
  slaPolicySchema,
  smsText,
  withStatusClock,
  type Alert,
  type EscalationLevel,
  type SlaPolicy,
} from '../../shared/domain/sla';
import { caught, checkpoint, dispatcher, driver1, makeHead, retailerA, T0, TENANT } from './fixtures';

// ---------------------------------------------------------------- clock and helpers

const T0_MS = Date.parse(T0);

/** The injected clock: `seconds` after T0. */
function at(seconds: number): Date {
  return new Date(T0_MS + seconds * 1000);
}

/** The same instant as an ISO string. */
function iso(seconds: number): string {
  return at(seconds).toISOString();
}

/** One millisecond before `at(seconds)`. */
function justBefore(seconds: number): Date {
  return new Date(T0_MS + seconds * 1000 - 1);
}

const HOUR = 3600;

/** CONTRACT §6's example policy, verbatim. */
const EXAMPLE_POLICY_JSON: unknown = {
  dwellSeconds: { created: 7200, packed: 3600, out_for_delivery: 14400 },
  escalation: [
    { afterSeconds: 0, notify: 'dispatch' },
    { afterSeconds: 900, notify: 'sms', to: ['+15550100001'] },
    { afterSeconds: 2700, notify: 'sms', to: ['+15550100002'] },
  ],
};
const EXAMPLE: SlaPolicy = parseOrThrow(slaPolicySchema, EXAMPLE_POLICY_JSON, 'SLA policy');

/** The fixtures' head is out_for_delivery since T0: under the example policy it stalls at 4h. */
const OFD_LIMIT = 14400;

function policy(escalation: EscalationLevel[], dwellSeconds: SlaPolicy['dwellSeconds'] = { out_for_delivery: OFD_LIMIT }): SlaPolicy {
  return parseOrThrow(slaPolicySchema, { dwellSeconds, escalation }, 'SLA policy');
}

type OpenWrite = Extract<AlertWrite, { op: 'open' }>;
type UpdateWrite = Extract<AlertWrite, { op: 'update' }>;
type AlertDraft = Extract<EventDraft, { kind: 'alert' }>;

function present<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}, got ${String(value)}`);
  return value;
}

function openWriteOf(plan: Append): OpenWrite {
  const write = plan.alert;
  if (write?.op !== 'open') throw new Error(`expected an 'open' alert write, got ${JSON.stringify(write)}`);
  return write;
}

function updateWriteOf(plan: Append): UpdateWrite {
  const write = plan.alert;
  if (write?.op !== 'update') throw new Error(`expected an 'update' alert write, got ${JSON.stringify(write)}`);
  return write;
}

function alertEventOf(event: EventDraft | undefined): AlertDraft {
  if (event?.kind !== 'alert') throw new Error(`expected an alert event, got ${JSON.stringify(event)}`);
  return event;
}

/** Open the alert for `head` under `p` at `now` (must be due) and return the plan, the alert and the head after it. */
function openAt(p: SlaPolicy, now: Date, head: OrderHead = makeHead()): { plan: Append; alert: Alert; head: OrderHead } {
  const plan = present(planOpenAlert(head, p, now), 'an open plan');
  const alert = openWriteOf(plan).alert;
  return { plan, alert, head: { ...head, openAlertId: alert.alertId, alertLevel: alert.level } };
}

/** What storage does with an update: apply `set` to the stored alert. */
function applyUpdate(alert: Alert, write: UpdateWrite): Alert {
  return { ...alert, ...write.set };
}

/** The storage condition of an update, as AlertWrite documents it. */
function conditionHolds(write: UpdateWrite, stored: Alert): boolean {
  return write.expectStates.includes(stored.state) && (write.expectLevel === undefined || write.expectLevel === stored.level);
}

const validationDetailsSchema = z.object({ issues: z.array(z.object({ field: z.string(), message: z.string() })) });

/** Parse a policy and expect VALIDATION whose message names `field` (and whose issues list it). */
function expectPolicyInvalid(value: unknown, field: string): ValidationError {
  const err = caught(() => parseOrThrow(slaPolicySchema, value, 'SLA policy'));
  if (!(err instanceof ValidationError)) throw new Error(`expected a ValidationError, got ${String(err)}`);
  expect(err.code).toBe('VALIDATION');
  expect(err.httpStatus).toBe(400);
  expect(err.message).toContain(`"${field}"`);
  const { issues } = validationDetailsSchema.parse(err.details);
  expect(issues.map((i) => i.field)).toContain(field);
  return err;
}

function withLevels(levels: unknown[]): unknown {
  return { dwellSeconds: { created: 60 }, escalation: levels };
}

// ---------------------------------------------------------------- 1. the policy schema

describe('slaPolicySchema', () => {
  it("parses CONTRACT §6's example policy unchanged", () => {
    // Act
    const parsed = parseOrThrow(slaPolicySchema, EXAMPLE_POLICY_JSON, 'SLA policy');

    // Assert
    expect(parsed).toEqual(EXAMPLE_POLICY_JSON);
  });

  it('accepts an empty escalation and an empty dwellSeconds', () => {
    // Act
    const parsed = parseOrThrow(slaPolicySchema, { dwellSeconds: {}, escalation: [] }, 'SLA policy');

    // Assert
    expect(parsed).toEqual({ dwellSeconds: {}, escalation: [] });
  });

  it('rejects an unknown status key in dwellSeconds, naming dwellSeconds and the key', () => {
    // Act
    const err = expectPolicyInvalid({ dwellSeconds: { created: 60, stuck_forever: 60 }, escalation: [] }, 'dwellSeconds');

    // Assert
    expect(err.message).toContain('"stuck_forever"');
  });

  it.each([
    ['zero', 0],
    ['negative', -5],
    ['fractional', 1.5],
  ])('rejects a %s dwellSeconds value, naming dwellSeconds.<status>', (_label, value) => {
    // Act + Assert
    expectPolicyInvalid({ dwellSeconds: { packed: value }, escalation: [] }, 'dwellSeconds.packed');
  });

  it('rejects a number listed twice in one level, naming it (CONTRACT §6: escalation[1].to[1])', () => {
    const err = expectPolicyInvalid(
      withLevels([
        { afterSeconds: 0, notify: 'dispatch' },
        { afterSeconds: 900, notify: 'sms', to: ['+15550100001', '+15550100001'] },
      ]),
      'escalation[1].to[1]',
    );
    expect(err.message).toContain('listed twice');
    // The same number on two levels is two texts at two times: allowed.
    parseOrThrow(
      slaPolicySchema,
      withLevels([
        { afterSeconds: 0, notify: 'sms', to: ['+15550100001'] },
        { afterSeconds: 900, notify: 'sms', to: ['+15550100001', '+15550100002'] },
      ]),
      'SLA policy',
    );
  });

  it('rejects a stray field on a level, such as numbers on a dispatch level', () => {
    const err = expectPolicyInvalid(withLevels([{ afterSeconds: 0, notify: 'dispatch', to: ['+15550100001'] }]), 'escalation[0]');
    expect(err.message).toContain('to');
  });

  it('accepts a dwell of exactly 1 second', () => {
    // Act
    const parsed = parseOrThrow(slaPolicySchema, { dwellSeconds: { packed: 1 }, escalation: [] }, 'SLA policy');

    // Assert
    expect(parsed.dwellSeconds.packed).toBe(1);
  });

  it('rejects an sms level without to, naming escalation[i].to', () => {
    // Act + Assert
    expectPolicyInvalid(
      withLevels([
        { afterSeconds: 0, notify: 'dispatch' },
        { afterSeconds: 60, notify: 'sms' },
      ]),
      'escalation[1].to',
    );
  });

  it('rejects an sms level with an empty to, naming escalation[i].to', () => {
    // Act
    const err = expectPolicyInvalid(
      withLevels([
        { afterSeconds: 0, notify: 'dispatch' },
        { afterSeconds: 60, notify: 'sms', to: [] },
      ]),
      'escalation[1].to',
    );

    // Assert
    expect(err.message).toContain('at least one number');
  });

  it.each(['5550100001', '+0555010000', '+1555', '+1555010000123456', '+1-555-010-0001', ''])(
    'rejects the non-E.164 number %j, naming escalation[i].to[j]',
    (bad) => {
      // Act + Assert
      expectPolicyInvalid(
        withLevels([
          { afterSeconds: 0, notify: 'dispatch' },
          { afterSeconds: 60, notify: 'sms', to: ['+15550100001', bad] },
        ]),
        'escalation[1].to[1]',
      );
    },
  );

  it('rejects a level with more than 10 numbers', () => {
    // Arrange
    const eleven = Array.from({ length: 11 }, (_, i) => `+1555010${String(i).padStart(4, '0')}`);

    // Act + Assert
    expectPolicyInvalid(withLevels([{ afterSeconds: 0, notify: 'sms', to: eleven }]), 'escalation[0].to');
  });

  it.each(['email', 'SMS', '', 'pager'])('rejects notify %j, naming escalation[i].notify', (notify) => {
    // Act + Assert
    expectPolicyInvalid(withLevels([{ afterSeconds: 0, notify }]), 'escalation[0].notify');
  });

  it.each([
    ['negative', -1],
    ['fractional', 0.5],
  ])('rejects a %s afterSeconds', (_label, afterSeconds) => {
    // Act + Assert
    expectPolicyInvalid(withLevels([{ afterSeconds, notify: 'dispatch' }]), 'escalation[0].afterSeconds');
  });

  it('rejects levels out of afterSeconds order, naming the first level that goes back', () => {
    // Act
    const err = expectPolicyInvalid(
      withLevels([
        { afterSeconds: 0, notify: 'dispatch' },
        { afterSeconds: 900, notify: 'dispatch' },
        { afterSeconds: 600, notify: 'sms', to: ['+15550100001'] },
      ]),
      'escalation[2].afterSeconds',
    );

    // Assert
    expect(err.message).toContain('in order of afterSeconds');
  });

  it('accepts levels with equal afterSeconds', () => {
    // Act
    const parsed = parseOrThrow(
      slaPolicySchema,
      withLevels([
        { afterSeconds: 600, notify: 'dispatch' },
        { afterSeconds: 600, notify: 'dispatch' },
      ]),
      'SLA policy',
    );

    // Assert
    expect(parsed.escalation).toHaveLength(2);
  });

  it('rejects extra top-level keys (strict)', () => {
    // Act
    const err = expectPolicyInvalid({ dwellSeconds: {}, escalation: [], quietHours: true }, '(root)');

    // Assert
    expect(err.message).toContain('quietHours');
  });

  it.each(['__proto__', 'constructor', 'prototype'])(
    'refuses the key %s wherever the policy takes keys from the caller, naming the field; stores nothing of it',
    (key) => {
      // Bodies are parsed with JSON.parse, which makes `__proto__` an own key (zod's records alone would drop it silently).
      const dwell = JSON.parse(`{"dwellSeconds":{"created":60,"${key}":5},"escalation":[]}`) as unknown;
      const err = expectPolicyInvalid(dwell, `dwellSeconds.${key}`);
      expect(err.message).toContain(key);
      // With an object under the key too (what would replace a prototype).
      expectPolicyInvalid(JSON.parse(`{"dwellSeconds":{"${key}":{"created":1}},"escalation":[]}`), `dwellSeconds.${key}`);
      // At the top level and on a level, the strict objects refuse it like any unknown key.
      expect(expectPolicyInvalid(JSON.parse(`{"dwellSeconds":{},"escalation":[],"${key}":{"created":1}}`), '(root)').message).toContain(key);
      const level = JSON.parse(`{"dwellSeconds":{},"escalation":[{"afterSeconds":0,"notify":"dispatch","${key}":1}]}`) as unknown;
      expect(expectPolicyInvalid(level, 'escalation[0]').message).toContain(key);
      expect(({} as Record<string, unknown>).created).toBeUndefined();
    },
  );

  it.each([
    ['dwellSeconds', { escalation: [] }],
    ['escalation', { dwellSeconds: {} }],
  ])('rejects a policy without %s', (field, value) => {
    // Act + Assert
    expectPolicyInvalid(value, field);
  });

  it(`accepts exactly ${MAX_ESCALATION_LEVELS} levels and rejects ${MAX_ESCALATION_LEVELS + 1}`, () => {
    // Arrange
    const levels = (n: number): unknown[] => Array.from({ length: n }, (_, i) => ({ afterSeconds: i * 60, notify: 'dispatch' }));

    // Act
    const ten = parseOrThrow(slaPolicySchema, withLevels(levels(MAX_ESCALATION_LEVELS)), 'SLA policy');

    // Assert
    expect(MAX_ESCALATION_LEVELS).toBe(10);
    expect(ten.escalation).toHaveLength(10);
    expectPolicyInvalid(withLevels(levels(MAX_ESCALATION_LEVELS + 1)), 'escalation');
  });
});

// ---------------------------------------------------------------- 2. dueAtFor

describe('dueAtFor', () => {
  it('is null for a status with no limit', () => {
    // Act + Assert
    expect(dueAtFor(EXAMPLE, 'delivered', T0)).toBeNull();
    expect(dueAtFor(EXAMPLE, 'in_transit', T0)).toBeNull();
  });

  it('is statusSince + dwellSeconds exactly', () => {
    // Act + Assert
    expect(dueAtFor(EXAMPLE, 'created', T0)).toBe(iso(7200));
    expect(dueAtFor(EXAMPLE, 'packed', iso(12.345))).toBe(iso(12.345 + 3600));
    expect(dueAtFor(EXAMPLE, 'out_for_delivery', T0)).toBe(iso(OFD_LIMIT));
  });

  it('reads a statusSince with an offset as the instant it names', () => {
    // Act: 10:00+02:00 is T0 (08:00Z)
    const due = dueAtFor(EXAMPLE, 'packed', '2024-05-01T10:00:00+02:00');

    // Assert
    expect(due).toBe(iso(3600));
  });
});

// ---------------------------------------------------------------- 3. opening an alert

describe('shouldOpenAlert / planOpenAlert: when', () => {
  it('is not due one ms before the limit and due at the limit exactly', () => {
    // Arrange
    const head = makeHead();

    // Act + Assert
    expect(shouldOpenAlert(head, EXAMPLE, justBefore(OFD_LIMIT))).toBe(false);
    expect(planOpenAlert(head, EXAMPLE, justBefore(OFD_LIMIT))).toBeNull();
    expect(shouldOpenAlert(head, EXAMPLE, at(OFD_LIMIT))).toBe(true);
    expect(planOpenAlert(head, EXAMPLE, at(OFD_LIMIT))).not.toBeNull();
  });

  it('never opens a second alert while the head has one', () => {
    // Arrange
    const head = makeHead({ openAlertId: 'al_existing', alertLevel: 1 });

    // Act + Assert
    for (const s of [OFD_LIMIT, OFD_LIMIT * 10, 365 * 86_400]) {
      expect(shouldOpenAlert(head, EXAMPLE, at(s))).toBe(false);
      expect(planOpenAlert(head, EXAMPLE, at(s))).toBeNull();
    }
  });

  it('never opens for a status with no limit', () => {
    // Arrange
    const head = makeHead({ status: 'delivered' });

    // Act + Assert
    expect(shouldOpenAlert(head, EXAMPLE, at(365 * 86_400))).toBe(false);
    expect(planOpenAlert(head, EXAMPLE, at(365 * 86_400))).toBeNull();
  });

  it('uses the limit of the current status only', () => {
    // Arrange: packed has 1h, created 2h
    const head = makeHead({ status: 'packed' });

    // Act + Assert
    expect(shouldOpenAlert(head, EXAMPLE, at(3600))).toBe(true);
    expect(shouldOpenAlert(makeHead({ status: 'created' }), EXAMPLE, at(3600))).toBe(false);
  });

  it('once opened, the head with its openAlertId does not open again', () => {
    // Arrange
    const { head } = openAt(EXAMPLE, at(OFD_LIMIT));

    // Act + Assert
    expect(planOpenAlert(head, EXAMPLE, at(OFD_LIMIT + 60))).toBeNull();
  });
});

describe('planOpenAlert: the alert id', () => {
  it('is deterministic: same tenant/order/statusSince gives the same id whatever the clock or policy', () => {
    // Act
    const a = openAt(EXAMPLE, at(OFD_LIMIT)).alert.alertId;
    const b = openAt(policy([]), at(OFD_LIMIT + 5000)).alert.alertId;

    // Assert
    expect(a).toBe(b);
    expect(a).toBe(alertIdFor(TENANT, 'ord-1', T0));
  });

  it('changes with the tenant, the order or the statusSince', () => {
    // Arrange
    const base = openAt(EXAMPLE, at(OFD_LIMIT)).alert.alertId;

    // Act
    const otherTenant = openAt(EXAMPLE, at(OFD_LIMIT), makeHead({ tenant: 'globex' })).alert.alertId;
    const otherOrder = openAt(EXAMPLE, at(OFD_LIMIT), makeHead({ orderId: 'ord-2' })).alert.alertId;
    const otherStay = openAt(EXAMPLE, at(OFD_LIMIT + 1), makeHead({ statusSince: iso(1) })).alert.alertId;

    // Assert
    expect(new Set([base, otherTenant, otherOrder, otherStay]).size).toBe(4);
  });

  it('starts with al_ and is at most 128 characters, for any ids', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 128 }),
        fc.string({ minLength: 1, maxLength: 128 }),
        fc.integer({ min: 0, max: 10 ** 9 }),
        (tenant, orderId, s) => {
          const id = alertIdFor(tenant, orderId, iso(s));
          expect(id.startsWith('al_')).toBe(true);
          expect(id.length).toBeLessThanOrEqual(128);
          expect(id).toMatch(/^al_[A-Za-z0-9_-]+$/);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('planOpenAlert: what it writes', () => {
  it('fires a dispatch level 1 with afterSeconds 0 at once, and is due again at the next level', () => {
    // Arrange
    const now = at(OFD_LIMIT + 30);

    // Act
    const plan = present(planOpenAlert(makeHead(), EXAMPLE, now), 'an open plan');

    // Assert
    const write = openWriteOf(plan);
    expect(write.alert).toEqual({
      alertId: alertIdFor(TENANT, 'ord-1', T0),
      tenant: TENANT,
      orderId: 'ord-1',
      retailerId: 'ret-A',
      status: 'out_for_delivery',
      statusSince: T0,
      state: 'open',
      level: 1,
      openedAt: now.toISOString(),
      escalation: EXAMPLE.escalation,
    });
    expect(write.outbox).toEqual([]);
    expect(plan.event).toEqual({
      orderId: 'ord-1',
      kind: 'alert',
      at: now.toISOString(),
      actor: { sub: 'sla', role: 'system' },
      alertId: write.alert.alertId,
      level: 1,
      state: 'open',
      status: 'out_for_delivery',
      stuckSeconds: OFD_LIMIT + 30,
    });
    expect(plan.change).toEqual({
      openAlertId: write.alert.alertId,
      alertLevel: 1,
      dueAt: iso(OFD_LIMIT + 30 + 900),
    });
    expect(plan.followUp).toBeUndefined();
  });

  it('with an sms level 1 at once: one outbox entry per number and dueAt now (a crash before sending is retried)', () => {
    // Arrange
    const numbers = ['+15550100001', '+15550100002', '+442079460000'];
    const p = policy([
      { afterSeconds: 0, notify: 'sms', to: numbers },
      { afterSeconds: 600, notify: 'dispatch' },
    ]);
    const now = at(OFD_LIMIT + 125);

    // Act
    const plan = present(planOpenAlert(makeHead(), p, now), 'an open plan');

    // Assert
    const write = openWriteOf(plan);
    const text = smsText(write.alert, 1, now);
    expect(write.alert.level).toBe(1);
    expect(write.outbox).toEqual(numbers.map((to, index) => ({ level: 1, index, to, text })));
    expect(text).toBe(
      'Waypost alert, level 1: order ord-1 stuck in out for delivery for 4h 02m. Acknowledge in the dispatch console.',
    );
    expect(alertEventOf(plan.event)).toMatchObject({ level: 1, state: 'open' });
    expect(plan.change).toEqual({ openAlertId: write.alert.alertId, alertLevel: 1, dueAt: now.toISOString() });
  });

  it('with level 1 later than 0: opens at level 0, nothing sent, due when level 1 is', () => {
    // Arrange
    const p = policy([
      { afterSeconds: 600, notify: 'sms', to: ['+15550100001'] },
      { afterSeconds: 1200, notify: 'dispatch' },
    ]);
    const now = at(OFD_LIMIT);

    // Act
    const plan = present(planOpenAlert(makeHead(), p, now), 'an open plan');

    // Assert
    const write = openWriteOf(plan);
    expect(write.alert).toMatchObject({ state: 'open', level: 0, openedAt: now.toISOString() });
    expect(write.outbox).toEqual([]);
    expect(alertEventOf(plan.event)).toMatchObject({ state: 'open', level: 0 });
    expect(plan.change).toEqual({ openAlertId: write.alert.alertId, alertLevel: 0, dueAt: iso(OFD_LIMIT + 600) });
  });

  it('with a single dispatch level at once: dueAt null, nothing more can fire', () => {
    // Arrange
    const p = policy([{ afterSeconds: 0, notify: 'dispatch' }]);

    // Act
    const plan = present(planOpenAlert(makeHead(), p, at(OFD_LIMIT)), 'an open plan');

    // Assert
    expect(openWriteOf(plan).alert.level).toBe(1);
    expect(plan.change.dueAt).toBeNull();
    expect(plan.change.alertLevel).toBe(1);
  });

  it('with an empty escalation: opens at level 0 with dueAt null', () => {
    // Arrange
    const p = policy([]);

    // Act
    const plan = present(planOpenAlert(makeHead(), p, at(OFD_LIMIT)), 'an open plan');

    // Assert
    const write = openWriteOf(plan);
    expect(write.alert).toMatchObject({ state: 'open', level: 0, escalation: [] });
    expect(write.outbox).toEqual([]);
    expect(alertEventOf(plan.event)).toMatchObject({ state: 'open', level: 0 });
    expect(plan.change).toEqual({ openAlertId: write.alert.alertId, alertLevel: 0, dueAt: null });
  });

  it('fires only level 1 at open even when level 2 is also at 0 (and stays due now)', () => {
    // Arrange
    const p = policy([
      { afterSeconds: 0, notify: 'dispatch' },
      { afterSeconds: 0, notify: 'sms', to: ['+15550100001'] },
    ]);
    const now = at(OFD_LIMIT);

    // Act
    const plan = present(planOpenAlert(makeHead(), p, now), 'an open plan');

    // Assert
    const write = openWriteOf(plan);
    expect(write.alert.level).toBe(1);
    expect(write.outbox).toEqual([]);
    expect(plan.change.dueAt).toBe(now.toISOString());
  });

  it('carries a snapshot of the policy escalation, so later policies do not renumber it', () => {
    // Arrange
    const { alert, head } = openAt(EXAMPLE, at(OFD_LIMIT));

    // Act: fire level 2 from the alert's own escalation, whatever the tenant's current policy
    const fired = planFireLevel(head, alert, at(OFD_LIMIT + 900));

    // Assert
    expect(alert.escalation).toEqual(EXAMPLE.escalation);
    expect(updateWriteOf(present(fired, 'a fire plan')).outbox).toEqual([
      expect.objectContaining({ level: 2, to: '+15550100001' }),
    ]);
  });
});

// ---------------------------------------------------------------- 4. firing levels

describe('nextLevelToFire / planFireLevel', () => {
  /** Example policy, opened at the limit: level 1 fired, level 2 due at +900, level 3 at +2700. */
  const opened = (): { alert: Alert; head: OrderHead; openedAt: number } => {
    const o = openAt(EXAMPLE, at(OFD_LIMIT));
    return { alert: o.alert, head: o.head, openedAt: OFD_LIMIT };
  };

  it('fires the next level only once openedAt + afterSeconds <= now', () => {
    // Arrange
    const { alert, head, openedAt } = opened();

    // Act + Assert
    expect(nextLevelToFire(alert, justBefore(openedAt + 900))).toBeNull();
    expect(planFireLevel(head, alert, justBefore(openedAt + 900))).toBeNull();
    expect(nextLevelToFire(alert, at(openedAt + 900))).toBe(2);
    expect(planFireLevel(head, alert, at(openedAt + 900))).not.toBeNull();
  });

  it('fires one level per call, in order, when a late sweep finds several due', () => {
    // Arrange
    const { alert, head, openedAt } = opened();
    const late = at(openedAt + 5000);

    // Act
    const first = present(planFireLevel(head, alert, late), 'level 2');
    const afterFirst = applyUpdate(alert, updateWriteOf(first));
    const second = present(planFireLevel({ ...head, alertLevel: 2 }, afterFirst, late), 'level 3');
    const afterSecond = applyUpdate(afterFirst, updateWriteOf(second));

    // Assert
    expect(alertEventOf(first.event).level).toBe(2);
    expect(updateWriteOf(first).set).toEqual({ level: 2 });
    expect(alertEventOf(second.event).level).toBe(3);
    expect(updateWriteOf(second).set).toEqual({ level: 3 });
    expect(nextLevelToFire(afterSecond, late)).toBeNull();
    expect(planFireLevel({ ...head, alertLevel: 3 }, afterSecond, at(openedAt + 10 ** 6))).toBeNull();
  });

  it('writes op update with expectStates [open] and expectLevel the previous level', () => {
    // Arrange
    const { alert, head, openedAt } = opened();
    const now = at(openedAt + 900);

    // Act
    const plan = present(planFireLevel(head, alert, now), 'level 2');

    // Assert
    const write = updateWriteOf(plan);
    expect(write).toMatchObject({
      op: 'update',
      alertId: alert.alertId,
      expectStates: ['open'],
      expectLevel: 1,
      set: { level: 2 },
    });
    expect(plan.event).toEqual({
      orderId: 'ord-1',
      kind: 'alert',
      at: now.toISOString(),
      actor: { sub: 'sla', role: 'system' },
      alertId: alert.alertId,
      level: 2,
      state: 'open',
      status: 'out_for_delivery',
      stuckSeconds: openedAt + 900,
    });
  });

  it('a concurrent sweep that already fired the level makes the other write fail its condition', () => {
    // Arrange: two sweeps read the same alert at level 1
    const { alert, head, openedAt } = opened();
    const now = at(openedAt + 900);
    const sweepA = updateWriteOf(present(planFireLevel(head, alert, now), 'sweep A'));
    const sweepB = updateWriteOf(present(planFireLevel(head, alert, now), 'sweep B'));

    // Act: A lands first
    expect(conditionHolds(sweepA, alert)).toBe(true);
    const stored = applyUpdate(alert, sweepA);

    // Assert: B's condition no longer holds, so level 2 is not fired twice
    expect(stored.level).toBe(2);
    expect(conditionHolds(sweepB, stored)).toBe(false);
  });

  it('sms levels put one outbox entry per number, with that level, and stay due now', () => {
    // Arrange
    const numbers = ['+15550100001', '+15550100002'];
    const p = policy([
      { afterSeconds: 0, notify: 'dispatch' },
      { afterSeconds: 600, notify: 'sms', to: numbers },
      { afterSeconds: 1800, notify: 'dispatch' },
    ]);
    const { alert, head } = openAt(p, at(OFD_LIMIT));
    const now = at(OFD_LIMIT + 700);

    // Act
    const plan = present(planFireLevel(head, alert, now), 'level 2');

    // Assert
    const text = smsText(alert, 2, now);
    expect(text).toContain('level 2');
    expect(updateWriteOf(plan).outbox).toEqual([
      { level: 2, index: 0, to: numbers[0], text },
      { level: 2, index: 1, to: numbers[1], text },
    ]);
    expect(plan.change).toEqual({ alertLevel: 2, dueAt: now.toISOString() });
  });

  it('a dispatch level sends nothing and is due again at the next level, or never after the last', () => {
    // Arrange
    const p = policy([
      { afterSeconds: 300, notify: 'dispatch' },
      { afterSeconds: 600, notify: 'dispatch' },
    ]);
    const { alert, head } = openAt(p, at(OFD_LIMIT));

    // Act
    const one = present(planFireLevel(head, alert, at(OFD_LIMIT + 300)), 'level 1');
    const alert1 = applyUpdate(alert, updateWriteOf(one));
    const two = present(planFireLevel({ ...head, alertLevel: 1 }, alert1, at(OFD_LIMIT + 600)), 'level 2');

    // Assert
    expect(updateWriteOf(one)).toMatchObject({ expectLevel: 0, set: { level: 1 }, outbox: [] });
    expect(one.change).toEqual({ alertLevel: 1, dueAt: iso(OFD_LIMIT + 600) });
    expect(updateWriteOf(two)).toMatchObject({ expectLevel: 1, set: { level: 2 }, outbox: [] });
    expect(two.change).toEqual({ alertLevel: 2, dueAt: null });
    expect(nextAlertDueAt(applyUpdate(alert1, updateWriteOf(two)))).toBeNull();
  });

  it.each(['acknowledged', 'resolved'] as const)('never fires for an %s alert', (state) => {
    // Arrange
    const { alert, head, openedAt } = opened();
    const stopped: Alert = { ...alert, state };

    // Act + Assert
    expect(nextLevelToFire(stopped, at(openedAt + 10 ** 6))).toBeNull();
    expect(planFireLevel(head, stopped, at(openedAt + 10 ** 6))).toBeNull();
    expect(nextAlertDueAt(stopped)).toBeNull();
  });

  it('never fires when the head carries another alert, or none', () => {
    // Arrange
    const { alert, head, openedAt } = opened();
    const { openAlertId: _gone, alertLevel: _level, ...headWithout } = head;

    // Act + Assert
    expect(planFireLevel({ ...head, openAlertId: 'al_other' }, alert, at(openedAt + 5000))).toBeNull();
    expect(planFireLevel(headWithout, alert, at(openedAt + 5000))).toBeNull();
  });

  it('never fires past the last level', () => {
    // Arrange
    const { alert, openedAt } = opened();
    const last: Alert = { ...alert, level: 3 };

    // Act + Assert
    expect(nextLevelToFire(last, at(openedAt + 10 ** 7))).toBeNull();
  });
});

// ---------------------------------------------------------------- 5. acknowledging

describe('planAcknowledge', () => {
  const opened = (): { alert: Alert; head: OrderHead } => openAt(EXAMPLE, at(OFD_LIMIT));

  it.each([
    ['driver', driver1],
    ['retailer', retailerA],
  ])('forbids a %s', (_role, who) => {
    // Arrange
    const { alert, head } = opened();

    // Act
    const err = caught(() => planAcknowledge(who, head, alert, at(OFD_LIMIT + 60)));

    // Assert
    expect(err).toBeInstanceOf(ForbiddenError);
    expect((err as ForbiddenError).code).toBe('FORBIDDEN');
  });

  it('forbids a driver even when there is nothing left to acknowledge', () => {
    // Arrange
    const { alert, head } = opened();

    // Act
    const err = caught(() => planAcknowledge(driver1, head, { ...alert, state: 'resolved' }, at(OFD_LIMIT + 60)));

    // Assert
    expect(err).toBeInstanceOf(ForbiddenError);
  });

  it('acknowledges an open alert: event by the dispatcher, escalation stops, conditional write', () => {
    // Arrange
    const { alert, head } = opened();
    const now = at(OFD_LIMIT + 120);

    // Act
    const plan = present(planAcknowledge(dispatcher, head, alert, now), 'an ack plan');

    // Assert
    expect(plan.event).toEqual({
      orderId: 'ord-1',
      kind: 'alert',
      at: now.toISOString(),
      actor: { sub: 'disp-1', role: 'dispatcher' },
      alertId: alert.alertId,
      level: 1,
      state: 'acknowledged',
      status: 'out_for_delivery',
      stuckSeconds: OFD_LIMIT + 120,
    });
    expect(plan.change).toEqual({ dueAt: null });
    expect(plan.alert).toEqual({
      op: 'update',
      alertId: alert.alertId,
      expectStates: ['open'],
      set: { state: 'acknowledged', acknowledgedAt: now.toISOString(), acknowledgedBy: 'disp-1' },
      outbox: [],
    });
  });

  it.each(['acknowledged', 'resolved'] as const)('returns null for an alert already %s', (state) => {
    // Arrange
    const { alert, head } = opened();

    // Act
    const plan = planAcknowledge(dispatcher, head, { ...alert, state }, at(OFD_LIMIT + 60));

    // Assert
    expect(plan).toBeNull();
  });

  it('returns null when the head no longer carries that alert', () => {
    // Arrange
    const { alert, head } = opened();

    // Act
    const plan = planAcknowledge(dispatcher, { ...head, openAlertId: 'al_other' }, alert, at(OFD_LIMIT + 60));

    // Assert
    expect(plan).toBeNull();
  });

  it('between levels, stops every later level', () => {
    // Arrange: level 1 fired at open, level 2 due at +900
    const { alert, head } = opened();
    const ack = updateWriteOf(present(planAcknowledge(dispatcher, head, alert, at(OFD_LIMIT + 300)), 'an ack plan'));

    // Act
    const acked = applyUpdate(alert, ack);

    // Assert
    expect(acked).toMatchObject({ state: 'acknowledged', level: 1, acknowledgedBy: 'disp-1', acknowledgedAt: iso(OFD_LIMIT + 300) });
    expect(nextLevelToFire(acked, at(OFD_LIMIT + 900))).toBeNull();
    expect(nextLevelToFire(acked, at(OFD_LIMIT + 10 ** 6))).toBeNull();
    expect(planFireLevel(head, acked, at(OFD_LIMIT + 10 ** 6))).toBeNull();
    expect(nextAlertDueAt(acked)).toBeNull();
  });

  it('an ack racing a level: once the level has fired, the ack (expecting open) still applies', () => {
    // Arrange
    const { alert, head } = opened();
    const ack = updateWriteOf(present(planAcknowledge(dispatcher, head, alert, at(OFD_LIMIT + 900)), 'an ack plan'));
    const fire = updateWriteOf(present(planFireLevel(head, alert, at(OFD_LIMIT + 900)), 'level 2'));

    // Act: the ack lands first
    const stored = applyUpdate(alert, ack);

    // Assert: the level no longer fires
    expect(conditionHolds(ack, alert)).toBe(true);
    expect(conditionHolds(fire, stored)).toBe(false);
  });
});

// ---------------------------------------------------------------- 6. the status clock

describe('withStatusClock', () => {
  it('leaves a plan without a status change untouched', () => {
    // Arrange
    const head = makeHead({ openAlertId: 'al_x', alertLevel: 1, dueAt: iso(OFD_LIMIT + 900) });
    const progress = planCheckpoint(driver1, head, checkpoint('out_for_delivery'), iso(OFD_LIMIT + 10));
    const message = planMessage(driver1, head, { action: 'message', messageId: 'm-1', orderId: 'ord-1', text: 'hi' }, iso(10));

    // Act + Assert
    expect(withStatusClock(head, progress, EXAMPLE, at(OFD_LIMIT + 10))).toBe(progress);
    expect(withStatusClock(head, message, EXAMPLE, at(10))).toBe(message);
  });

  it('a status change sets dueAt to the new statusSince + the new status dwell', () => {
    // Arrange: created since T0 -> packed (1h limit)
    const head = makeHead({ status: 'created', pickedUpAt: undefined });
    const now = at(1800);
    const plan = planCheckpoint(dispatcher, head, checkpoint('packed'), now.toISOString());

    // Act
    const out = withStatusClock(head, plan, EXAMPLE, now);

    // Assert
    expect(out.change).toEqual({ ...plan.change, dueAt: iso(1800 + 3600) });
    expect(out.event).toBe(plan.event);
    expect(out.followUp).toBeUndefined();
    expect(out.alert).toBeUndefined();
    expect(out.change.openAlertId).toBeUndefined();
  });

  it('a status change to a status with no limit sets dueAt null', () => {
    // Arrange
    const head = makeHead();
    const now = at(600);
    const plan = planCheckpoint(driver1, head, checkpoint('delivered'), now.toISOString());

    // Act
    const out = withStatusClock(head, plan, EXAMPLE, now);

    // Assert
    expect(out.change.status).toBe('delivered');
    expect(out.change.dueAt).toBeNull();
  });

  it('uses now when the change has a status but no statusSince', () => {
    // Arrange
    const head = makeHead({ status: 'created' });
    const message = planMessage(dispatcher, head, { action: 'message', messageId: 'm-1', orderId: 'ord-1', text: 'hi' }, iso(100));
    const plan: Append = { event: message.event, change: { status: 'packed' } };

    // Act
    const out = withStatusClock(head, plan, EXAMPLE, at(100));

    // Assert
    expect(out.change.dueAt).toBe(iso(100 + 3600));
  });

  it("counts the new stay from the change's own statusSince when it has one", () => {
    // Arrange
    const head = makeHead({ status: 'created' });
    const message = planMessage(dispatcher, head, { action: 'message', messageId: 'm-1', orderId: 'ord-1', text: 'hi' }, iso(100));
    const plan: Append = { event: message.event, change: { status: 'packed', statusSince: iso(50) } };

    // Act
    const out = withStatusClock(head, plan, EXAMPLE, at(100));

    // Assert
    expect(out.change.dueAt).toBe(iso(50 + 3600));
  });

  it('resolves the open alert of the old stay in the same write', () => {
    // Arrange: alert at level 2 of the out_for_delivery stay
    const opened = openAt(EXAMPLE, at(OFD_LIMIT));
    const head: OrderHead = { ...opened.head, alertLevel: 2, dueAt: iso(OFD_LIMIT + 2700) };
    const now = at(OFD_LIMIT + 1000.5);
    const plan = planCheckpoint(driver1, head, checkpoint('attempt_failed'), now.toISOString());

    // Act
    const out = withStatusClock(head, plan, EXAMPLE, now);

    // Assert
    expect(out.event).toBe(plan.event);
    expect(out.followUp).toEqual({
      orderId: 'ord-1',
      kind: 'alert',
      at: now.toISOString(),
      actor: { sub: 'sla', role: 'system' },
      alertId: opened.alert.alertId,
      level: 2,
      state: 'resolved',
      status: 'out_for_delivery',
      stuckSeconds: OFD_LIMIT + 1000,
    });
    expect(out.change).toEqual({
      ...plan.change,
      status: 'attempt_failed',
      dueAt: null,
      openAlertId: null,
      alertLevel: null,
    });
    expect(out.alert).toEqual({
      op: 'update',
      alertId: opened.alert.alertId,
      expectStates: ['open', 'acknowledged'],
      set: { state: 'resolved', resolvedAt: now.toISOString() },
      outbox: [],
    });
  });

  it('resolves an acknowledged alert too, and the new stay gets its own due time', () => {
    // Arrange: packed since T0 with an acknowledged alert, moving to picked_up under a policy limiting it
    const p = policy([{ afterSeconds: 0, notify: 'dispatch' }], { packed: 3600, picked_up: 7200 });
    const head = makeHead({ status: 'packed', pickedUpAt: undefined, openAlertId: 'al_acked', alertLevel: 1 });
    const now = at(5000);
    const plan = planCheckpoint(driver1, head, checkpoint('picked_up'), now.toISOString());

    // Act
    const out = withStatusClock(head, plan, p, now);

    // Assert
    expect(out.change).toMatchObject({ status: 'picked_up', dueAt: iso(5000 + 7200), openAlertId: null, alertLevel: null });
    expect(updateWriteOf(out).expectStates).toEqual(['open', 'acknowledged']);
    expect(alertEventOf(out.followUp)).toMatchObject({ alertId: 'al_acked', state: 'resolved', status: 'packed', level: 1 });
  });

  it('resolving before the first level fired reports level 0', () => {
    // Arrange: level 1 only after 10 minutes, so the alert opened at level 0
    const p = policy([{ afterSeconds: 600, notify: 'dispatch' }]);
    const opened = openAt(p, at(OFD_LIMIT));
    const now = at(OFD_LIMIT + 60);
    const plan = planCheckpoint(driver1, opened.head, checkpoint('exception'), now.toISOString());

    // Act
    const out = withStatusClock(opened.head, plan, p, now);

    // Assert
    expect(opened.head.alertLevel).toBe(0);
    expect(alertEventOf(out.followUp)).toMatchObject({ state: 'resolved', level: 0, stuckSeconds: OFD_LIMIT + 60 });
  });

  it('reports level 0 when the head has an alert but no alertLevel recorded', () => {
    // Arrange
    const head = makeHead({ openAlertId: 'al_legacy' });
    const now = at(OFD_LIMIT + 60);
    const plan = planCheckpoint(driver1, head, checkpoint('delivered'), now.toISOString());

    // Act
    const out = withStatusClock(head, plan, EXAMPLE, now);

    // Assert
    expect(alertEventOf(out.followUp)).toMatchObject({ alertId: 'al_legacy', state: 'resolved', level: 0 });
  });
});

// ---------------------------------------------------------------- 7. text and views

describe('smsText / formatDuration', () => {
  it('names the order, the status with spaces, the time stuck and the level', () => {
    // Arrange
    const alert = { orderId: 'ord-77', status: 'out_for_delivery' as const, statusSince: T0 };

    // Act
    const text = smsText(alert, 3, at(4 * HOUR + 5 * 60 + 30));

    // Assert
    expect(text).toContain('ord-77');
    expect(text).toContain('out for delivery');
    expect(text).not.toContain('out_for_delivery');
    expect(text).toContain('4h 05m');
    expect(text).toContain('level 3');
    expect(text).toBe('Waypost alert, level 3: order ord-77 stuck in out for delivery for 4h 05m. Acknowledge in the dispatch console.');
  });

  it('cleans and shortens the order id: no control, format or separator characters, at most 24 code points', () => {
    const text = (orderId: string) => smsText({ orderId, status: 'packed', statusSince: T0 }, 1, at(60));
    const ofId = (orderId: string) => /order (.*) stuck in/su.exec(text(orderId))?.[1];
    // A newline and a URL: one line, no line break left to start a fake second message.
    expect(ofId('o1\nCall +1555 now: https://evil.example/x')).toBe('o1 Call +155…l.example/x');
    expect(text('a\r\nb')).not.toMatch(/[\r\n]/u);
    // Bidi override, zero-width space, line and paragraph separators, NUL, DEL, C1.
    expect(ofId('ab\u202Edc\u200Bx\u2028y\u2029z\u0000\u007F\u0085w')).toBe('ab dc x y z w');
    expect(text('\u202E\u2066')).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
    // 128 characters: the start and the end, 24 code points in all.
    const long = `ORD-${'x'.repeat(111)}-000123456789`;
    expect(long).toHaveLength(128);
    expect(ofId(long)).toBe(`ORD-${'x'.repeat(8)}…00123456789`);
    expect([...ofId(long)!]).toHaveLength(24);
    // Emoji are whole code points: never half a surrogate pair.
    const emoji = ofId('📦'.repeat(30))!;
    expect([...emoji]).toHaveLength(24);
    expect(emoji).toMatch(/^(?:📦)+…(?:📦)+$/u);
    // Only what cleaning removes: a placeholder, never an empty name.
    expect(ofId('\u200B\u200B')).toBe('?');
    expect(ofId('ord-77')).toBe('ord-77');
  });

  it.each([
    [0, '0s'],
    [45, '45s'],
    [45.9, '45s'],
    [59, '59s'],
    [60, '1m 00s'],
    [750, '12m 30s'],
    [3599, '59m 59s'],
    [3600, '1h 00m'],
    [3900, '1h 05m'],
    [3959, '1h 05m'],
    [86_399, '23h 59m'],
    [86_400, '1d 0h'],
    [2 * 86_400 + 3 * 3600, '2d 3h'],
    [2 * 86_400 + 3 * 3600 + 3599, '2d 3h'],
    [-5, '0s'],
  ])('formats %s seconds as %j', (seconds, expected) => {
    // Act + Assert
    expect(formatDuration(seconds)).toBe(expected);
  });
});

describe('alertView', () => {
  const smsPolicy = policy([
    { afterSeconds: 0, notify: 'sms', to: ['+15550100001', '+15550100002'] },
    { afterSeconds: 600, notify: 'sms', to: ['+15550100003'] },
  ]);

  it('never contains phone numbers', () => {
    // Arrange
    const { alert } = openAt(smsPolicy, at(OFD_LIMIT));
    const acked: Alert = { ...alert, state: 'acknowledged', acknowledgedAt: iso(OFD_LIMIT + 60), acknowledgedBy: 'disp-1' };

    // Act
    const views = [alertView(alert, at(OFD_LIMIT + 30)), alertView(acked, at(OFD_LIMIT + 90))];

    // Assert
    expect(JSON.stringify(alert)).toContain('+1555');
    for (const view of views) expect(JSON.stringify(view)).not.toContain('+1555');
    expect(views[0]).toEqual({
      alertId: alert.alertId,
      orderId: 'ord-1',
      retailerId: 'ret-A',
      status: 'out_for_delivery',
      statusSince: T0,
      state: 'open',
      level: 1,
      levels: 2,
      openedAt: iso(OFD_LIMIT),
      stuckSeconds: OFD_LIMIT + 30,
    });
    expect(views[1]).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'disp-1', acknowledgedAt: iso(OFD_LIMIT + 60) });
  });

  it('counts stuckSeconds up to now while unresolved and up to resolvedAt once resolved', () => {
    // Arrange
    const { alert } = openAt(smsPolicy, at(OFD_LIMIT));
    const resolved: Alert = { ...alert, state: 'resolved', resolvedAt: iso(OFD_LIMIT + 500) };

    // Act
    const open = alertView(alert, at(OFD_LIMIT + 200));
    const done = alertView(resolved, at(OFD_LIMIT + 99_999));

    // Assert
    expect(open.stuckSeconds).toBe(OFD_LIMIT + 200);
    expect(done.stuckSeconds).toBe(OFD_LIMIT + 500);
    expect(done).toMatchObject({ state: 'resolved', resolvedAt: iso(OFD_LIMIT + 500) });
  });
});

// ---------------------------------------------------------------- 8. due shards

describe('dueShardOf', () => {
  const shardIndex = (shard: string): number => {
    expect(shard).toMatch(/^\d+$/);
    return Number(shard);
  };

  it('is stable and always within 0..DUE_SHARDS-1', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), fc.string({ minLength: 1, maxLength: 128 }), (tenant, orderId) => {
        const shard = dueShardOf(tenant, orderId);
        expect(dueShardOf(tenant, orderId)).toBe(shard);
        const n = shardIndex(shard);
        expect(Number.isInteger(n)).toBe(true);
        expect(n).toBeGreaterThanOrEqual(0);
        expect(n).toBeLessThan(DUE_SHARDS);
      }),
      { numRuns: 300 },
    );
  });

  it('spreads: 1,000 random order ids of one tenant hit every shard', () => {
    // Arrange
    const orderIds = fc.sample(fc.uuid(), { numRuns: 1000, seed: 20240501 });

    // Act
    const hits = new Map<number, number>();
    for (const id of orderIds) {
      const n = shardIndex(dueShardOf(TENANT, id));
      hits.set(n, (hits.get(n) ?? 0) + 1);
    }

    // Assert
    expect([...hits.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: DUE_SHARDS }, (_, i) => i));
    for (const count of hits.values()) expect(count).toBeGreaterThan(1000 / DUE_SHARDS / 2);
  });
});
