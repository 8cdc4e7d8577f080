/**
 * SLA policy and escalation (CONTRACT §6), as pure decisions: when a stay in
 * a status is due, which alert it opens, which level fires next, what an SMS
 * says. Storage applies them with conditional writes so that nothing fires
 * twice.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { formatDuration } from './durations';
import { ForbiddenError } from './errors';
import type { AlertEvent, OrderHead, Principal } from './model';
import type { Append, SmsOutboxEntry } from './orders';
import { phoneSchema, statusSchema, withSafeKeys } from './schemas';
import type { Status } from './statuses';

export const MAX_ESCALATION_LEVELS = 10;
export const MAX_SMS_RECIPIENTS = 10;
/** The due index is split over this many partitions so no sweep reads a hot key. */
export const DUE_SHARDS = 8;

const seconds = z.number().int('must be a whole number of seconds');

export const escalationLevelSchema = z.discriminatedUnion('notify', [
  z.object({ afterSeconds: seconds.min(0), notify: z.literal('dispatch') }).strict(),
  z
    .object({
      afterSeconds: seconds.min(0),
      notify: z.literal('sms'),
      to: z.array(phoneSchema).min(1, 'needs at least one number').max(MAX_SMS_RECIPIENTS),
    })
    .strict(),
]);
export type EscalationLevel = z.infer<typeof escalationLevelSchema>;

export const slaPolicySchema = z
  .object({
    // Keys come from the caller: refuse __proto__ & co. by name (zod's records would drop __proto__ silently).
    dwellSeconds: withSafeKeys(z.partialRecord(statusSchema, seconds.min(1, 'must be at least 1 second'))),
    escalation: z.array(escalationLevelSchema).max(MAX_ESCALATION_LEVELS),
  })
  .strict()
  .superRefine((policy, ctx) => {
    policy.escalation.forEach((level, i) => {
      const previous = policy.escalation[i - 1];
      if (previous !== undefined && level.afterSeconds < previous.afterSeconds) {
        ctx.addIssue({
          code: 'custom',
          path: ['escalation', i, 'afterSeconds'],
          message: 'levels must be in order of afterSeconds',
        });
      }
      // CONTRACT §6: a number listed twice in one level would be texted twice.
      if (level.notify === 'sms') {
        const seen = new Set<string>();
        level.to.forEach((number, j) => {
          if (seen.has(number)) {
            ctx.addIssue({ code: 'custom', path: ['escalation', i, 'to', j], message: 'is listed twice in this level' });
          }
          seen.add(number);
        });
      }
    });
  });
export type SlaPolicy = z.infer<typeof slaPolicySchema>;

/** The outcome of `parseSlaPolicyJson`: the policy, or why the text is none. */
export type SlaPolicyJsonResult =
  | { readonly ok: true; readonly policy: SlaPolicy }
  /** `detail`: the JSON parser's message. */
  | { readonly ok: false; readonly problem: 'json'; readonly detail: string }
  /** `detail`: the first issue, as `"<path>" <message>` (`(root)` for the whole policy). */
  | { readonly ok: false; readonly problem: 'policy'; readonly detail: string };

/**
 * A policy given as JSON text (a variable, a file, CDK context), checked as
 * a `PUT /api/sla-policy` checks it (`slaPolicySchema`). Never throws: each
 * caller names its own source in its own error.
 */
export function parseSlaPolicyJson(raw: string): SlaPolicyJsonResult {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return { ok: false, problem: 'json', detail: err instanceof Error ? err.message : String(err) };
  }
  const parsed = slaPolicySchema.safeParse(json);
  if (parsed.success) return { ok: true, policy: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, problem: 'policy', detail: `"${issue?.path.join('.') || '(root)'}" ${issue?.message ?? ''}` };
}

