/** Status badges, SLA countdowns and the one clock that keeps every countdown on screen current. */
import { STATUS_TABLE, type Status } from '../../../shared/domain/statuses';
import type { OrderView } from '../../../shared/domain/model';
import { h } from '../dom';
import { formatDuration, KIND_LABEL, secondsSince, slaText, statusIcon, statusKind, statusLabel } from '../format';

/** A status as icon + words + a kind-specific colour and border pattern: readable without colour. */
export function statusBadge(status: Status): HTMLElement {
  const kind = statusKind(status);
  return h(
    'span',
    { class: `badge kind-${kind}`, title: `${STATUS_TABLE[status].meaning} (${KIND_LABEL[kind]})`, 'data-status': status },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, statusIcon(status)),
    statusLabel(status),
  );
}

/** "2h 10m left" / "Stalled: 3m 05s in packed", kept current by `startClock`. */
export function slaLine(order: Pick<OrderView, 'status' | 'statusSince' | 'dueAt' | 'openAlertId'>): HTMLElement {
  const el = h('p', {
    class: 'sla',
    'data-tick': 'sla',
    'data-status': order.status,
    'data-since': order.statusSince,
    'data-due': order.dueAt,
    'data-alert': order.openAlertId,
  });
  tickSla(el, Date.now());
  return el;
}

/** "12m 30s", counting up from an ISO time. */
export function sinceSpan(iso: string): HTMLElement {
  const el = h('span', { 'data-tick': 'since', 'data-since': iso });
  el.textContent = formatDuration(secondsSince(iso));
  return el;
}

const TONE_ICON = { ok: '◷', soon: '◔', late: '⚠', none: '–' } as const;

function tickSla(el: HTMLElement, now: number): void {
  const d = el.dataset;
  const { text, tone } = slaText(
    {
      status: d.status as Status,
      statusSince: d.since ?? new Date(now).toISOString(),
      ...(d.due !== undefined && { dueAt: d.due }),
      ...(d.alert !== undefined && { openAlertId: d.alert }),
    },
    now,
  );
  el.className = `sla tone-${tone}`;
  el.textContent = `${TONE_ICON[tone]} ${text}`;
}

let clock: ReturnType<typeof setInterval> | undefined;

/** One interval for the whole page: every countdown and "for how long" ticks together. */
export function startClock(): void {
  if (clock !== undefined) return;
  clock = setInterval(() => {
    const now = Date.now();
    for (const el of document.querySelectorAll<HTMLElement>('[data-tick]')) {
      if (el.dataset.tick === 'sla') tickSla(el, now);
      else if (el.dataset.since !== undefined) el.textContent = formatDuration(secondsSince(el.dataset.since, now));
    }
  }, 1000);
}
