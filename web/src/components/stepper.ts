/**
 * The progress stepper: the usual road of a delivery, with the steps this
 * order reached ticked, the current one marked, and a detour (failed attempt,
 * exception, return, cancellation) shown where it happened. Each step says
 * in words whether it is done, current, skipped or still to come.
 */
import type { OrderEvent } from '../../../shared/domain/model';
import { STATUS_TABLE, type Status } from '../../../shared/domain/statuses';
import { h } from '../dom';
import { KIND_LABEL, statusIcon, statusKind, statusLabel } from '../format';

const ROAD: readonly Status[] = ['created', 'picking', 'packed', 'picked_up', 'in_transit', 'at_hub', 'out_for_delivery', 'delivered', 'followed_up'];
/** Steps an order may well skip: shown only once reached. */
const OPTIONAL: ReadonlySet<Status> = new Set(['picking', 'in_transit', 'at_hub', 'followed_up']);

type StepState = 'done' | 'current' | 'skipped' | 'upcoming';

const STATE_TEXT: Record<StepState, string> = { done: 'done', current: 'current', skipped: 'skipped', upcoming: 'to come' };
const STATE_MARK: Record<StepState, string> = { done: '✓', current: '●', skipped: '–', upcoming: '○' };

export function stepper(current: Status, events: readonly OrderEvent[]): HTMLElement {
  const visited = new Set<Status>(['created']);
  const detours: Status[] = [];
  for (const e of events) {
    if (e.kind !== 'checkpoint') continue;
    visited.add(e.status);
    if (!ROAD.includes(e.status) && !detours.includes(e.status)) detours.push(e.status);
  }
  visited.add(current);
  const furthest = Math.max(...ROAD.map((s, i) => (visited.has(s) ? i : -1)));
  const steps: { status: Status; state: StepState; note?: string }[] = [];
  const onRoad = ROAD.includes(current);
  const final = STATUS_TABLE[current].next.length === 0;

  ROAD.forEach((s, i) => {
    if (i <= furthest) {
      if (s === current) steps.push({ status: s, state: 'current' });
      else if (visited.has(s)) steps.push({ status: s, state: 'done' });
      else if (!OPTIONAL.has(s)) steps.push({ status: s, state: 'skipped' });
      // Past detours (an attempt that failed, then a new one) are noted on the step after them.
      if (i === furthest && !onRoad) {
        steps.push({ status: current, state: 'current' });
      }
      return;
    }
    if (!onRoad && (final || current === 'returning')) return;
    if (OPTIONAL.has(s)) return;
    steps.push({ status: s, state: 'upcoming' });
  });
  if (current === 'returning') steps.push({ status: 'returned', state: 'upcoming' });

  const pastDetours = detours.filter((d) => d !== current);
  return h(
    'div',
    { class: 'stepper-wrap' },
    h(
      'ol',
      { class: 'stepper', 'aria-label': 'Delivery progress' },
      steps.map((step) => {
        const kind = statusKind(step.status);
        return h(
          'li',
          {
            class: `step step-${step.state} kind-${kind}`,
            'aria-current': step.state === 'current' ? 'step' : undefined,
            title: `${STATUS_TABLE[step.status].meaning} (${KIND_LABEL[kind]})`,
          },
          h('span', { class: 'step-mark', 'aria-hidden': 'true' }, step.state === 'current' ? statusIcon(step.status) : STATE_MARK[step.state]),
          h('span', { class: 'step-label' }, statusLabel(step.status)),
          h('span', { class: 'step-state' }, STATE_TEXT[step.state]),
        );
      }),
    ),
    pastDetours.length > 0
      ? h('p', { class: 'detours' }, '↯ On the way: ', pastDetours.map((d) => statusLabel(d).toLowerCase()).join(', '), '.')
      : null,
  );
}
