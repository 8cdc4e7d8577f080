/**
 * Reading a V8 `.cpuprofile` (from `node --cpu-prof`): self time per
 * function, mapped back to the TypeScript file:line through the source maps
 * `profile-hook.ts` saved, optionally only over given time windows (the
 * measured steps, on the machine's monotonic clock), and rolled up by area
 * (our directories, each npm package, Node internals, GC).
 *
 * Also a CLI: `node --import tsx bench/lib/profile.ts <file.cpuprofile> [sourcemaps.json]`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  readonly fn: string;
  /** `path:line` (1-based), relative to the repository for our files. */
  readonly where: string;
  readonly selfMs: number;
  /** Share of the busy (non-idle) time. */
  readonly pct: number;
}

export interface ProfileSummary {
  readonly file: string;
  /** Wall ms covered by the samples used. */
  readonly windowMs: number;
  /** Busy ms (samples not idle). */
  readonly busyMs: number;
  readonly trimmedToSteps: boolean;
  /** Self time per function, highest first. */
  readonly top: readonly ProfileEntry[];
  /**
   * Our own functions (local/, shared/, functions/) by inclusive time on the
   * synchronous stack (`selfMs` holds the inclusive time here): who calls the
   * expensive library code. Async continuations start new stacks, so this
   * undercounts callers of awaited work.
   */
  readonly ours: readonly ProfileEntry[];
  readonly areas: readonly { readonly area: string; readonly selfMs: number; readonly pct: number }[];
}

const round1 = (x: number) => Math.round(x * 10) / 10;

function areaOf(url: string, root: string): string {
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return 'node internals';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? '?');
  }
  const rel = relative(root, path);
  return rel.startsWith('..') ? path : `${rel.split('/')[0] ?? rel}/`;
}

export function analyzeProfile(
  file: string,
  options: { root: string; sourceMapsFile?: string; windowsUs?: readonly (readonly [number, number])[]; top?: number },
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const maps = new Map<string, SourceMap>();
  if (options.sourceMapsFile !== undefined && existsSync(options.sourceMapsFile)) {
    const payloads = JSON.parse(readFileSync(options.sourceMapsFile, 'utf8')) as Record<string, SourceMapPayload>;
    for (const [url, payload] of Object.entries(payloads)) maps.set(url, new SourceMap(payload));
  }
  const nodes = new Map<number, ProfileNode>();
  for (const n of profile.nodes) nodes.set(n.id, n);

  // Sample times; a sample stands for the time until the next one.
  const times: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) times.push((t += d));
  const windows = options.windowsUs ?? [];
  const inWindow = (ts: number) => windows.length === 0 || windows.some(([a, b]) => ts >= a && ts <= b);
  const trimmed = windows.length > 0 && times.some(inWindow);
  const selfByNode = new Map<number, number>();
  let windowUs = 0;
  for (let k = 0; k < profile.samples.length; k++) {
    const ts = times[k] ?? profile.endTime;
    if (trimmed && !inWindow(ts)) continue;
    const dur = (times[k + 1] ?? profile.endTime) - ts;
    if (dur <= 0) continue;
    windowUs += dur;
    const id = profile.samples[k]!;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + dur);
  }

  // What each node is: its function, mapped place, area, and whether it is our code.
  const info = new Map<number, { key: string; fn: string; where: string; area: string; ours: boolean; idle: boolean }>();
  const describe = (id: number) => {
    const known = info.get(id);
    if (known !== undefined) return known;
    const cf = nodes.get(id)?.callFrame ?? { functionName: '(unknown)', url: '', lineNumber: 0, columnNumber: 0 };
    let where = '';
    let area: string;
    let ours = false;
    if (cf.url === '') {
      area = cf.functionName.startsWith('(') ? cf.functionName : '(native / V8)';
    } else {
      area = areaOf(cf.url, options.root);
      ours = area.endsWith('/') && !area.startsWith('/');
      const map = maps.get(cf.url);
      const entry: { originalSource?: string; originalLine?: number } | undefined = map?.findEntry(cf.lineNumber, cf.columnNumber);
      const path = cf.url.startsWith('file://') ? fileURLToPath(cf.url) : cf.url;
      if (entry?.originalSource !== undefined && entry.originalLine !== undefined) {
        const src = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : entry.originalSource;
        where = `${relative(options.root, src)}:${entry.originalLine + 1}`;
      } else {
        const rel = relative(options.root, path);
        where = `${rel.startsWith('..') ? path : rel}:${cf.lineNumber + 1}${path.endsWith('.ts') ? ' (generated)' : ''}`;
      }
    }
    const fn = cf.functionName === '' ? '(anonymous)' : cf.functionName;
    const d = { key: `${fn}|${where}`, fn, where, area, ours, idle: cf.functionName === '(idle)' };
    info.set(id, d);
    return d;
  };
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const byKey = new Map<string, { fn: string; where: string; us: number }>();
  const inclusive = new Map<string, { fn: string; where: string; us: number }>();
  const byArea = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfByNode) {
    const d = describe(id);
    if (d.idle) continue;
    busyUs += us;
    const e = byKey.get(d.key);
    if (e) e.us += us;
    else byKey.set(d.key, { fn: d.fn, where: d.where, us });
    byArea.set(d.area, (byArea.get(d.area) ?? 0) + us);
    // Inclusive time of our own functions on this (synchronous) stack, each counted once.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = describe(at);
      if (!f.ours || seen.has(f.key)) continue;
      seen.add(f.key);
      const inc = inclusive.get(f.key);
      if (inc) inc.us += us;
      else inclusive.set(f.key, { fn: f.fn, where: f.where, us });
    }
  }
  const pct = (us: number) => (busyUs > 0 ? round1((100 * us) / busyUs) : 0);
  return {
    file,
    windowMs: round1(windowUs / 1000),
    busyMs: round1(busyUs / 1000),
    trimmedToSteps: trimmed,
    top: [...byKey.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, options.top ?? 25)
      .map((e) => ({ fn: e.fn, where: e.where, selfMs: round1(e.us / 1000), pct: pct(e.us) })),
    ours: [...inclusive.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, options.top ?? 25)
      .map((e) => ({ fn: e.fn, where: e.where, selfMs: round1(e.us / 1000), pct: pct(e.us) })),
    areas: [...byArea.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([area, us]) => ({ area, selfMs: round1(us / 1000), pct: pct(us) })),
  };
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const [file, maps] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: node --import tsx bench/lib/profile.ts <file.cpuprofile> [sourcemaps.json]\n');
    process.exit(2);
  }
  const summary = analyzeProfile(file, { root: process.cwd(), ...(maps !== undefined && { sourceMapsFile: maps }), top: 40 });
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}