/** In force for a tenant that has set none (and no WAYPOST_SLA_POLICY): alert dispatch, no SMS. */
export const DEFAULT_SLA_POLICY: SlaPolicy = {
  dwellSeconds: {
    created: 4 * 3600,
    picking: 2 * 3600,
    packed: 4 * 3600,
    picked_up: 8 * 3600,
    in_transit: 24 * 3600,
    at_hub: 12 * 3600,
    out_for_delivery: 8 * 3600,
    attempt_failed: 4 * 3600,
    exception: 3600,
    returning: 72 * 3600,
  },
  escalation: [{ afterSeconds: 0, notify: 'dispatch' }],
};

export const ALERT_STATES = ['open', 'acknowledged', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

/** One alert: one stalled stay of one order in one status. */
export interface Alert {
  readonly alertId: string;
  readonly tenant: string;
  readonly orderId: string;
  readonly retailerId: string;
  /** The status the order was stuck in. */
  readonly status: Status;
  /** When that stay began. */
  readonly statusSince: string;
  readonly state: AlertState;
  /** The highest level fired (0: none yet). */
  readonly level: number;
  readonly openedAt: string;
  readonly acknowledgedAt?: string;
  readonly acknowledgedBy?: string;
  readonly resolvedAt?: string;
  /** The escalation in force when the alert opened: later policy edits do not renumber it. */
  readonly escalation: readonly EscalationLevel[];
}

/** The alert as callers see it: no phone numbers. */
export interface AlertView {
  alertId: string;
  orderId: string;
  retailerId: string;
  status: Status;
  statusSince: string;
  state: AlertState;
  level: number;
  levels: number;
  openedAt: string;
  acknowledgedAt?: string;
  acknowledgedBy?: string;
  resolvedAt?: string;
  stuckSeconds: number;
}

export function alertView(alert: Alert, now: Date): AlertView {
  const end = alert.resolvedAt !== undefined ? new Date(alert.resolvedAt) : now;
  return {
    alertId: alert.alertId,
    orderId: alert.orderId,
    retailerId: alert.retailerId,
    status: alert.status,
    statusSince: alert.statusSince,
    state: alert.state,
    level: alert.level,
    levels: alert.escalation.length,
    openedAt: alert.openedAt,
    ...(alert.acknowledgedAt !== undefined && { acknowledgedAt: alert.acknowledgedAt }),
    ...(alert.acknowledgedBy !== undefined && { acknowledgedBy: alert.acknowledgedBy }),
    ...(alert.resolvedAt !== undefined && { resolvedAt: alert.resolvedAt }),
    stuckSeconds: secondsBetween(alert.statusSince, end),
  };
}

export function secondsBetween(fromIso: string, to: Date): number {
  return Math.max(0, Math.floor((to.getTime() - Date.parse(fromIso)) / 1000));
}

/** When a stay in `status` that began at `since` stalls, or null if the status has no limit. */
export function dueAtFor(policy: SlaPolicy, status: Status, since: string): string | null {
  const limit = policy.dwellSeconds[status];
  return limit === undefined ? null : new Date(Date.parse(since) + limit * 1000).toISOString();
}

/** The due-index partition of an order: stable, spread evenly. */
export function dueShardOf(tenant: string, orderId: string): string {
  return String(createHash('sha256').update(`${tenant}\u0000${orderId}`).digest().readUInt32BE(0) % DUE_SHARDS);
}

/** One id per stay: a second sweep opening "the same" alert collides with the first. */
export function alertIdFor(tenant: string, orderId: string, statusSince: string): string {
  return `al_${createHash('sha256').update(`${tenant}\u0000${orderId}\u0000${statusSince}`).digest('base64url').slice(0, 22)}`;
}

/** When level `n` (1-based) of an alert is due. */
export function levelDueAt(alert: Pick<Alert, 'openedAt' | 'escalation'>, n: number): string | null {
  const level = alert.escalation[n - 1];
  return level === undefined ? null : new Date(Date.parse(alert.openedAt) + level.afterSeconds * 1000).toISOString();
}

/** Is the order's current stay past its limit, with no alert yet? */
export function shouldOpenAlert(head: OrderHead, policy: SlaPolicy, now: Date): boolean {
  if (head.openAlertId !== undefined) return false;
  const due = dueAtFor(policy, head.status, head.statusSince);
  return due !== null && Date.parse(due) <= now.getTime();
}

/** A new alert for the order's current stay; levels due at once (afterSeconds 0) are fired by the caller. */
export function newAlert(head: OrderHead, policy: SlaPolicy, now: Date): Alert {
  return {
    alertId: alertIdFor(head.tenant, head.orderId, head.statusSince),
    tenant: head.tenant,
    orderId: head.orderId,
    retailerId: head.retailerId,
    status: head.status,
    statusSince: head.statusSince,
    state: 'open',
    level: 0,
    openedAt: now.toISOString(),
    escalation: policy.escalation,
  };
}

/** The next level to fire now, or null: only open alerts escalate, one level at a time, in order. */
export function nextLevelToFire(alert: Alert, now: Date): number | null {
  if (alert.state !== 'open') return null;
  const next = alert.level + 1;
  const due = levelDueAt(alert, next);
  return due !== null && Date.parse(due) <= now.getTime() ? next : null;
}

/** When the sweep should look at this order next for its alert, or null when nothing more can fire. */
export function nextAlertDueAt(alert: Alert): string | null {
  return alert.state === 'open' ? levelDueAt(alert, alert.level + 1) : null;
}

export function alertEvent(
  alert: Alert,
  state: AlertState,
  level: number,
  now: Date,
  actor: AlertEvent['actor'] = { sub: 'sla', role: 'system' },
): Omit<AlertEvent, 'seq'> {
  return {
    orderId: alert.orderId,
    kind: 'alert',
    at: now.toISOString(),
    actor,
    alertId: alert.alertId,
    level,
    state,
    status: alert.status,
    stuckSeconds: secondsBetween(alert.statusSince, now),
  };
}

export function authorizeAlerts(p: Principal): void {
  if (p.role !== 'dispatcher') throw new ForbiddenError('Only dispatchers may see and acknowledge alerts.');
}

export { formatDuration };

/** The most characters (code points) of an id an SMS shows; a longer one keeps its start and end. */
export const SMS_ID_MAX_CHARS = 24;

/**
 * An id as an SMS may show it: no control, format or separator characters
 * (Unicode Cc, Cf, Zl, Zp: newlines, bidi overrides, zero-width joiners),
 * runs of white space as one space, and at most `SMS_ID_MAX_CHARS` code
 * points, cut in the middle (`ORD-2026-…-000123`) so ids that share a prefix
 * still differ. Code points, not UTF-16 units: an emoji is never split.
 * CONTRACT §6: the SMS "holds no control characters (ids are cleaned and
 * shortened in it)"; the console shows the whole id.
 */
export function smsId(id: string): string {
  const clean = [...id.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+/gu, ' ').replace(/\s+/gu, ' ').trim()];
  if (clean.length === 0) return '?';
  if (clean.length <= SMS_ID_MAX_CHARS) return clean.join('');
  const head = Math.ceil((SMS_ID_MAX_CHARS - 1) / 2);
  const tail = SMS_ID_MAX_CHARS - 1 - head;
  return `${clean.slice(0, head).join('')}…${clean.slice(clean.length - tail).join('')}`;
}

