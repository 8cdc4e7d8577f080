/**
 * The bench's outputs: `<name>.json` (everything measured), `<name>.md` (the
 * tables: per target per rate, max sustained rates, Waypost's ratios to the
 * baselines, issue 6's targets, the CPU profile's top functions) and
 * `<name>.svg` (p50/p99 against offered rate, drawn by hand).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { EngineResult } from './engine-probe';
import type { MachineInfo } from './lib/machine';
import type { ProfileSummary } from './lib/profile';
import type { Revision } from './lib/revision';
import type { LoadgenConfig, SetupSummary, StepResult, TargetId } from './protocol';

export interface TargetRun {
  readonly id: TargetId;
  readonly label: string;
  readonly description: string;
  readonly setup?: SetupSummary;
  readonly steps: readonly StepResult[];
  /** The highest offered rate of an unbroken run of passing steps from the first. */
  readonly maxSustained: number | null;
  /** true: every step passed, so the real maximum is higher than the step list reached. */
  readonly censored: boolean;
  readonly stoppedBy?: string;
  readonly error?: string;
  readonly profile?: ProfileSummary;
}

export interface BenchRun {
  readonly name: string;
  readonly preset: 'default' | 'quick';
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The code measured (absent in results written before it was recorded). */
  readonly revision?: Revision;
  readonly machine: MachineInfo;
  readonly workload: Omit<LoadgenConfig, 'target' | 'kind' | 'baseUrl' | 'jwtSecret' | 'runId'> & {
    readonly pollIdleMs: number;
    readonly profiled: boolean;
  };
  /** DynamoDB Local's own ceiling (file DB), when measured (`--engine`). */
  readonly engine?: readonly EngineResult[];
  readonly targets: readonly TargetRun[];
}

const COLORS: Record<TargetId, string> = { a: '#1f77b4', b: '#ff7f0e', c: '#2ca02c', d: '#d62728' };

const measuredSteps = (t: TargetRun | undefined) => (t?.steps ?? []).filter((s) => !s.warmup);

function p99At(t: TargetRun | undefined, rate: number): number | null {
  return measuredSteps(t).find((s) => s.offered === rate)?.latency.p99 ?? null;
}

/** a / b to 3 significant digits. */
function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || b === 0) return null;
  const r = a / b;
  return r === 0 ? 0 : Number(r.toPrecision(3));
}

export interface Derived {
  readonly ratios: Record<string, { maxSustained: number | null; maxSustainedNote?: string; p99At200: number | null }>;
  readonly checks: { readonly text: string; readonly pass: boolean | null }[];
  readonly otherLoadCores: number | null;
  readonly otherLoadCoresMax: number | null;
}

export function derive(run: BenchRun): Derived {
  const by = new Map(run.targets.map((t) => [t.id, t]));
  const d = by.get('d');
  const ratios: Derived['ratios'] = {};
  for (const id of ['a', 'b', 'c'] as const) {
    const x = by.get(id);
    if (d === undefined || x === undefined) continue;
    const note =
      x.censored || d.censored
        ? `${d.censored ? '(d) never failed: its maximum is higher. ' : ''}${x.censored ? `(${id}) never failed: its maximum is higher.` : ''}`.trim()
        : undefined;
    ratios[`d/${id}`] = {
      maxSustained: ratio(d.maxSustained, x.maxSustained),
      ...(note !== undefined && { maxSustainedNote: note }),
      p99At200: ratio(p99At(d, 200), p99At(x, 200)),
    };
  }
  const checks: Derived['checks'] = [];
  const c = by.get('c');
  if (d !== undefined && c !== undefined) {
    const cMax = c.maxSustained;
    const good = measuredSteps(d).filter((s) => s.passed && !s.afterFailure && s.latency.p99 !== null && s.latency.p99 < 50 && s.dup === 0 && s.lost === 0);
    let best: number | null = null;
    for (const s of measuredSteps(d)) {
      if (!good.includes(s)) break;
      best = s.offered;
    }
    checks.push({
      text:
        `Waypost sustains ≥ 60% of (c)'s max (${cMax === null ? '—' : `0.6 × ${cMax} = ${Math.round(0.6 * cMax)}`} posts/s) with p99 < 50 ms, no loss, no duplicates: ` +
        `best such rate ${best ?? 'none'} posts/s`,
      pass: cMax === null ? null : best !== null && best >= 0.6 * cMax,
    });
    const d200 = p99At(d, 200);
    const c200 = p99At(c, 200);
    checks.push({
      text: `Waypost's p99 at 200 posts/s within 3× (c)'s: ${d200 ?? '—'} ms against 3 × ${c200 ?? '—'} = ${c200 === null ? '—' : Math.round(3 * c200 * 100) / 100} ms`,
      pass: d200 === null || c200 === null ? null : d200 <= 3 * c200,
    });
  }
  const others = run.targets.flatMap((t) => t.steps).flatMap((s) => (s.cpu === undefined || s.cpu.wallMs === 0 ? [] : [s.cpu.otherMs / s.cpu.wallMs]));
  return {
    ratios,
    checks,
    otherLoadCores: others.length === 0 ? null : Math.round((others.reduce((a, b) => a + b, 0) / others.length) * 100) / 100,
    otherLoadCoresMax: others.length === 0 ? null : Math.round(Math.max(...others) * 100) / 100,
  };
}

