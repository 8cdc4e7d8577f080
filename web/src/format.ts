/** How statuses, times, places and durations read on screen. */
import { formatDuration } from '../../shared/domain/durations';
import type { Location } from '../../shared/domain/schemas';
import { STATUS_TABLE, type Status, type StatusKind } from '../../shared/domain/statuses';

/** A glyph per status, so a status never depends on colour alone (always shown with its name). */
const STATUS_ICON: Record<Status, string> = {
  created: '✚',
  picking: '⋯',
  packed: '▣',
  picked_up: '⇡',
  in_transit: '⇢',
  at_hub: '⌂',
  out_for_delivery: '➜',
  attempt_failed: '!',
  exception: '✖',
  delivered: '✔',
  returning: '↩',
  returned: '⟲',
  cancelled: '⊘',
  followed_up: '★',
};

export const KIND_LABEL: Record<StatusKind, string> = {
  normal: 'in progress',
  attention: 'needs attention',
  failed: 'failed',
  done: 'done',
};

export function statusLabel(s: Status): string {
  const text = s.replace(/_/g, ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function statusIcon(s: Status): string {
  return STATUS_ICON[s];
}

export function statusKind(s: Status): StatusKind {
  return STATUS_TABLE[s].kind;
}

/** "1h 05m", "12m 30s", "45s": the SMS's wording (`shared/domain/durations.ts`). */
export { formatDuration };

/** Local time; the date too when it is not today. */
export function formatTime(iso: string | undefined): string {
  if (iso === undefined) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const today = new Date();
  return d.toDateString() === today.toDateString()
    ? time
    : `${d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: d.getFullYear() === today.getFullYear() ? undefined : 'numeric' })} ${time}`;
}

export function secondsSince(iso: string, now = Date.now()): number {
  return Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
}

/** Great-circle distance in metres. */
export function distanceM(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const r = 6_371_000;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const x = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * r * Math.asin(Math.min(1, Math.sqrt(x)));
}

export function formatDistance(m: number): string {
  return m < 1000 ? `${Math.round(m)} m` : `${(m / 1000).toFixed(m < 10_000 ? 1 : 0)} km`;
}

export function formatPlace(loc: Location): string {
  const acc = loc.accuracyM !== undefined ? ` (±${Math.round(loc.accuracyM)} m)` : '';
  return `${loc.lat.toFixed(5)}, ${loc.lng.toFixed(5)}${acc}`;
}

/** The SLA line of an order: what is left, or how long it has been stuck. */
export function slaText(order: { status: Status; statusSince: string; dueAt?: string; openAlertId?: string }, now = Date.now()): {
  text: string;
  tone: 'ok' | 'soon' | 'late' | 'none';
} {
  if (order.openAlertId !== undefined) {
    return { text: `Past its limit: ${statusLabel(order.status).toLowerCase()} for ${formatDuration(secondsSince(order.statusSince, now))}`, tone: 'late' };
  }
  if (order.dueAt === undefined) return { text: 'No SLA limit', tone: 'none' };
  const left = Math.floor((Date.parse(order.dueAt) - now) / 1000);
  if (left <= 0) return { text: `SLA limit passed ${formatDuration(-left)} ago`, tone: 'late' };
  return { text: `${formatDuration(left)} left`, tone: left < 15 * 60 ? 'soon' : 'ok' };
}
