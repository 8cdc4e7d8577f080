/**
 * SLA escalation (CONTRACT §6): the sweep that opens alerts for stalled stays
 * and fires their levels, acknowledgement, listing, and the per-tenant policy.
 *
 * The sweep works each due order step by step: a pure decision
 * (`nextSlaStep` in domain/sla.ts) on what it read, then one action. Every
 * opening and firing is one conditional transaction through the order
 * store, so two sweeps racing, or a sweep run again after a crash, fire
 * nothing twice. SMS go through an outbox (behind `AlertStore`): written in
 * the same transaction as the level, then claimed, sent and marked one by
 * one in the same sweep, so a crash between the write and the send is
 * caught up by the next sweep.
 */
import { NotFoundError } from '../domain/errors';
import type { Principal } from '../domain/model';
import {
  ALERT_STATES,
  alertView,
  authorizeAlerts,
  dueShardOf,
  DUE_SHARDS,
  MAX_ESCALATION_LEVELS,
  nextSlaStep,
  planAcknowledge,
  slaPolicySchema,
  type AlertState,
  type AlertView,
  type SlaPolicy,
} from '../domain/sla';
import { authorizeDispatcher } from '../domain/permissions';
import { parseOrThrow } from '../domain/schemas';
import type { Logger } from '../runtime/log';
import type { AlertStore, OutboxItem } from '../store/alert-store';
import type { OrderStore } from '../store/order-store';
import type { PolicyStore } from '../store/policy-store';
import type { SmsSender } from '../store/sms-sender';

/** How long a sweep holds the right to send one SMS before another may retry it. */
const SMS_CLAIM_MS = 60_000;
/** At most this many due orders are read per shard per sweep; the rest wait for the next run. */
const DUE_PER_SHARD = 1000;
/**
 * At most this many of one tenant's due orders are worked on per sweep; its
 * others wait for the next run. With the round-robin order below, this bounds
 * how long any tenant's backlog can make a sweep (CONTRACT §6: "one tenant's
 * backlog never delays another tenant's alerts past one sweep interval").
 */
export const TENANT_ORDERS_PER_SWEEP = 20;
/**
 * At most this many level firings of one tenant per sweep, after every
 * due alert is opened: a tenant whose orders each owe many levels gets the rest in the
 * next sweeps, so its writes cannot make a sweep long.
 */
export const TENANT_WRITES_PER_SWEEP = 20;
/** Due orders worked on at once (each is a few reads and conditional writes). */
export const SWEEP_CONCURRENCY = 8;
/** Alerts whose SMS are published at once while the outbox is drained. */
export const SMS_CONCURRENCY = 8;
/** How long a sweep spends draining the SMS outbox by default, in ms (the cloud's function times out at 50 s). */
export const SMS_DRAIN_MS = 30_000;

export interface SlaServiceDeps {
  readonly orders: OrderStore;
  readonly alerts: AlertStore;
  readonly policies: PolicyStore;
  readonly sms: SmsSender;
  readonly log: Logger;
  readonly now?: () => Date;
  /**
   * How long, in ms, one sweep may spend sending owed SMS once every due
   * order is worked on (default `SMS_DRAIN_MS`); what is left is sent by the
   * next sweep. The local runtime sets its sweep interval here.
   */
  readonly smsDrainMs?: number;
}

export interface SweepReport {
  due: number;
  opened: number;
  fired: number;
  smsSent: number;
  failed: number;
  /** Due orders left for the next sweep by the per-tenant budget of orders. */
  deferred: number;
}

/** An SMS written by a fired level and not yet sent, with its tenant. */
interface OwedSms {
  readonly tenant: string;
  readonly item: OutboxItem;
}

/**
 * One list from many, taking one item of each in turn (tenant A's first,
 * B's first, A's second…), at most `perKey` of each; the rest are returned
 * apart. Pure, so the fairness rule is tested on its own.
 */
export function roundRobin<T>(items: readonly T[], keyOf: (item: T) => string, perKey = Infinity): { taken: T[]; left: T[] } {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  const taken: T[] = [];
  const left: T[] = [];
  for (const group of groups.values()) left.push(...group.slice(perKey));
  const lists = [...groups.values()].map((g) => g.slice(0, perKey));
  for (let i = 0; lists.some((l) => i < l.length); i++) {
    for (const list of lists) if (i < list.length) taken.push(list[i]!);
  }
  return { taken, left };
}

/** Run `work` over `items`, at most `limit` at a time, in list order. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, stop: () => boolean = () => false): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stop()) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** The writes of a sweep that spend a tenant's budget. */
type SweepWrite = 'open' | 'fire';

/**
 * One pass of a sweep over its due orders: which writes it may do now, and
 * whether it is the last pass.
 */
interface SweepPass {
  /** Whether `write` may be done now for `tenant` (a yes spends the tenant's budget). */
  allow(tenant: string, write: SweepWrite): boolean;
  /**
   * An earlier pass only opens alerts and leaves every other step to the
   * last. The last does the rest, and when it refuses a write it still
   * collects the SMS the order's alert owes, so they are sent in this sweep.
   */
  readonly last: boolean;
}

