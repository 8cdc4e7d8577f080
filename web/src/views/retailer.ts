/**
 * A retailer's orders with their live status (the `retailer:<id>` room,
 * re-read over HTTP on every (re)connect). Each opens the order page.
 */
import type { OrderEvent, OrderView } from '../../../shared/domain/model';
import { roomName } from '../../../shared/domain/rooms';
import { FINAL_STATUSES, STATUS_TABLE, STATUSES } from '../../../shared/domain/statuses';
import { describeError } from '../api';
import { cardKey, orderCard } from '../components/order-card';
import { afterFirstOpen, loadOrders, orderRefresher, type View } from '../context';
import { fill, h, reconcile } from '../dom';
import { KIND_LABEL, statusLabel } from '../format';

export const retailerView: View = (ctx, main) => {
  const retailerId = ctx.session.claims.retailerId ?? '';
  const orders = new Map<string, OrderView>();
  const cards = new Map<string, { key: string; el: HTMLElement }>();
  let loaded = false;
  let stopped = false;

  const statusFilter = h('select', { id: 'r-status', name: 'status' });
  const showClosed = h('input', { id: 'r-closed', type: 'checkbox', name: 'closed', checked: true });
  const summary = h('p', { class: 'summary', 'aria-live': 'polite' }, 'Loading orders…');
  const list = h('div', { class: 'cards list' });
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true });
  statusFilter.addEventListener('change', () => render());
  showClosed.addEventListener('change', () => render());

  fill(
    main,
    h(
      'div',
      { class: 'page retailer-page' },
      h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, `Orders of ${retailerId}`), summary),
      problem,
      h(
        'form',
        { class: 'filters', role: 'search', 'aria-label': 'Filter orders', onsubmit: (e: Event) => e.preventDefault() },
        h('div', { class: 'row' }, h('label', { for: 'r-status' }, 'Status'), statusFilter),
        h('div', { class: 'row check' }, showClosed, h('label', { for: 'r-closed' }, 'Include closed orders')),
      ),
      h('section', { 'aria-label': 'Orders, newest first' }, list),
    ),
  );

  function render(): void {
    if (stopped) return;
    const all = [...orders.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    const keep = statusFilter.value;
    const present = STATUSES.filter((s) => all.some((o) => o.status === s));
    statusFilter.replaceChildren(h('option', { value: '' }, `Any status (${all.length})`), ...present.map((s) => h('option', { value: s }, statusLabel(s))));
    statusFilter.value = present.includes(keep as never) ? keep : '';

    const byKind = new Map<string, number>();
    for (const o of all) byKind.set(STATUS_TABLE[o.status].kind, (byKind.get(STATUS_TABLE[o.status].kind) ?? 0) + 1);
    const stalled = all.filter((o) => o.openAlertId !== undefined).length;
    summary.textContent = loaded
      ? [...byKind].map(([k, n]) => `${n} ${KIND_LABEL[k as keyof typeof KIND_LABEL]}`).join(' · ') + (stalled ? ` · ${stalled} stalled` : '') || 'No orders yet.'
      : 'Loading orders…';

    const shown = all.filter((o) => (statusFilter.value === '' || o.status === statusFilter.value) && (showClosed.checked || !FINAL_STATUSES.includes(o.status)));
    if (shown.length === 0) {
      fill(list, h('p', { class: 'muted' }, loaded ? 'No orders to show.' : 'Loading…'));
      return;
    }
    if (list.querySelector(':scope > p')) list.replaceChildren();
    reconcile(
      list,
      shown.map((o) => {
        const key = cardKey(o);
        const cached = cards.get(o.orderId);
        if (cached && cached.key === key) return cached.el;
        const el = orderCard(o);
        cards.set(o.orderId, { key, el });
        return el;
      }),
    );
  }

  async function reloadAll(): Promise<void> {
    try {
      const list = await loadOrders(ctx);
      if (stopped) return;
      orders.clear();
      for (const o of list) orders.set(o.orderId, o);
      loaded = true;
      problem.hidden = true;
      render();
    } catch (err) {
      problem.hidden = false;
      problem.textContent = `Could not load your orders: ${describeError(err)}`;
    }
  }

  const touched = orderRefresher(ctx, orders, render);

  const leave = ctx.client.subscribe(roomName({ type: 'retailer', retailerId }), {
    onEvent: (e: OrderEvent) => {
      touched(e.orderId);
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