/** The SMS for a fired level: short, plain, and with the order (`smsId`), status, time stuck and level. */
export function smsText(alert: Pick<Alert, 'orderId' | 'status' | 'statusSince'>, level: number, now: Date): string {
  return `Waypost alert, level ${level}: order ${smsId(alert.orderId)} stuck in ${alert.status.replace(/_/g, ' ')} for ${formatDuration(
    secondsBetween(alert.statusSince, now),
  )}. Acknowledge in the dispatch console.`;
}

// ---------------------------------------------------------------- decisions

/** The SMS a level sends, one per number. */
function outboxFor(alert: Alert, level: number, now: Date): SmsOutboxEntry[] {
  const spec = alert.escalation[level - 1];
  if (spec === undefined || spec.notify !== 'sms') return [];
  const text = smsText(alert, level, now);
  return spec.to.map((to, index) => ({ level, index, to, text }));
}

/**
 * Open the alert for the order's stalled stay, firing level 1 in the same
 * write when it is due at once. Null when the stay is not (or no longer) due.
 */
export function planOpenAlert(head: OrderHead, policy: SlaPolicy, now: Date): Append | null {
  if (!shouldOpenAlert(head, policy, now)) return null;
  const opened = newAlert(head, policy, now);
  const firesAtOnce = nextLevelToFire(opened, now) === 1;
  const alert: Alert = firesAtOnce ? { ...opened, level: 1 } : opened;
  const outbox = firesAtOnce ? outboxFor(alert, 1, now) : [];
  const nextDue = nextAlertDueAt(alert);
  return {
    event: alertEvent(alert, 'open', alert.level, now),
    change: {
      openAlertId: alert.alertId,
      alertLevel: alert.level,
      // With SMS to send, stay due: if this process dies before sending, the next sweep sends them.
      dueAt: outbox.length > 0 ? now.toISOString() : nextDue,
    },
    alert: { op: 'open', alert, outbox },
  };
}