// ------------------------------------------------------------ Markdown

const cell = (x: number | null | undefined, suffix = '') => (x === null || x === undefined ? '—' : `${x}${suffix}`);

function perPost(ms: number | undefined, posts: number): string {
  return ms === undefined || posts === 0 ? '—' : (ms / posts).toFixed(2);
}

export function markdown(run: BenchRun, derived: Derived): string {
  const w = run.workload;
  const L: string[] = [];
  L.push(`# Waypost bench: ${run.name}${run.preset === 'quick' ? ' (quick smoke preset)' : ''}`, '');
  L.push(
    `Run ${run.startedAt.replace('T', ' ').slice(0, 19)} to ${run.finishedAt.slice(11, 19)} UTC on ${run.machine.cpus} × ${run.machine.cpuModel}, ` +
      `${run.machine.memoryGb} GB, Node ${run.machine.node}, ${run.machine.java}.` +
      (run.revision === undefined
        ? ''
        : ` Code: commit \`${run.revision.commit ?? 'unknown'}\`${run.revision.uncommitted.length > 0 ? ` plus uncommitted changes to ${run.revision.uncommitted.slice(0, 8).map((f) => `\`${f}\``).join(', ')}${run.revision.uncommitted.length > 8 ? ', …' : ''}` : ''}.`),
    '',
    `**Noise.** This machine was shared with other developers' test runs while the bench ran ` +
      `(load average ${run.machine.loadAverageStart.join(' / ')} at the start, ${run.machine.loadAverageEnd.join(' / ')} at the end; ` +
      `other processes used ${derived.otherLoadCores ?? '—'} of the ${run.machine.cpus} cores on average during the steps, ${derived.otherLoadCoresMax ?? '—'} at most; ` +
      `see the last column of the step table). ` +
      `Absolute numbers are noisy; the ratios, measured on the same workload minutes apart, are the point.`,
    '',
    `**Workload.** ${w.rooms} order rooms × ${w.subscribers} subscribers = ${w.rooms * w.subscribers} subscriber sockets ` +
      `(Waypost: alternately retailers and dispatchers, JWT-authenticated) and ${w.drivers} driver sockets posting ~${w.payloadBytes}-byte frames, ` +
      `checkpoints (same-status \`picked_up\` progress updates) and messages alternating per room. ` +
      `Open loop: a fixed schedule per step (${w.stepSeconds} s, after an unmeasured ${w.warmupSeconds} s warm-up at ${w.warmupRate} posts/s, the same for every target, so the JVM and V8 have compiled their hot paths), latency from the scheduled send time ` +
      `to each subscriber's receipt on one clock; a delivery not received ${w.graceSeconds} s after the step is lost. ` +
      `A target stops at the first step with p99 > ${w.p99LimitMs} ms, a loss, an error reply or an unanswered post ` +
      `(after the warm-up and after a failed step the generator waits up to 30 s for the target to catch up; steps up to ${w.referenceRate} posts/s still run after a failure, for the p99 comparison). ` +
      `The load generator is one Node process (one batched send timer) sharing the ${run.machine.cpus} cores with the target ` +
      `(its CPU use and its own send lag are in the step table). (b) and (c) use DynamoDB Local with a file database in a temporary directory; ` +
      `(c)'s poller sleeps ${w.pollIdleMs} ms after an empty GetRecords.${w.profiled ? ' Waypost ran under `--cpu-prof --enable-source-maps`, which costs it a little.' : ''}`,
    '',
  );
  L.push('## Max sustained rate', '');
  L.push('| target | max sustained (posts/s) | p99 at 200/s (ms) | stopped by |', '| --- | ---: | ---: | --- |');
  for (const t of run.targets) {
    const max = t.maxSustained === null ? 'none' : `${t.censored ? '≥ ' : ''}${t.maxSustained}`;
    const at200 = measuredSteps(t).find((x) => x.offered === 200);
    L.push(`| ${t.label} | ${max} | ${cell(p99At(t, 200))}${at200?.afterFailure === true ? ' †' : ''} | ${t.error !== undefined ? `error: ${t.error.split('\n')[0]?.slice(0, 120)}` : t.censored ? 'nothing (every step passed)' : (t.stoppedBy ?? '—')} |`);
  }
  L.push('');
  if (Object.keys(derived.ratios).length > 0) {
    L.push('## Waypost (d) against the baselines', '');
    const ids = Object.keys(derived.ratios);
    L.push(`| ratio | ${ids.map((k) => `(${k.replace('/', ') / (')})`).join(' | ')} |`, `| --- | ${ids.map(() => '---:').join(' | ')} |`);
    L.push(`| max sustained rate | ${ids.map((k) => `${cell(derived.ratios[k]?.maxSustained)}${derived.ratios[k]?.maxSustainedNote !== undefined ? '*' : ''}`).join(' | ')} |`);
    L.push(`| p99 at 200 posts/s | ${ids.map((k) => cell(derived.ratios[k]?.p99At200)).join(' | ')} |`);
    const notes = ids.flatMap((k) => (derived.ratios[k]?.maxSustainedNote !== undefined ? [`(${k}) ${derived.ratios[k]?.maxSustainedNote}`] : []));
    if (notes.length > 0) L.push('', `\\* a lower bound or an upper bound: ${notes.join(' ')}`);
    L.push('');
  }
  if (derived.checks.length > 0) {
    L.push("## Issue 6's targets for Waypost", '');
    for (const c of derived.checks) L.push(`- ${c.pass === null ? '❔' : c.pass ? '✅' : '❌'} ${c.text}`);
    L.push('');
  }
  if (run.engine !== undefined && run.engine.length > 0) {
    L.push(
      '## The engine alone',
      '',
      'DynamoDB Local with a file database, driven directly with the SDK from one process (no sockets), ~300-byte items:',
      '',
      '| operation | writers | ops/s |',
      '| --- | ---: | ---: |',
      ...run.engine.map((e) => `| ${e.op} | ${e.writers} | ${e.opsPerSecond} |`),
      '',
    );
  }
  L.push(`![p50 and p99 against offered rate](${run.name}.svg)`, '');
  L.push('## Steps', '');
  L.push(
    '| target | offered | achieved | p50 ms | p99 ms | max ms | lost | dup | errors | ack p99 ms | gen. lag p99 ms | target CPU ms/post (Java) | other load (cores) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const t of run.targets) {
    for (const s of measuredSteps(t)) {
      const errs = s.errorCount + s.unacked;
      L.push(
        `| ${t.label} | ${s.offered}${s.afterFailure ? ' †' : ''} | ${s.achieved} | ${cell(s.latency.p50)} | ${cell(s.latency.p99)} | ${cell(s.latency.max)} | ${s.lost}${s.late > 0 ? ` (${s.late} late)` : ''} | ${s.dup} | ${errs} | ${cell(s.ack.p99)} | ${cell(s.sendLag.p99)} | ` +
          `${perPost(s.cpu?.targetMs, s.posts)} (${perPost(s.cpu?.javaMs, s.posts)}) | ${s.cpu === undefined ? '—' : (s.cpu.otherMs / s.cpu.wallMs).toFixed(2)} |`,
      );
    }
  }
  if (run.targets.some((t) => t.steps.some((s) => s.afterFailure))) {
    L.push('', `† run after the target had already failed, only so that p99 at ${w.referenceRate} posts/s can be compared; not part of its sustained rate.`);
  }
  L.push('');
  for (const t of run.targets) {
    if (t.profile === undefined) continue;
    const p = t.profile;
    L.push(
      `## CPU profile of ${t.label}`,
      '',
      `\`--cpu-prof\` of the runtime's Node process, ${p.trimmedToSteps ? 'measured steps only' : 'whole run (the step windows did not match the profile clock)'}: ` +
        `${p.busyMs} ms busy in ${p.windowMs} ms (${p.windowMs > 0 ? ((100 * p.busyMs) / p.windowMs).toFixed(0) : '—'}% of one core). ` +
        `DynamoDB Local's Java is not in it: see the CPU column above.`,
      '',
      '| self ms | % busy | function | where |',
      '| ---: | ---: | --- | --- |',
      ...p.top.slice(0, 20).map((e) => `| ${e.selfMs} | ${e.pct} | \`${e.fn}\` | ${e.where === '' ? '' : `\`${e.where}\``} |`),
      '',
      "Our own functions by inclusive time on the synchronous stack (who calls the costly library code; awaited work is not included):",
      '',
      '| incl. ms | % busy | function | where |',
      '| ---: | ---: | --- | --- |',
      ...p.ours.slice(0, 12).map((e) => `| ${e.selfMs} | ${e.pct} | \`${e.fn}\` | \`${e.where}\` |`),
      '',
      'By area (self time):',
      '',
      '| area | self ms | % busy |',
      '| --- | ---: | ---: |',
      ...p.areas.map((a) => `| ${a.area} | ${a.selfMs} | ${a.pct} |`),
      '',
    );
  }
  return L.join('\n');
}

