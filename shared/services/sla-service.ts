/**
 * SLA escalation (CONTRACT §6): the sweep that opens alerts for stalled stays
 * and fires their levels, acknowledgement, listing, and the per-tenant policy.
 *
 * Every opening and firing is one conditional transaction through the order
 * store, so two sweeps racing, or a sweep run again after a crash, fire
 * nothing twice. SMS go through an outbox: written in the same transaction as
 * the level, then claimed, sent and marked one by one, so a crash between the
 * write and the send is caught up by the next sweep.
 */
import { NotFoundError } from '../domain/errors';
import type { OrderHead, Principal } from '../domain/model';
import {
  ALERT_STATES,
  alertView,
  authorizeAlerts,
  dueAtFor,
  dueShardOf,
  DUE_SHARDS,
  nextAlertDueAt,
  planAcknowledge,
  planFireLevel,
  planOpenAlert,
  slaPolicySchema,
  type AlertState,
  type AlertView,
  type SlaPolicy,
} from '../domain/sla';
import { authorizeDispatcher } from '../domain/permissions';
import { parseOrThrow } from '../domain/schemas';
import type { Logger } from '../runtime/log';
import type { AlertStore } from '../store/alert-store';
import type { OrderStore } from '../store/order-store';
import type { PolicyStore } from '../store/policy-store';
import type { SmsSender } from '../store/sms-sender';

/** How long a sweep holds the right to send one SMS before another may retry it. */
const SMS_CLAIM_MS = 60_000;
/** At most this many due orders per shard per sweep; the rest wait for the next run. */
const DUE_PER_SHARD = 500;

export interface SlaServiceDeps {
  readonly orders: OrderStore;
  readonly alerts: AlertStore;
  readonly policies: PolicyStore;
  readonly sms: SmsSender;
  readonly log: Logger;
  readonly now?: () => Date;
}

export interface SweepReport {
  due: number;
  opened: number;
  fired: number;
  smsSent: number;
  failed: number;
}

export class SlaService {
  private readonly now: () => Date;

  constructor(private readonly deps: SlaServiceDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** One sweep over every shard of the due index. */
  async sweep(): Promise<SweepReport> {
    const now = this.now();
    const report: SweepReport = { due: 0, opened: 0, fired: 0, smsSent: 0, failed: 0 };
    const shards = Array.from({ length: DUE_SHARDS }, (_, i) => i);
    await Promise.all(
      shards.map(async (shard) => {
        const due = await this.deps.alerts.due(shard, now, DUE_PER_SHARD);
        report.due += due.length;
        for (const { tenant, orderId } of due) {
          try {
            await this.processOrder(tenant, orderId, now, report);
          } catch (err) {
            report.failed++;
            this.deps.log.error('sla sweep failed for an order', { tenant, orderId, error: err });
          }
        }
      }),
    );
    return report;
  }

  /** Bring one due order's alert up to date: open it, send what is owed, fire what is due. */
  async processOrder(tenant: string, orderId: string, now: Date, report: SweepReport): Promise<void> {
    const { policy } = await this.deps.policies.policyFor(tenant);
    // Each pass makes progress (opens, or fires one level) or stops; bounded by the levels.
    for (let pass = 0; pass < policy.escalation.length + 4; pass++) {
      const head = await this.deps.orders.getOrder(tenant, orderId);
      if (head === null || head.dueAt === undefined || Date.parse(head.dueAt) > now.getTime()) return;

      if (head.openAlertId === undefined) {
        const result = await this.deps.orders.append(tenant, orderId, (h) => planOpenAlert(h, policy, now));
        if (result.outcome === 'stored') {
          report.opened++;
          if (result.head.alertLevel !== undefined && result.head.alertLevel > 0) report.fired++;
          continue;
        }
        // Not due under the policy in force now (it changed since the clock was set): reset the clock.
        await this.rescheduleStay(tenant, orderId, head, policy);
        return;
      }

      const alertId = head.openAlertId;
      report.smsSent += await this.sendOwedSms(tenant, alertId, now);
      const result = await this.deps.orders.append(tenant, orderId, async (h) => {
        const alert = await this.deps.alerts.get(tenant, alertId);
        return alert === null ? null : planFireLevel(h, alert, now);
      });
      if (result.outcome === 'stored') {
        report.fired++;
        continue;
      }
      const alert = await this.deps.alerts.get(tenant, alertId);
      await this.deps.alerts.setDue(tenant, orderId, alert === null ? null : nextAlertDueAt(alert), dueShardOf(tenant, orderId), { alertId });
      return;
    }
  }

  /** The clock ran out under an older policy; under the one in force now the stay is not due (yet). */
  private async rescheduleStay(tenant: string, orderId: string, head: OrderHead, policy: SlaPolicy): Promise<void> {
    const dueAt = dueAtFor(policy, head.status, head.statusSince);
    await this.deps.alerts.setDue(tenant, orderId, dueAt, dueShardOf(tenant, orderId), { statusSince: head.statusSince });
  }

  /** Send the SMS of this alert that are written but not sent; returns how many this call sent. */
  private async sendOwedSms(tenant: string, alertId: string, now: Date): Promise<number> {
    let sent = 0;
    for (const item of await this.deps.alerts.unsent(tenant, alertId)) {
      if (!(await this.deps.alerts.claim(tenant, item, now, new Date(now.getTime() + SMS_CLAIM_MS)))) continue;
      let messageId: string;
      try {
        messageId = await this.deps.sms.send(item.to, item.text);
      } catch (err) {
        // Not sent: give the claim back so the next sweep tries again at once.
        await this.deps.alerts.release(tenant, item);
        this.deps.log.error('sla sms failed; will retry', { alertId, orderId: item.orderId, level: item.level, error: err });
        continue;
      }
      await this.deps.alerts.markSent(tenant, item, messageId, this.now());
      this.deps.log.info('sla sms sent', { alertId, orderId: item.orderId, level: item.level, messageId });
      sent++;
    }
    return sent;
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