/** Fire the next level of an open alert, if it is due; null otherwise. */
export function planFireLevel(head: OrderHead, alert: Alert, now: Date): Append | null {
  if (head.openAlertId !== alert.alertId) return null;
  const level = nextLevelToFire(alert, now);
  if (level === null) return null;
  const fired: Alert = { ...alert, level };
  const outbox = outboxFor(fired, level, now);
  return {
    event: alertEvent(fired, 'open', level, now),
    change: { alertLevel: level, dueAt: outbox.length > 0 ? now.toISOString() : nextAlertDueAt(fired) },
    alert: { op: 'update', alertId: alert.alertId, expectStates: ['open'], expectLevel: alert.level, set: { level }, outbox },
  };
}

/**
 * Where the sweep moves an order's SLA clock (the due index) when nothing can
 * be written now, and on what condition: while the order still holds the
 * same alert, or (no alert) is still in the same stay.
 */
export type DueGuard = { readonly alertId: string } | { readonly statusSince: string };

/**
 * What the SLA sweep does next for one due order, decided on what it read in
 * this step: the head, the alert the head names (read after the head) and,
 * once asked for, how many of that alert's SMS are written and not yet sent.
 *
 * - `done`: nothing to do now: the order is gone, or not due (`dueAt`
 *   absent or later than `now`).
 * - `open`: open the alert of the stalled stay (with level 1 when it is due
 *   at once): `plan` is one conditional append.
 * - `fire`: fire the alert's next level (`level`): `plan` is one conditional
 *   append, which writes the level's SMS to the outbox in the same write.
 * - `read-owed`: nothing can fire now; how many SMS the alert still owes
 *   decides between the next two steps (ask again with `owedSms`).
 * - `send-owed`: the alert owes SMS: send them in this sweep. The order
 *   stays due (its `dueAt` is already past) until they are sent, so a sweep
 *   that dies before sending is caught up by the next one.
 * - `reschedule`: the due index is stale (nothing fires and nothing is
 *   owed, or the stay is not due under the policy in force now): set the
 *   order's `dueAt` (null: no clock), on `guard`'s condition. Never now or
 *   earlier, so it ends the order's turn.
 */
export type SlaStep =
  | { readonly kind: 'done'; readonly reason: 'gone' | 'not-due' }
  | { readonly kind: 'open'; readonly plan: Append }
  | { readonly kind: 'fire'; readonly level: number; readonly plan: Append }
  | { readonly kind: 'read-owed'; readonly alertId: string }
  | { readonly kind: 'send-owed'; readonly alertId: string }
  | { readonly kind: 'reschedule'; readonly dueAt: string | null; readonly guard: DueGuard };

