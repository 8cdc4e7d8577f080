/**
 * The connection line in the header: live, connecting, or "Offline, N
 * waiting" while the outbox holds posts. Bound to the client's state and its
 * outbox, so it is true the moment either changes.
 */
import type { WaypostClient } from '../../sdk/client';
import { h } from '../dom';

export function connectionIndicator(client: WaypostClient): { el: HTMLElement; stop: () => void } {
  const icon = h('span', { class: 'conn-icon', 'aria-hidden': 'true' });
  const text = h('span', { class: 'conn-text' });
  const el = h('p', { class: 'conn', role: 'status', 'aria-live': 'polite', 'data-testid': 'connection' }, icon, text);
  let wasOpen = false;
  const render = () => {
    const n = client.queued.length;
    if (client.state === 'open') wasOpen = true;
    // Retrying after a drop is still offline to the person looking: no flicker to "connecting" at each attempt.
    const state = client.state === 'connecting' && wasOpen ? 'offline' : client.state;
    const waiting = `${n} waiting`;
    let label: string;
    let glyph: string;
    if (state === 'open') {
      label = n === 0 ? 'Live' : `Sending, ${waiting}`;
      glyph = n === 0 ? '●' : '↻';
    } else if (state === 'connecting') {
      label = n === 0 ? 'Connecting…' : `Connecting, ${waiting}`;
      glyph = '…';
    } else if (state === 'offline') {
      label = n === 0 ? 'Offline' : `Offline, ${waiting}`;
      glyph = '⨯';
    } else {
      label = 'Disconnected';
      glyph = '○';
    }
    el.dataset.state = state;
    el.dataset.waiting = String(n);
    icon.textContent = glyph;
    text.textContent = label;
  };
  render();
  const offState = client.on('state', render);
  const offOutbox = client.on('outbox', render);
  return {
    el,
    stop: () => {
      offState();
      offOutbox();
    },
  };
}