// ------------------------------------------------------------ SVG

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const num = (x: number) => (Math.round(x * 10) / 10).toString();

export function svg(run: BenchRun): string {
  const W = 820;
  const H = 460;
  const m = { l: 64, r: 190, t: 44, b: 52 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const series = run.targets.map((t) => ({ t, steps: measuredSteps(t) }));
  const rates = series.flatMap((s) => s.steps.map((x) => x.offered));
  const lats = series.flatMap((s) => s.steps.flatMap((x) => [x.latency.p50, x.latency.p99].filter((v): v is number => v !== null && v > 0)));
  const xMin = rates.length > 0 ? Math.min(...rates) : 100;
  const xMax = rates.length > 0 ? Math.max(...rates, xMin * 2) : 1000;
  const yMin = 10 ** Math.floor(Math.log10(Math.max(0.05, Math.min(...lats, run.workload.p99LimitMs))));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...lats, run.workload.p99LimitMs * 2)));
  const X = (r: number) => m.l + (pw * Math.log(r / xMin)) / Math.log(xMax / xMin);
  const Y = (v: number) => m.t + ph - (ph * Math.log(Math.max(v, yMin) / yMin)) / Math.log(yMax / yMin);
  const o: string[] = [];
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${m.l}" y="22" font-size="15" font-weight="600">Post → subscriber latency against offered rate (${esc(run.name)}${run.preset === 'quick' ? ', quick preset' : ''})</text>`,
    `<text x="${m.l}" y="37" fill="#555">${esc(`${run.workload.rooms} rooms × ${run.workload.subscribers} subscribers, ${run.workload.drivers} drivers, open loop, ${run.machine.cpus} shared cores (noisy); log scales`)}</text>`,
  );
  // Grid and axes.
  for (let e = Math.log10(yMin); e <= Math.log10(yMax) + 1e-9; e++) {
    for (const k of [1, 2, 5]) {
      const v = k * 10 ** e;
      if (v < yMin || v > yMax) continue;
      const y = Y(v);
      o.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${num(y)}" y2="${num(y)}" stroke="${k === 1 ? '#ddd' : '#f0f0f0'}"/>`);
      if (k === 1 || ph / Math.log10(yMax / yMin) > 90) o.push(`<text x="${m.l - 6}" y="${num(y + 4)}" text-anchor="end" fill="#444">${v >= 1 ? v : v.toFixed(Math.ceil(-e))}</text>`);
    }
  }
  const ticks = [...new Set(rates)].sort((a, b) => a - b);
  let lastX = -Infinity;
  for (const r of ticks) {
    const x = X(r);
    o.push(`<line x1="${num(x)}" x2="${num(x)}" y1="${m.t}" y2="${m.t + ph}" stroke="#f0f0f0"/>`);
    if (x - lastX >= 34) {
      o.push(`<text x="${num(x)}" y="${m.t + ph + 16}" text-anchor="middle" fill="#444">${r >= 1000 ? `${r / 1000}k` : r}</text>`);
      lastX = x;
    }
  }
  o.push(
    `<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`,
    `<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">offered rate (posts/s)</text>`,
    `<text transform="translate(16 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">latency (ms)</text>`,
  );
  const limitY = Y(run.workload.p99LimitMs);
  o.push(
    `<line x1="${m.l}" x2="${m.l + pw}" y1="${num(limitY)}" y2="${num(limitY)}" stroke="#999" stroke-dasharray="2 3"/>`,
    `<text x="${m.l + 4}" y="${num(limitY - 4)}" fill="#777">p99 limit ${run.workload.p99LimitMs} ms</text>`,
  );
  // Series.
  for (const { t, steps } of series) {
    const color = COLORS[t.id];
    for (const [key, dash] of [
      ['p99', ''],
      ['p50', ' stroke-dasharray="5 4"'],
    ] as const) {
      const pts = steps.flatMap((s) => {
        const v = s.latency[key];
        return v === null ? [] : [{ x: X(s.offered), y: Y(v), passed: s.passed }];
      });
      if (pts.length === 0) continue;
      o.push(`<polyline fill="none" stroke="${color}" stroke-width="${key === 'p99' ? 2 : 1.5}"${dash} points="${pts.map((p) => `${num(p.x)},${num(p.y)}`).join(' ')}"/>`);
      for (const p of pts) {
        o.push(
          key === 'p99'
            ? `<circle cx="${num(p.x)}" cy="${num(p.y)}" r="3.5" fill="${p.passed ? color : '#fff'}" stroke="${color}" stroke-width="1.5"/>`
            : `<rect x="${num(p.x - 2.5)}" y="${num(p.y - 2.5)}" width="5" height="5" fill="${color}"/>`,
        );
      }
    }
  }
  // Legend.
  const lx = m.l + pw + 16;
  let ly = m.t + 8;
  for (const { t } of series) {
    o.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${COLORS[t.id]}" stroke-width="2.5"/>`,
      `<text x="${lx + 28}" y="${ly + 4}">${esc(t.label)}</text>`,
    );
    ly += 20;
  }
  ly += 8;
  o.push(
    `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="#333" stroke-width="2"/><circle cx="${lx + 11}" cy="${ly}" r="3.5" fill="#333"/>`,
    `<text x="${lx + 28}" y="${ly + 4}">p99</text>`,
    `<line x1="${lx}" x2="${lx + 22}" y1="${ly + 20}" y2="${ly + 20}" stroke="#333" stroke-width="1.5" stroke-dasharray="5 4"/><rect x="${lx + 8.5}" y="${ly + 17.5}" width="5" height="5" fill="#333"/>`,
    `<text x="${lx + 28}" y="${ly + 24}">p50</text>`,
    `<circle cx="${lx + 11}" cy="${ly + 40}" r="3.5" fill="#fff" stroke="#333" stroke-width="1.5"/>`,
    `<text x="${lx + 28}" y="${ly + 44}">failing step</text>`,
  );
  let my = ly + 74;
  o.push(`<text x="${lx}" y="${my}" font-weight="600">max sustained</text>`);
  for (const { t } of series) {
    my += 17;
    o.push(`<text x="${lx}" y="${my}" fill="${COLORS[t.id]}">${esc(`(${t.id}) ${t.maxSustained === null ? 'none' : `${t.censored ? '≥ ' : ''}${t.maxSustained}`} posts/s`)}</text>`);
  }
  o.push('</svg>');
  return `${o.join('\n')}\n`;
}

// ------------------------------------------------------------ files

export function writeReports(run: BenchRun, dir: string, write: boolean): { markdown: string; files: string[] } {
  const derived = derive(run);
  const md = markdown(run, derived);
  if (!write) return { markdown: md, files: [] };
  mkdirSync(dir, { recursive: true });
  const files = [join(dir, `${run.name}.json`), join(dir, `${run.name}.md`), join(dir, `${run.name}.svg`)];
  writeFileSync(files[0]!, `${JSON.stringify({ ...run, derived }, null, 1)}\n`);
  writeFileSync(files[1]!, `${md}\n`);
  writeFileSync(files[2]!, svg(run));
  return { markdown: md, files };
}

/** `node --import tsx bench/report.ts bench/results/<name>.json`: write its .md and .svg again (after a change to this file). */
if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node --import tsx bench/report.ts bench/results/<name>.json\n');
    process.exit(2);
  }
  const { derived: _old, ...run } = JSON.parse(readFileSync(file, 'utf8')) as BenchRun & { derived?: unknown };
  const { files } = writeReports({ ...run, name: basename(file, '.json') }, dirname(file), true);
  process.stdout.write(`Wrote ${files.join(', ')}\n`);
}
