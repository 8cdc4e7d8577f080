/**
 * The SLA sweep's step function (`nextSlaStep`), with no database: every
 * kind of step, its boundaries (due exactly now, a millisecond early), the
 * owed-SMS rule (an alert that owes SMS keeps its order due), and properties
 * over random heads, alerts and clocks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OrderHead } from '../../shared/domain/model';
import {
  alertIdFor,
  dueAtFor,
  levelDueAt,
  newAlert,
  nextSlaStep,
  planFireLevel,
  planOpenAlert,
  type Alert,
  type SlaPolicy,
  type SlaStep,
} from '../../shared/domain/sla';
import { makeHead, T0 } from './fixtures';

const T0_MS = Date.parse(T0);
const at = (seconds: number) => new Date(T0_MS + seconds * 1000);
const iso = (seconds: number) => at(seconds).toISOString();

const POLICY: SlaPolicy = {
  dwellSeconds: { out_for_delivery: 600 },
  escalation: [
    { afterSeconds: 0, notify: 'dispatch' },
    { afterSeconds: 300, notify: 'sms', to: ['+15550100001'] },
    { afterSeconds: 900, notify: 'sms', to: ['+15550100002', '+15550100003'] },
  ],
};

/** A stay that began at T0 and is due at 600 s, with no alert yet. */
const stalled = (overrides: Partial<OrderHead> = {}) => makeHead({ dueAt: iso(600), ...overrides });

/** The head and alert of a stay whose alert opened at 600 s and has fired `level` levels; the head due at `dueAt` seconds. */
function alerted(level: number, dueAt: number, alertOverrides: Partial<Alert> = {}): { head: OrderHead; alert: Alert } {
  const opened = newAlert(stalled(), POLICY, at(600));
  const alert: Alert = { ...opened, level, ...alertOverrides };
  const head = stalled({ openAlertId: alert.alertId, alertLevel: level, dueAt: iso(dueAt) });
  return { head, alert };
}

describe('nextSlaStep: nothing to do', () => {
  it('is done when the order is gone, whatever else it is given', () => {
    const { alert } = alerted(1, 900);
    expect(nextSlaStep(null, null, POLICY, at(5000))).toEqual({ kind: 'done', reason: 'gone' });
    expect(nextSlaStep(null, alert, POLICY, at(5000), 3)).toEqual({ kind: 'done', reason: 'gone' });
  });

  it('is done when the order has no clock, or its clock has not run out (to the millisecond)', () => {
    expect(nextSlaStep(makeHead(), null, POLICY, at(5000))).toEqual({ kind: 'done', reason: 'not-due' });
    expect(nextSlaStep(stalled(), null, POLICY, new Date(at(600).getTime() - 1))).toEqual({ kind: 'done', reason: 'not-due' });
    const { head, alert } = alerted(1, 900);
    expect(nextSlaStep(head, alert, POLICY, at(899))).toEqual({ kind: 'done', reason: 'not-due' });
    // Not due: no need to know about owed SMS (an order that owes some stays due).
    expect(nextSlaStep(head, alert, POLICY, at(899), 2)).toEqual({ kind: 'done', reason: 'not-due' });
  });
});

describe('nextSlaStep: opening', () => {
  it('opens the alert of a stay due exactly now, with the plan planOpenAlert makes (level 1 fired at once)', () => {
    const head = stalled();
    const step = nextSlaStep(head, null, POLICY, at(600));
    expect(step).toEqual({ kind: 'open', plan: planOpenAlert(head, POLICY, at(600)) });
    if (step.kind !== 'open') throw new Error('unreachable');
    expect(step.plan.alert).toMatchObject({ op: 'open', alert: { alertId: alertIdFor(head.tenant, head.orderId, T0), level: 1 }, outbox: [] });
    // Level 2 is 300 s after opening: that is when the order is due next.
    expect(step.plan.change).toMatchObject({ openAlertId: alertIdFor(head.tenant, head.orderId, T0), alertLevel: 1, dueAt: iso(900) });
  });

  it('keeps the order due when opening writes SMS (level 1 is an SMS due at once)', () => {
    const smsFirst: SlaPolicy = { ...POLICY, escalation: [{ afterSeconds: 0, notify: 'sms', to: ['+15550100009'] }] };
    const step = nextSlaStep(stalled(), null, smsFirst, at(700));
    expect(step.kind).toBe('open');
    if (step.kind !== 'open') throw new Error('unreachable');
    expect(step.plan.alert).toMatchObject({ op: 'open', outbox: [{ level: 1, index: 0, to: '+15550100009' }] });
    expect(step.plan.change.dueAt).toBe(iso(700));
  });

  it('moves the clock instead when the policy in force now does not make the stay due (yet), guarded by the stay', () => {
    const longer: SlaPolicy = { ...POLICY, dwellSeconds: { out_for_delivery: 3600 } };
    expect(nextSlaStep(stalled(), null, longer, at(700))).toEqual({ kind: 'reschedule', dueAt: iso(3600), guard: { statusSince: T0 } });
    const none: SlaPolicy = { ...POLICY, dwellSeconds: {} };
    expect(nextSlaStep(stalled(), null, none, at(700))).toEqual({ kind: 'reschedule', dueAt: null, guard: { statusSince: T0 } });
    expect(dueAtFor(longer, 'out_for_delivery', T0)).toBe(iso(3600));
  });
});

