/**
 * Durations as people read them, in the SMS text and in the console alike
 * (browser-safe: the console imports it, so the two never word a stall
 * differently).
 */

/**
 * A duration in whole units, the two largest that matter: "2d 3h",
 * "1h 05m", "12m 30s", "45s". Negative or fractional seconds count as their
 * floor, at least 0.
 *
 * @param totalSeconds the duration, in seconds
 */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}