/**
 * The most steps one order's turn takes: opening, every level of the longest
 * escalation, a look at the owed SMS, and the step that ends the turn
 * (send them, or move the clock), plus `LOST_RACES_PER_TURN` steps that find
 * the head moved by another writer and read it again. A turn that runs out
 * leaves the order due for the next sweep.
 */
const LOST_RACES_PER_TURN = 2;
const MAX_STEPS_PER_TURN = 1 + MAX_ESCALATION_LEVELS + 1 + 1 + LOST_RACES_PER_TURN;

export class SlaService {
  private readonly now: () => Date;

  constructor(private readonly deps: SlaServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /**
   * One sweep, in three steps. Due orders (of every shard) are taken round
   * robin by tenant, at most `TENANT_ORDERS_PER_SWEEP` of each, and worked
   * on `SWEEP_CONCURRENCY` at a time: first every one's alert is opened (with
   * level 1 when it is due at once), then due levels fire, at most
   * `TENANT_WRITES_PER_SWEEP` per tenant (the rest in the next sweeps), each
   * with the SMS it owes written to the outbox in the same write. So one
   * tenant's backlog can neither push another's alert out of a sweep nor
   * make a sweep long. Then the owed SMS are sent, round robin by tenant again,
   * `SMS_CONCURRENCY` at a time, for at most `smsDrainMs`: no alert waits on
   * a slow SMS provider, and what is left is sent by the next sweep (an
   * order with unsent SMS stays due until they are sent).
   */
  async sweep(): Promise<SweepReport> {
    const now = this.now();
    const report: SweepReport = { due: 0, opened: 0, fired: 0, smsSent: 0, failed: 0, deferred: 0 };
    const shards = Array.from({ length: DUE_SHARDS }, (_, i) => i);
    const due = (await Promise.all(shards.map((shard) => this.deps.alerts.due(shard, now, DUE_PER_SHARD)))).flat();
    report.due = due.length;
    const { taken, left } = roundRobin(due, (d) => d.tenant, TENANT_ORDERS_PER_SWEEP);
    report.deferred = left.length;
    const owed = new Map<string, OwedSms>();
    const writes = new Map<string, number>();
    const work = (pass: SweepPass) =>
      pool(taken, SWEEP_CONCURRENCY, async ({ tenant, orderId }) => {
        try {
          for (const item of await this.orderTurn(tenant, orderId, now, report, pass)) {
            owed.set(`${tenant} ${item.alertId} ${item.level} ${item.index}`, { tenant, item });
          }
        } catch (err) {
          report.failed++;
          this.deps.log.error('sla sweep failed for an order', { tenant, orderId, error: err });
        }
      });
    // Alerts open first, every due order's; then levels fire, within each tenant's budget of writes.
    await work({ allow: (_, write) => write === 'open', last: false });
    await work({
      allow: (tenant, write) => {
        const used = writes.get(tenant) ?? 0;
        if (write !== 'fire' || used >= TENANT_WRITES_PER_SWEEP) return false;
        writes.set(tenant, used + 1);
        return true;
      },
      last: true,
    });
    report.smsSent = await this.drainSms([...owed.values()], now);
    return report;
  }

  /**
   * One due order's turn in a pass: step by step (`nextSlaStep`), each step
   * decided on the head and its alert read for it, until the order is not
   * due, its clock is moved, the pass refuses a write, or the SMS its alert
   * owes are found. Returns those SMS (written, not sent), which the sweep
   * sends; while any is owed the order stays due, so a sweep that could not
   * send them tries again. Opening and firing are conditional appends that
   * apply only to the head the step read: if anyone moved the head since,
   * nothing is written and the next step reads again, so racing sweeps fire
   * nothing twice.
   */
  private async orderTurn(tenant: string, orderId: string, now: Date, report: SweepReport, pass: SweepPass): Promise<OutboxItem[]> {
    const { policy } = await this.deps.policies.policyFor(tenant);
    for (let step = 0; step < MAX_STEPS_PER_TURN; step++) {
      const head = await this.deps.orders.getOrder(tenant, orderId);
      const alertId = head?.openAlertId;
      // An earlier pass only opens alerts: an order that has one is the last pass's (its alert is not read here).
      if (!pass.last && alertId !== undefined) return [];
      const alert = alertId === undefined ? null : await this.deps.alerts.get(tenant, alertId);
      let owed: OutboxItem[] | null = null;
      let next = nextSlaStep(head, alert, policy, now);
      // Nor an alertless order's other steps (moving a clock the policy no longer runs out).
      if (!pass.last && next.kind !== 'open') return [];
      if (next.kind === 'read-owed') {
        owed = await this.deps.alerts.unsent(tenant, next.alertId);
        next = nextSlaStep(head, alert, policy, now, owed.length);
      }
      switch (next.kind) {
        case 'done':
          return [];
        case 'send-owed':
          return owed ?? [];
        case 'reschedule':
          await this.deps.alerts.setDue(tenant, orderId, next.dueAt, dueShardOf(tenant, orderId), next.guard);
          return [];
        case 'read-owed':
          throw new Error('nextSlaStep asked for the owed SMS it was given');
        case 'open':
        case 'fire': {
          if (!pass.allow(tenant, next.kind)) {
            return pass.last && alertId !== undefined ? this.deps.alerts.unsent(tenant, alertId) : [];
          }
          const seen = head?.headSeq;
          const { plan } = next;
          const result = await this.deps.orders.append(tenant, orderId, (h) => (h.headSeq === seen ? plan : null));
          if (result.outcome !== 'stored') break; // the head moved since this step read it: read again
          if (next.kind === 'open') {
            report.opened++;
            if (result.head.alertLevel !== undefined && result.head.alertLevel > 0) report.fired++;
          } else {
            report.fired++;
          }
          break;
        }
      }
    }
    return [];
  }

  /**
   * Send owed SMS until done or the drain time is up; returns how many were
   * sent. Alerts are taken round robin by tenant, `SMS_CONCURRENCY` at a
   * time, and each alert's SMS go one after another in level order, so a
   * recipient never gets a higher level's text before a lower one's.
   */
  private async drainSms(owed: readonly OwedSms[], now: Date): Promise<number> {
    const deadline = Date.now() + (this.deps.smsDrainMs ?? SMS_DRAIN_MS);
    const byAlert = new Map<string, OwedSms[]>();
    for (const o of owed) {
      const key = `${o.tenant} ${o.item.alertId}`;
      const list = byAlert.get(key);
      if (list) list.push(o);
      else byAlert.set(key, [o]);
    }
    const alerts = [...byAlert.values()].map((list) => list.sort((a, b) => a.item.level - b.item.level || a.item.index - b.item.index));
    const { taken } = roundRobin(alerts, (list) => list[0]!.tenant);
    const late = () => Date.now() >= deadline;
    let sent = 0;
    await pool(
      taken,
      SMS_CONCURRENCY,
      async (list) => {
        for (const { tenant, item } of list) {
          if (late()) return;
          if (await this.sendOne(tenant, item, now)) sent++;
        }
      },
      late,
    );
    return sent;
  }

  /** Claim, send and mark one SMS; false when another sweep has it or sending failed (it is retried then). */
  private async sendOne(tenant: string, item: OutboxItem, now: Date): Promise<boolean> {
    if (!(await this.deps.alerts.claim(tenant, item, now, new Date(now.getTime() + SMS_CLAIM_MS)))) return false;
    let messageId: string;
    try {
      messageId = await this.deps.sms.send(item.to, item.text);
    } catch (err) {
      // Not sent: give the claim back so the next sweep tries again at once.
      await this.deps.alerts.release(tenant, item);
      this.deps.log.error('sla sms failed; will retry', { alertId: item.alertId, orderId: item.orderId, escalationLevel: item.level, error: err });
      return false;
    }
    await this.deps.alerts.markSent(tenant, item, messageId, this.now());
    this.deps.log.info('sla sms sent', { alertId: item.alertId, orderId: item.orderId, escalationLevel: item.level, messageId });
    return true;
  }

  /** Acknowledge an alert: escalation stops. Acknowledging again (or a resolved alert) changes nothing. */
  async acknowledge(p: Principal, alertId: string): Promise<AlertView> {
    authorizeAlerts(p);
    const alert = await this.deps.alerts.get(p.tenant, alertId);
    if (alert === null) throw new NotFoundError(`Alert "${alertId}" not found.`);
    if (alert.state === 'open') {
      const now = this.now();
      await this.deps.orders.append(p.tenant, alert.orderId, async (head) => {
        const fresh = await this.deps.alerts.get(p.tenant, alertId);
        return fresh === null ? null : planAcknowledge(p, head, fresh, now);
      });
    }
    const after = await this.deps.alerts.get(p.tenant, alertId);
    return alertView(after ?? alert, this.now());
  }

  /** A tenant's alerts in one state, or in every state, newest first. */
  async list(p: Principal, state: AlertState | undefined, limit = 100): Promise<AlertView[]> {
    authorizeAlerts(p);
    const states = state === undefined ? ALERT_STATES : [state];
    const lists = await Promise.all(states.map((s) => this.deps.alerts.list(p.tenant, s, limit)));
    const now = this.now();
    return lists
      .flat()
      .sort((a, b) => (a.openedAt < b.openedAt ? 1 : a.openedAt > b.openedAt ? -1 : 0))
      .slice(0, limit)
      .map((a) => alertView(a, now));
  }

  async getPolicy(p: Principal): Promise<SlaPolicy> {
    authorizeDispatcher(p, 'see the SLA policy');
    return (await this.deps.policies.policyFor(p.tenant)).policy;
  }

  /** Replace the tenant's policy; a bad one is refused whole, naming the field. */
  async putPolicy(p: Principal, body: unknown): Promise<SlaPolicy> {
    authorizeDispatcher(p, 'set the SLA policy');
    const policy = parseOrThrow(slaPolicySchema, body, 'SLA policy');
    await this.deps.policies.put(p.tenant, policy, p.sub);
    return policy;
  }
}