describe('nextSlaStep: firing', () => {
  it('fires the next level once it is due (to the millisecond), with the plan planFireLevel makes', () => {
    const { head, alert } = alerted(1, 900);
    expect(levelDueAt(alert, 2)).toBe(iso(900));
    const step = nextSlaStep(head, alert, POLICY, at(900));
    expect(step).toEqual({ kind: 'fire', level: 2, plan: planFireLevel(head, alert, at(900)) });
    if (step.kind !== 'fire') throw new Error('unreachable');
    // Conditional on the level it was decided on; its SMS written in the same write; the order stays due until they are sent.
    expect(step.plan.alert).toMatchObject({ op: 'update', expectStates: ['open'], expectLevel: 1, set: { level: 2 }, outbox: [{ level: 2, to: '+15550100001' }] });
    expect(step.plan.change).toEqual({ alertLevel: 2, dueAt: iso(900) });
    // A millisecond early (the order due since 800 s): nothing fires; with nothing owed, the clock moves to the level's time.
    const early = { ...head, dueAt: iso(800) };
    expect(nextSlaStep(early, alert, POLICY, new Date(at(900).getTime() - 1), 0)).toEqual({ kind: 'reschedule', dueAt: iso(900), guard: { alertId: alert.alertId } });
  });

  it('fires one level per step, in order, when a late sweep finds several due', () => {
    const late = at(5000);
    let { head, alert } = alerted(1, 900);
    const fired: number[] = [];
    for (let i = 0; i < 5; i++) {
      const step = nextSlaStep(head, alert, POLICY, late);
      if (step.kind !== 'fire') break;
      fired.push(step.level);
      alert = { ...alert, level: step.level };
      head = { ...head, alertLevel: step.level, dueAt: step.plan.change.dueAt ?? undefined, headSeq: head.headSeq + 1 };
    }
    expect(fired).toEqual([2, 3]);
    expect(nextSlaStep(head, alert, POLICY, late)).toEqual({ kind: 'read-owed', alertId: alert.alertId });
  });

  it('fires a due level even while lower levels still owe SMS (they are sent first, in level order)', () => {
    const { head, alert } = alerted(2, 900);
    expect(nextSlaStep(head, alert, POLICY, at(1500), 1)).toMatchObject({ kind: 'fire', level: 3 });
  });
});

describe('nextSlaStep: owed SMS and the clock after the last write', () => {
  it('asks for the owed SMS when nothing can fire, then sends them (the order stays due) or moves the clock to the next level', () => {
    const { head, alert } = alerted(2, 900);
    expect(nextSlaStep(head, alert, POLICY, at(1000))).toEqual({ kind: 'read-owed', alertId: alert.alertId });
    expect(nextSlaStep(head, alert, POLICY, at(1000), 1)).toEqual({ kind: 'send-owed', alertId: alert.alertId });
    expect(nextSlaStep(head, alert, POLICY, at(1000), 0)).toEqual({ kind: 'reschedule', dueAt: iso(1500), guard: { alertId: alert.alertId } });
  });

  it('takes the clock off once the last level has fired and nothing is owed', () => {
    const { head, alert } = alerted(3, 1500);
    expect(nextSlaStep(head, alert, POLICY, at(9000), 0)).toEqual({ kind: 'reschedule', dueAt: null, guard: { alertId: alert.alertId } });
    expect(nextSlaStep(head, alert, POLICY, at(9000), 2)).toEqual({ kind: 'send-owed', alertId: alert.alertId });
  });

  it('fires nothing for an acknowledged (or resolved) alert, still sends what it owes, then takes the clock off', () => {
    for (const state of ['acknowledged', 'resolved'] as const) {
      const { head, alert } = alerted(1, 900, { state });
      expect(nextSlaStep(head, alert, POLICY, at(5000))).toEqual({ kind: 'read-owed', alertId: alert.alertId });
      expect(nextSlaStep(head, alert, POLICY, at(5000), 1)).toEqual({ kind: 'send-owed', alertId: alert.alertId });
      expect(nextSlaStep(head, alert, POLICY, at(5000), 0)).toEqual({ kind: 'reschedule', dueAt: null, guard: { alertId: alert.alertId } });
    }
  });

  it('takes the clock off an order whose alert is not found', () => {
    const { head } = alerted(1, 900);
    expect(nextSlaStep(head, null, POLICY, at(5000))).toEqual({ kind: 'reschedule', dueAt: null, guard: { alertId: head.openAlertId } });
  });

  it('refuses an alert the head does not name', () => {
    const { head, alert } = alerted(1, 900);
    expect(() => nextSlaStep(head, { ...alert, alertId: 'al_other' }, POLICY, at(5000))).toThrow(RangeError);
    expect(() => nextSlaStep(stalled(), alert, POLICY, at(5000))).toThrow(RangeError);
  });
});

