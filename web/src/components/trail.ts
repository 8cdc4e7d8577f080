/**
 * A map-like trail of the checkpoint positions, drawn as SVG from the
 * coordinates alone (no tile server): a light grid, the path in order, a
 * numbered dot per position, the destination as a flag, and a scale bar.
 * Shapes, numbers and a text summary carry the meaning, not colour.
 */
import type { Destination, OrderEvent } from '../../../shared/domain/model';
import { h, s } from '../dom';
import { distanceM, formatDistance, formatPlace, formatTime, statusLabel } from '../format';

interface Point {
  lat: number;
  lng: number;
  label: string;
}

const W = 320;
const H = 220;
const PAD = 24;
/** Room kept free at the bottom for the scale bar. */
const FOOT = 30;

export function trail(events: readonly OrderEvent[], destination: Destination | undefined): HTMLElement {
  const points: Point[] = [];
  for (const e of events) {
    if (e.kind === 'checkpoint' && e.location) {
      points.push({ lat: e.location.lat, lng: e.location.lng, label: `${statusLabel(e.status)} at ${formatTime(e.occurredAt)}, ${formatPlace(e.location)}` });
    }
  }
  const dest = destination?.lat !== undefined && destination.lng !== undefined ? { lat: destination.lat, lng: destination.lng } : undefined;
  if (points.length === 0 && dest === undefined) return h('p', { class: 'muted' }, 'No positions yet.');

  const all = dest ? [...points, { ...dest, label: '' }] : points;
  const midLat = all.reduce((a, p) => a + p.lat, 0) / all.length;
  const kx = Math.cos((midLat * Math.PI) / 180);
  const xs = all.map((p) => p.lng * kx);
  const ys = all.map((p) => p.lat);
  const minX = Math.min(...xs);
  const maxX = Math.max(...xs);
  const minY = Math.min(...ys);
  const maxY = Math.max(...ys);
  // Degrees per pixel, equal on both axes; at least ~50 m across so one point is not a blow-up.
  const span = Math.max((maxX - minX) / (W - 2 * PAD), (maxY - minY) / (H - 2 * PAD - FOOT), 0.0005 / (W - 2 * PAD));
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  const midY = (H - FOOT) / 2 + PAD / 2;
  const px = (p: { lat: number; lng: number }) => ({ x: W / 2 + (p.lng * kx - cx) / span, y: midY - (p.lat - cy) / span });

  // Scale bar: a round distance near a quarter of the width.
  const metresPerPx = span * 111_320;
  const target = (metresPerPx * W) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(target));
  const nice = [1, 2, 5, 10].map((m) => m * magnitude).reduce((best, v) => (Math.abs(v - target) < Math.abs(best - target) ? v : best));
  const barPx = nice / metresPerPx;

  const grid = [];
  for (let x = 0; x <= W; x += 40) grid.push(s('line', { x1: x, y1: 0, x2: x, y2: H, class: 'grid' }));
  for (let y = 0; y <= H; y += 40) grid.push(s('line', { x1: 0, y1: y, x2: W, y2: y, class: 'grid' }));

  const pts = points.map(px);
  const last = points[points.length - 1];
  const summary = [
    points.length === 0 ? 'No checkpoint positions yet.' : `${points.length} checkpoint position${points.length === 1 ? '' : 's'}.`,
    last && dest ? `Latest is ${formatDistance(distanceM(last, dest))} from the destination.` : '',
  ].join(' ');

  const svg = s(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'trail', role: 'img', 'aria-label': `Trail map. ${summary}` },
    s('rect', { x: 0, y: 0, width: W, height: H, class: 'trail-bg' }),
    grid,
    pts.length > 1 ? s('polyline', { points: pts.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' '), class: 'trail-path' }) : null,
    dest
      ? (() => {
          const d = px(dest);
          return s(
            'g',
            { class: 'trail-dest', transform: `translate(${d.x.toFixed(1)},${d.y.toFixed(1)})` },
            s('title', null, `Destination: ${destination?.address ?? ''}`),
            s('line', { x1: 0, y1: 0, x2: 0, y2: -18, class: 'flag-pole' }),
            s('path', { d: 'M0,-18 L12,-14 L0,-10 Z', class: 'flag' }),
            s('rect', { x: -3, y: -3, width: 6, height: 6, class: 'flag-base' }),
          );
        })()
      : null,
    pts.map((p, i) =>
      s(
        'g',
        { class: `trail-point${i === pts.length - 1 ? ' latest' : ''}`, transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})` },
        s('title', null, `${i + 1}. ${points[i]!.label}`),
        s('circle', { r: i === pts.length - 1 ? 9 : 7 }),
        s('text', { 'text-anchor': 'middle', dy: '0.35em' }, String(i + 1)),
      ),
    ),
    s(
      'g',
      { class: 'scale', transform: `translate(${PAD / 2},${H - PAD / 2})` },
      s('line', { x1: 0, y1: 0, x2: barPx.toFixed(1), y2: 0 }),
      s('line', { x1: 0, y1: -4, x2: 0, y2: 4 }),
      s('line', { x1: barPx.toFixed(1), y1: -4, x2: barPx.toFixed(1), y2: 4 }),
      s('text', { x: (barPx / 2).toFixed(1), y: -6, 'text-anchor': 'middle' }, formatDistance(nice)),
    ),
    s('text', { x: W - 8, y: 16, 'text-anchor': 'end', class: 'north' }, 'N ↑'),
  );
  return h(
    'figure',
    { class: 'trail-figure' },
    svg,
    h(
      'figcaption',
      null,
      summary,
      ' ',
      h('span', { class: 'legend' }, h('span', { 'aria-hidden': 'true' }, '①'), ' numbered dots: positions in order (largest: latest); ', h('span', { 'aria-hidden': 'true' }, '⚑'), ' flag: destination.'),
    ),
  );
}