/**
 * The SLA sweep's next step for one order (see `SlaStep`). Pure: the sweep
 * reads, asks, executes the step, and asks again.
 *
 * @param head the order's head; null when the order is gone.
 * @param alert the alert `head.openAlertId` names, read after the head; null
 *   when the head names none or it was not found.
 * @param policy the tenant's SLA policy in force now (for opening; an open
 *   alert escalates by the levels it was opened with).
 * @param owedSms how many SMS of the head's alert are written and not sent;
 *   null until read (the step says when it is needed: `read-owed`).
 * @throws RangeError when `alert` is not the alert the head names.
 */
export function nextSlaStep(head: OrderHead | null, alert: Alert | null, policy: SlaPolicy, now: Date, owedSms: number | null = null): SlaStep {
  if (head === null) return { kind: 'done', reason: 'gone' };
  if (alert !== null && alert.alertId !== head.openAlertId) {
    throw new RangeError(`Alert "${alert.alertId}" is not the alert the head of order "${head.orderId}" names.`);
  }
  if (head.dueAt === undefined || Date.parse(head.dueAt) > now.getTime()) return { kind: 'done', reason: 'not-due' };
  if (head.openAlertId === undefined) {
    const plan = planOpenAlert(head, policy, now);
    if (plan !== null) return { kind: 'open', plan };
    // The clock ran out under an older policy; under the one in force now the stay is not due (yet).
    return { kind: 'reschedule', dueAt: dueAtFor(policy, head.status, head.statusSince), guard: { statusSince: head.statusSince } };
  }
  const guard = { alertId: head.openAlertId };
  // The head names an alert that is not there: nothing can fire or be owed for it.
  if (alert === null) return { kind: 'reschedule', dueAt: null, guard };
  const fire = planFireLevel(head, alert, now);
  if (fire !== null) return { kind: 'fire', level: alert.level + 1, plan: fire };
  if (owedSms === null) return { kind: 'read-owed', alertId: alert.alertId };
  if (owedSms > 0) return { kind: 'send-owed', alertId: alert.alertId };
  return { kind: 'reschedule', dueAt: nextAlertDueAt(alert), guard };
}

/** A dispatcher acknowledges: escalation stops. Null when there is nothing to acknowledge any more. */
export function planAcknowledge(p: Principal, head: OrderHead, alert: Alert, now: Date): Append | null {
  authorizeAlerts(p);
  if (alert.state !== 'open' || head.openAlertId !== alert.alertId) return null;
  const acked: Alert = { ...alert, state: 'acknowledged', acknowledgedAt: now.toISOString(), acknowledgedBy: p.sub };
  return {
    event: alertEvent(acked, 'acknowledged', alert.level, now, { sub: p.sub, role: p.role }),
    change: { dueAt: null },
    alert: {
      op: 'update',
      alertId: alert.alertId,
      expectStates: ['open'],
      set: { state: 'acknowledged', acknowledgedAt: now.toISOString(), acknowledgedBy: p.sub },
      outbox: [],
    },
  };
}

/**
 * What a status change does to the SLA clock, in the same write: the new
 * stay's due time (or none), and the alert of the old stay resolved, with its
 * own event right after the checkpoint.
 */
export function withStatusClock(head: OrderHead, plan: Append, policy: SlaPolicy, now: Date): Append {
  const newStatus = plan.change.status;
  if (newStatus === undefined) return plan;
  const since = plan.change.statusSince ?? now.toISOString();
  const withDue: Append = { ...plan, change: { ...plan.change, dueAt: dueAtFor(policy, newStatus, since) } };
  if (head.openAlertId === undefined) return withDue;
  const resolvedAt = now.toISOString();
  return {
    ...withDue,
    followUp: {
      orderId: head.orderId,
      kind: 'alert',
      at: resolvedAt,
      actor: { sub: 'sla', role: 'system' },
      alertId: head.openAlertId,
      level: head.alertLevel ?? 0,
      state: 'resolved',
      status: head.status,
      stuckSeconds: secondsBetween(head.statusSince, now),
    },
    change: { ...withDue.change, openAlertId: null, alertLevel: null },
    alert: {
      op: 'update',
      alertId: head.openAlertId,
      expectStates: ['open', 'acknowledged'],
      set: { state: 'resolved', resolvedAt },
      outbox: [],
    },
  };
}