describe('nextSlaStep: properties', () => {
  const arbitrary = fc.record({
    hasHead: fc.boolean(),
    dueAt: fc.option(fc.integer({ min: 0, max: 4000 }), { nil: undefined }),
    alerted: fc.boolean(),
    alertFound: fc.boolean(),
    level: fc.integer({ min: 0, max: 3 }),
    state: fc.constantFrom('open', 'acknowledged', 'resolved' as const),
    dwell: fc.option(fc.integer({ min: 1, max: 4000 }), { nil: undefined }),
    now: fc.integer({ min: 0, max: 5000 }),
    owed: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
  });

  function stepOf(c: {
    hasHead: boolean;
    dueAt: number | undefined;
    alerted: boolean;
    alertFound: boolean;
    level: number;
    state: 'open' | 'acknowledged' | 'resolved';
    dwell: number | undefined;
    now: number;
    owed: number | null;
  }): { step: SlaStep; head: OrderHead | null; alert: Alert | null } {
    const policy: SlaPolicy = { ...POLICY, dwellSeconds: c.dwell === undefined ? {} : { out_for_delivery: c.dwell } };
    const { head: withAlert, alert: opened } = alerted(c.level, c.dueAt ?? 0, { state: c.state });
    const head = !c.hasHead ? null : c.alerted ? { ...withAlert, dueAt: c.dueAt === undefined ? undefined : iso(c.dueAt) } : stalled({ dueAt: c.dueAt === undefined ? undefined : iso(c.dueAt) });
    const alert = head !== null && c.alerted && c.alertFound ? opened : null;
    return { step: nextSlaStep(head, alert, policy, at(c.now), c.owed), head, alert };
  }

  it('is done exactly when the order is gone or not due; otherwise it acts', () => {
    fc.assert(
      fc.property(arbitrary, (c) => {
        const { step } = stepOf(c);
        const due = c.hasHead && c.dueAt !== undefined && c.dueAt <= c.now;
        expect(step.kind === 'done').toBe(!due);
      }),
    );
  });

  it('moves a clock only to later than now (or off), so a turn that reschedules ends', () => {
    fc.assert(
      fc.property(arbitrary, (c) => {
        const { step } = stepOf(c);
        if (step.kind === 'reschedule' && step.dueAt !== null) expect(Date.parse(step.dueAt)).toBeGreaterThan(at(c.now).getTime());
      }),
    );
  });

  it('fires only an open alert, one level above the one it read, and only a level that is due', () => {
    fc.assert(
      fc.property(arbitrary, (c) => {
        const { step, alert } = stepOf(c);
        if (step.kind !== 'fire') return;
        expect(alert?.state).toBe('open');
        expect(step.level).toBe((alert?.level ?? -1) + 1);
        expect(Date.parse(levelDueAt(alert!, step.level) ?? '')).toBeLessThanOrEqual(at(c.now).getTime());
      }),
    );
  });

  it('asks for owed SMS only when it was not told, sends them only when some are owed, and never moves the clock while some are', () => {
    fc.assert(
      fc.property(arbitrary, (c) => {
        const { step } = stepOf(c);
        if (step.kind === 'read-owed') expect(c.owed).toBeNull();
        if (step.kind === 'send-owed') expect(c.owed).toBeGreaterThan(0);
        if (step.kind === 'reschedule' && c.alerted && c.alertFound) expect(c.owed).toBe(0);
      }),
    );
  });

  it('opens only when the head has no alert and the policy in force makes its stay due', () => {
    fc.assert(
      fc.property(arbitrary, (c) => {
        const { step, head } = stepOf(c);
        if (step.kind !== 'open') return;
        expect(head?.openAlertId).toBeUndefined();
        expect(c.dwell !== undefined && c.dwell <= c.now).toBe(true);
      }),
    );
  });
});
