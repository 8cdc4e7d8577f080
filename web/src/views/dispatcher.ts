/**
 * The dispatcher's board: every order of the tenant, live (the `dispatch`
 * room, re-read over HTTP on every (re)connect), grouped by status, each with
 * its SLA countdown; stalled ones flagged; open alerts with their level and
 * an Acknowledge button; assign a driver; filter by status and retailer.
 */
import type { OrderView } from '../../../shared/domain/model';
import { roomName } from '../../../shared/domain/rooms';
import type { AlertView } from '../../../shared/domain/sla';
import { CLOSED_STATUSES, STATUSES, type Status } from '../../../shared/domain/statuses';
import type { OrderEvent } from '../../../shared/domain/model';
import { describeError } from '../api';
import { cardKey, orderCard, type CardOptions } from '../components/order-card';
import { sinceSpan, statusBadge } from '../components/status';
import { afterFirstOpen, loadOrders, orderHref, orderRefresher, type View } from '../context';
import { debounce, fill, h, reconcile } from '../dom';
import { formatTime, statusLabel } from '../format';

/** Off the board unless asked for: delivered (only a follow-up can come) and final statuses. */
function isClosed(s: Status): boolean {
  return CLOSED_STATUSES.includes(s);
}

export const dispatcherBoard: View = (ctx, main) => {
  const orders = new Map<string, OrderView>();
  let alerts: AlertView[] = [];
  const cards = new Map<string, { key: string; el: HTMLElement }>();
  const groups = new Map<Status, HTMLElement>();
  let loaded = false;
  let stopped = false;

  const statusFilter = h('select', { id: 'f-status', name: 'status' });
  const retailerFilter = h('select', { id: 'f-retailer', name: 'retailer' });
  const stalledOnly = h('input', { id: 'f-stalled', type: 'checkbox', name: 'stalled' });
  const showClosed = h('input', { id: 'f-closed', type: 'checkbox', name: 'closed' });
  const summary = h('p', { class: 'summary', 'aria-live': 'polite' }, 'Loading orders…');
  const groupsEl = h('div', { class: 'groups' });
  const alertList = h('ul', { class: 'alert-list' });
  const alertCount = h('span', { class: 'count' });
  const drivers = h('datalist', { id: 'known-drivers' });
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true });

  for (const el of [statusFilter, retailerFilter, stalledOnly, showClosed]) el.addEventListener('change', () => render());

  fill(
    main,
    h(
      'div',
      { class: 'page board-page' },
      h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Dispatch board'), summary),
      problem,
      h(
        'form',
        { class: 'filters', role: 'search', 'aria-label': 'Filter orders', onsubmit: (e: Event) => e.preventDefault() },
        h('div', { class: 'row' }, h('label', { for: 'f-status' }, 'Status'), statusFilter),
        h('div', { class: 'row' }, h('label', { for: 'f-retailer' }, 'Retailer'), retailerFilter),
        h('div', { class: 'row check' }, stalledOnly, h('label', { for: 'f-stalled' }, 'Stalled only')),
        h('div', { class: 'row check' }, showClosed, h('label', { for: 'f-closed' }, 'Show delivered and closed')),
      ),
      h(
        'div',
        { class: 'board-layout' },
        h(
          'section',
          { class: 'alerts-panel', 'aria-labelledby': 'alerts-h' },
          h('h2', { id: 'alerts-h' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), 'Open alerts ', alertCount),
          alertList,
        ),
        h('section', { class: 'groups-panel', 'aria-label': 'Orders by status' }, groupsEl),
      ),
      drivers,
    ),
  );

  const assign: CardOptions['assign'] = async (orderId, driverId) => {
    const { order } = await ctx.api.post<{ order: OrderView }>(`/api/orders/${encodeURIComponent(orderId)}/assign`, { driverId });
    orders.set(order.orderId, order);
    render();
  };

  function options(select: HTMLSelectElement, values: [string, string][]): void {
    const keep = select.value;
    select.replaceChildren(...values.map(([v, label]) => h('option', { value: v }, label)));
    select.value = values.some(([v]) => v === keep) ? keep : '';
  }

  function render(): void {
    if (stopped) return;
    const all = [...orders.values()];
    const byStatus = new Map<Status, number>();
    for (const o of all) byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
    options(statusFilter, [['', `Any status (${all.length})`], ...STATUSES.filter((s) => byStatus.has(s)).map((s): [string, string] => [s, `${statusLabel(s)} (${byStatus.get(s)})`])]);
    const retailers = [...new Set(all.map((o) => o.retailerId))].sort();
    options(retailerFilter, [['', 'Any retailer'], ...retailers.map((r): [string, string] => [r, r])]);
    drivers.replaceChildren(...[...new Set(all.map((o) => o.driverId).filter((d): d is string => d !== undefined))].sort().map((d) => h('option', { value: d })));

    const shown = all.filter(
      (o) =>
        (statusFilter.value === '' || o.status === statusFilter.value) &&
        (retailerFilter.value === '' || o.retailerId === retailerFilter.value) &&
        (!stalledOnly.checked || o.openAlertId !== undefined) &&
        (showClosed.checked || statusFilter.value !== '' || !isClosed(o.status)),
    );
    const stalled = all.filter((o) => o.openAlertId !== undefined).length;
    const active = all.filter((o) => !isClosed(o.status)).length;
    summary.textContent = loaded
      ? `${active} active order${active === 1 ? '' : 's'}, ${stalled} stalled; showing ${shown.length}.`
      : 'Loading orders…';

    const wantedGroups: HTMLElement[] = [];
    for (const status of STATUSES) {
      const inGroup = shown
        .filter((o) => o.status === status)
        .sort(
          (a, b) =>
            Number(b.openAlertId !== undefined) - Number(a.openAlertId !== undefined) ||
            (a.dueAt ?? '9999').localeCompare(b.dueAt ?? '9999') ||
            b.createdAt.localeCompare(a.createdAt),
        );
      if (inGroup.length === 0) continue;
      let group = groups.get(status);
      if (group === undefined) {
        group = h(
          'section',
          { class: `group`, 'data-status': status, 'aria-labelledby': `g-${status}` },
          h('h2', { id: `g-${status}` }, statusBadge(status), h('span', { class: 'count' })),
          h('div', { class: 'cards' }),
        );
        groups.set(status, group);
      }
      group.querySelector('.count')!.textContent = ` ${inGroup.length}`;
      const cardEls = inGroup.map((o) => {
        const opts: CardOptions = { assign, showRetailer: true, showPhone: true, hideStatus: true };
        const key = cardKey(o, opts);
        const cached = cards.get(o.orderId);
        if (cached && cached.key === key) return cached.el;
        const el = orderCard(o, opts);
        cards.set(o.orderId, { key, el });
        return el;
      });
      reconcile(group.querySelector('.cards')!, cardEls);
      wantedGroups.push(group);
    }
    if (wantedGroups.length === 0) {
      fill(groupsEl, h('p', { class: 'muted' }, loaded ? 'No orders match.' : 'Loading…'));
    } else {
      if (groupsEl.querySelector(':scope > p')) groupsEl.replaceChildren();
      reconcile(groupsEl, wantedGroups);
    }
    renderAlerts();
  }

  const alertItems = new Map<string, { key: string; el: HTMLElement }>();

  function renderAlerts(): void {
    const open = alerts.filter((a) => a.state === 'open');
    alertCount.textContent = `(${open.length})`;
    if (open.length === 0) {
      fill(alertList, h('li', { class: 'muted' }, loaded ? 'No open alerts.' : 'Loading…'));
      alertItems.clear();
      return;
    }
    if (alertList.querySelector(':scope > li.muted')) alertList.replaceChildren();
    const els = open.map((a) => {
      const key = JSON.stringify([a.level, a.levels, a.state]);
      const cached = alertItems.get(a.alertId);
      if (cached && cached.key === key) return cached.el;
      const el = alertItem(a);
      alertItems.set(a.alertId, { key, el });
      return el;
    });
    reconcile(alertList, els);
  }

  function alertItem(a: AlertView): HTMLElement {
    const note = h('p', { class: 'form-note', role: 'status', 'aria-live': 'polite' });
    const button = h('button', { type: 'button', class: 'primary ack' }, 'Acknowledge');
    button.addEventListener('click', () => {
      button.disabled = true;
      button.textContent = 'Acknowledging…';
      ctx.client.ackAlert(a.alertId).then(
        () => {
          note.textContent = 'Acknowledged.';
          alerts = alerts.filter((x) => x.alertId !== a.alertId);
          setTimeout(render, 800);
        },
        (err: unknown) => {
          note.textContent = describeError(err);
          button.disabled = false;
          button.textContent = 'Acknowledge';
        },
      );
    });
    return h(
      'li',
      { class: `alert level-${Math.min(a.level, 3)}`, 'data-alert': a.alertId, 'data-order': a.orderId },
      h(
        'p',
        { class: 'alert-head' },
        h('strong', { class: 'level' }, `Level ${a.level}`, a.levels > 0 ? ` of ${a.levels}` : ''),
        ' · ',
        h('a', { href: orderHref(a.orderId) }, a.orderId),
      ),
      h('p', null, 'Stuck in ', statusBadge(a.status), ' for ', sinceSpan(a.statusSince)),
      h('p', { class: 'muted' }, `Opened ${formatTime(a.openedAt)} · retailer ${a.retailerId}`),
      button,
      note,
    );
  }

  async function reloadAll(): Promise<void> {
    try {
      const [list, open] = await Promise.all([loadOrders(ctx), ctx.api.get<{ alerts: AlertView[] }>('/api/alerts?state=open')]);
      if (stopped) return;
      orders.clear();
      for (const o of list) orders.set(o.orderId, o);
      alerts = open.alerts;
      loaded = true;
      problem.hidden = true;
      render();
    } catch (err) {
      problem.hidden = false;
      problem.textContent = `Could not load the board: ${describeError(err)}`;
    }
  }

  const touched = orderRefresher(ctx, orders, render);
  const refreshAlerts = debounce(() => {
    ctx.api.get<{ alerts: AlertView[] }>('/api/alerts?state=open').then(
      (res) => {
        alerts = res.alerts;
        render();
      },
      () => undefined,
    );
  }, 150);

  const leave = ctx.client.subscribe(roomName({ type: 'dispatch' }), {
    onEvent: (e: OrderEvent) => {
      touched(e.orderId);
      if (e.kind === 'alert') refreshAlerts();
    },
    onResync: () => void reloadAll(),
  });
  void reloadAll();
  render();
  const offOpen = afterFirstOpen(ctx.client, () => void reloadAll());

  return () => {
    stopped = true;
    offOpen();
    leave();
  };
};
