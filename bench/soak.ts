/**
 * `npm run soak`: issue 6's soak. Waypost's local runtime on a file DB, 1,000
 * WebSockets of mixed roles (200 drivers posting, 800 retailers and
 * dispatchers watching 200 order rooms), posting for 10 minutes at half the
 * maximum sustained rate of the latest full bench, open loop, in back-to-back
 * 10 s windows. Every 10 s it samples the runtime's memory (V8 heap and RSS
 * of the Node process, RSS of DynamoDB Local's JVM) and CPU. It checks that
 * nothing was lost or duplicated and that memory did not grow beyond noise,
 * and writes bench/results/<date>-soak.{json,md,svg}.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ArgError, intFlag, numberFlag, parseArgs, stringFlag, usage, type FlagSpec } from './lib/args';
import { ROOT, spawnWaypost, stopAll, treeCpuMs, treeRssMib, type Child } from './lib/procs';
import { machineInfo, type MachineInfo } from './lib/machine';
import { revision } from './lib/revision';
import type { LoadgenConfig, LoadgenMessage, OrchestratorMessage, SetupSummary, StepResult } from './protocol';

const FLAGS: FlagSpec[] = [
  { name: 'minutes', kind: 'number', help: 'how long to post (default 10)' },
  { name: 'rate', kind: 'number', help: 'posts/s (default: half the max sustained rate of Waypost in the latest full bench result, else 50)' },
  { name: 'rooms', kind: 'int', help: 'order rooms, one driver socket each (default 200)' },
  { name: 'subs', kind: 'int', help: 'watchers per room, alternately retailers and dispatchers (default 4: 200 + 800 = 1,000 sockets)' },
  { name: 'sample-seconds', kind: 'number', help: 'memory and CPU sample interval, and window length (default 10)' },
  { name: 'out', kind: 'string', help: 'results name (default <date>-soak)' },
  { name: 'help', kind: 'switch', help: 'this text' },
];

interface MemorySample {
  /** Seconds since the soak's first window started. */
  readonly t: number;
  readonly heapUsedMib: number;
  readonly heapTotalMib: number;
  readonly externalMib: number;
  readonly nodeRssMib: number;
  readonly javaRssMib: number;
  /** Cores used since the previous sample: the runtime's Node process tree (Java included) and Java alone. */
  readonly targetCores: number;
  readonly javaCores: number;
}

interface SoakRun {
  readonly name: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly revision: ReturnType<typeof revision>;
  readonly machine: MachineInfo;
  readonly settings: { minutes: number; rate: number; rateSource: string; rooms: number; subs: number; sockets: number; sampleSeconds: number };
  readonly setup: SetupSummary;
  readonly windows: StepResult[];
  readonly memory: MemorySample[];
  readonly verdict: Verdict;
}

interface Verdict {
  readonly posts: number;
  readonly expectedDeliveries: number;
  readonly lost: number;
  readonly dup: number;
  readonly errors: number;
  readonly unacked: number;
  readonly worstP99: number | null;
  readonly medianP99: number | null;
  /** Least-squares slope of the V8 heap after the first 2 minutes, MiB per minute. */
  readonly heapSlopeMibPerMin: number;
  readonly heapFirstMib: number;
  readonly heapLastMib: number;
  readonly nodeRssFirstMib: number;
  readonly nodeRssLastMib: number;
  readonly javaRssFirstMib: number;
  readonly javaRssLastMib: number;
  readonly noLossNoDup: boolean;
  readonly memoryFlat: boolean;
  readonly memoryRule: string;
}

const log = (line: string) => process.stdout.write(`${line}\n`);
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Half the max sustained rate of (d) in the newest full (not quick, not profiled) bench result. */
function defaultRate(): { rate: number; source: string } {
  const dir = resolve(ROOT, 'bench/results');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^\d{4}-\d{2}-\d{2}\.json$/.test(f)).sort() : [];
  for (const f of files.reverse()) {
    try {
      const run = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { targets?: { id: string; maxSustained: number | null }[] };
      const max = run.targets?.find((t) => t.id === 'd')?.maxSustained;
      if (typeof max === 'number' && max > 0) return { rate: max / 2, source: `half of Waypost's ${max} posts/s in bench/results/${f}` };
    } catch {
      // not a bench result: try the next
    }
  }
  return { rate: 50, source: 'no full bench result found: 50 posts/s' };
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const sxy = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const sxx = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

/** Mean of the samples in [from, to) seconds. */
function meanOver(samples: MemorySample[], pick: (s: MemorySample) => number, from: number, to: number): number {
  const xs = samples.filter((s) => s.t >= from && s.t < to).map(pick);
  return xs.length === 0 ? 0 : Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 10) / 10;
}

function judge(windows: StepResult[], memory: MemorySample[], minutes: number): Verdict {
  const sum = (f: (w: StepResult) => number) => windows.reduce((a, w) => a + f(w), 0);
  const p99s = windows.map((w) => w.latency.p99).filter((x): x is number => x !== null);
  const total = minutes * 60;
  // The first 2 minutes are the heap finding its working size (caches fill up to their bounds).
  const settleAt = Math.min(120, total / 3);
  const span = Math.min(120, total / 5);
  const settled = memory.filter((s) => s.t >= settleAt);
  const settledMinutes = settled.length > 0 ? (settled[settled.length - 1]!.t - settled[0]!.t) / 60 : 0;
  const first = (pick: (s: MemorySample) => number) => meanOver(memory, pick, settleAt, settleAt + span);
  const last = (pick: (s: MemorySample) => number) => meanOver(memory, pick, total - span, total + 60);
  /** Growth over the settled part by its least-squares trend, MiB. */
  const trend = (pick: (s: MemorySample) => number) => slope(settled.map((s) => ({ x: s.t / 60, y: pick(s) })));
  const heap = (s: MemorySample) => s.heapUsedMib;
  const nodeRss = (s: MemorySample) => s.nodeRssMib;
  const javaRss = (s: MemorySample) => s.javaRssMib;
  const heapSlope = trend(heap);
  // Flat: over the settled part the heap grows by less than 10% of its size (or 8 MiB) in total, the RSS by less than 10% (or 16 MiB).
  const growth = heapSlope * settledMinutes;
  const allowance = Math.max(8, 0.1 * first(heap));
  const rssGrowth = trend(nodeRss) * settledMinutes;
  const rssAllowance = Math.max(16, 0.1 * meanOver(memory, nodeRss, settleAt, total + 60));
  const lost = sum((w) => w.lost);
  const dup = sum((w) => w.dup);
  const errors = sum((w) => w.errorCount);
  const unacked = sum((w) => w.unacked);
  return {
    posts: sum((w) => w.posts),
    expectedDeliveries: sum((w) => w.expectedDeliveries),
    lost,
    dup,
    errors,
    unacked,
    worstP99: p99s.length > 0 ? Math.max(...p99s) : null,
    medianP99: median(p99s),
    heapSlopeMibPerMin: Math.round(heapSlope * 100) / 100,
    heapFirstMib: first(heap),
    heapLastMib: last(heap),
    nodeRssFirstMib: first(nodeRss),
    nodeRssLastMib: last(nodeRss),
    javaRssFirstMib: first(javaRss),
    javaRssLastMib: last(javaRss),
    noLossNoDup: lost === 0 && dup === 0 && errors === 0 && unacked === 0,
    memoryFlat: growth < allowance && rssGrowth < rssAllowance,
    memoryRule:
      `after the first ${Math.round(settleAt)} s, the trend of the V8 heap is ${growth.toFixed(1)} MiB over the rest of the soak (allowed: ${allowance.toFixed(1)} MiB, 10% of the heap or at least 8 MiB) ` +
      `and of the Node process's RSS ${rssGrowth.toFixed(1)} MiB (allowed: ${rssAllowance.toFixed(1)} MiB, 10% or at least 16 MiB)`,
  };
}

function svg(memory: MemorySample[]): string {
  const W = 720;
  const H = 300;
  const L = 60;
  const B = 40;
  const maxT = Math.max(60, ...memory.map((s) => s.t));
  const series: { name: string; color: string; pick: (s: MemorySample) => number }[] = [
    { name: 'Node RSS', color: '#1f77b4', pick: (s) => s.nodeRssMib },
    { name: 'V8 heap used', color: '#2ca02c', pick: (s) => s.heapUsedMib },
    { name: 'Java RSS (DynamoDB Local)', color: '#d62728', pick: (s) => s.javaRssMib },
  ];
  const maxY = Math.max(64, ...memory.flatMap((s) => series.map((x) => x.pick(s)))) * 1.1;
  const x = (t: number) => L + ((W - L - 20) * t) / maxT;
  const y = (v: number) => H - B - ((H - B - 20) * v) / maxY;
  const lines = series
    .map(
      (se, i) =>
        `<polyline fill="none" stroke="${se.color}" stroke-width="2" points="${memory.map((s) => `${x(s.t).toFixed(1)},${y(se.pick(s)).toFixed(1)}`).join(' ')}"/>` +
        `<text x="${L + 10}" y="${20 + i * 16}" font-size="12" fill="${se.color}">${se.name}</text>`,
    )
    .join('');
  const ticks = Array.from({ length: 5 }, (_, i) => (maxY * i) / 4)
    .map((v) => `<text x="${L - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${Math.round(v)}</text><line x1="${L}" x2="${W - 20}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`)
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>${ticks}` +
    `<line x1="${L}" x2="${L}" y1="20" y2="${H - B}" stroke="#333"/><line x1="${L}" x2="${W - 20}" y1="${H - B}" y2="${H - B}" stroke="#333"/>` +
    `<text x="${(W + L) / 2}" y="${H - 8}" font-size="12" text-anchor="middle">seconds into the soak</text>` +
    `<text x="14" y="${H / 2}" font-size="12" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">MiB</text>` +
    `<text x="${x(maxT)}" y="${H - B + 14}" font-size="11" text-anchor="end">${Math.round(maxT)}</text>` +
    `${lines}</svg>\n`
  );
}

function markdown(run: SoakRun): string {
  const v = run.verdict;
  const s = run.settings;
  const ok = (b: boolean) => (b ? '✅' : '❌');
  const rows = run.memory
    .map(
      (m) =>
        `| ${m.t} | ${m.heapUsedMib} | ${m.heapTotalMib} | ${m.nodeRssMib} | ${m.javaRssMib} | ${m.targetCores.toFixed(2)} | ${m.javaCores.toFixed(2)} |`,
    )
    .join('\n');
  const windows = run.windows
    .map(
      (w, i) =>
        `| ${i + 1} | ${w.posts} | ${w.delivered} | ${w.lost} | ${w.dup} | ${w.errorCount} | ${w.latency.p50 ?? '—'} | ${w.latency.p99 ?? '—'} | ${w.latency.max ?? '—'} | ${w.ack.p99 ?? '—'} |`,
    )
    .join('\n');
  return `# Waypost soak: ${run.name}

Run ${run.startedAt.replace('T', ' ').slice(0, 19)} to ${run.finishedAt.replace('T', ' ').slice(11, 19)} UTC on ${run.machine.cpus} × ${String(run.machine.cpuModel).split(' ').slice(0, 2).join(' ')}, ${run.machine.memoryGb} GB, Node ${run.machine.node}. Code: commit \`${run.revision.commit}\`${run.revision.uncommitted.length > 0 ? ` plus uncommitted changes to ${run.revision.uncommitted.map((f) => `\`${f}\``).join(', ')}` : ''}. Load average at the start ${run.machine.loadAverageStart.join(' / ')}, at the end ${run.machine.loadAverageEnd.join(' / ')}.

**Workload.** Waypost's local runtime (\`npm start\`'s code) on a file database. ${s.sockets} WebSockets: ${s.rooms} drivers posting ~300-byte checkpoints and messages, and ${s.rooms * s.subs} watchers (alternately retailers and dispatchers, ${s.subs} per order room) of ${s.rooms} order rooms. ${s.rate} posts/s (${s.rateSource}) for ${s.minutes} minutes, open loop, in back-to-back ${s.sampleSeconds} s windows after a warm-up; memory and CPU sampled every ${s.sampleSeconds} s. Setup: ${run.setup.sockets} sockets and ${run.setup.orders} orders in ${run.setup.seconds} s.

## Verdict

- ${ok(v.noLossNoDup)} ${v.posts} posts, ${v.expectedDeliveries} deliveries expected: ${v.lost} lost, ${v.dup} duplicated, ${v.errors} error replies, ${v.unacked} unanswered.
- ${ok(v.memoryFlat)} Memory: ${v.memoryRule}. Heap slope ${v.heapSlopeMibPerMin} MiB/min. DynamoDB Local's JVM is reported, not judged: it grows its heap lazily toward its default maximum and holds the growing database's pages.
- V8 heap used ${v.heapFirstMib} → ${v.heapLastMib} MiB; Node RSS ${v.nodeRssFirstMib} → ${v.nodeRssLastMib} MiB; DynamoDB Local's JVM RSS ${v.javaRssFirstMib} → ${v.javaRssLastMib} MiB (means over the first settled and the last ${Math.round(Math.min(120, (s.minutes * 60) / 5))} s).
- Latency, post → each watcher: p99 per window median ${v.medianP99 ?? '—'} ms, worst ${v.worstP99 ?? '—'} ms.

![memory over the soak](${run.name}.svg)

## Memory and CPU, every ${s.sampleSeconds} s

| t (s) | V8 heap used (MiB) | V8 heap total (MiB) | Node RSS (MiB) | Java RSS (MiB) | runtime cores | of which Java |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows}

## Windows

| window | posts | delivered | lost | dup | errors | p50 ms | p99 ms | max ms | ack p99 ms |
| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${windows}
`;
}

async function main(): Promise<void> {
  const p = parseArgs(process.argv.slice(2), FLAGS);
  if (p.has('help')) {
    log(usage('npm run soak -- [flags]', FLAGS));
    return;
  }
  const date = new Date().toISOString().slice(0, 10);
  const minutes = numberFlag(p, 'minutes', 10, 0.5, 24 * 60);
  const fallback = defaultRate();
  const rate = p.has('rate') ? numberFlag(p, 'rate', fallback.rate, 1, 1e5) : fallback.rate;
  const rateSource = p.has('rate') ? 'set with --rate' : fallback.source;
  const rooms = intFlag(p, 'rooms', 200, 1, 5000);
  const subs = intFlag(p, 'subs', 4, 1, 250);
  const sampleSeconds = numberFlag(p, 'sample-seconds', 10, 1, 600);
  const name = stringFlag(p, 'out') ?? `${date}-soak`;
  const windows = Math.max(1, Math.round((minutes * 60) / sampleSeconds));
  const settings = { minutes, rate, rateSource, rooms, subs, sockets: rooms + rooms * subs, sampleSeconds };
  log(`Waypost soak: ${settings.sockets} sockets, ${rate} posts/s (${rateSource}) for ${minutes} min, samples every ${sampleSeconds} s`);

  const startedAt = new Date().toISOString();
  const code = revision();
  const loadStart = loadavg();
  const dataDir = mkdtempSync(join(tmpdir(), 'waypost-soak-'));
  const jwtSecret = randomBytes(24).toString('hex');
  let child: Child | undefined;
  try {
    const spawned = await spawnWaypost({ dataDir, jwtSecret });
    child = spawned.child;
    const target = child;
    const baseUrl = `http://127.0.0.1:${spawned.port}`;
    const config: LoadgenConfig = {
      target: 'd',
      kind: 'waypost',
      baseUrl,
      jwtSecret,
      runId: `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`,
      rooms,
      subscribers: subs,
      drivers: rooms,
      steps: [rate],
      stepSeconds: sampleSeconds,
      graceSeconds: 5,
      warmupSeconds: 15,
      warmupRate: rate,
      payloadBytes: 300,
      p99LimitMs: 100,
      referenceRate: 0,
      connectConcurrency: 20,
      soakWindows: windows,
    };
    const memory: MemorySample[] = [];
    let soakStart: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    let lastCpu = treeCpuMs(target.pid);
    let lastWall = performance.now();
    const takeSample = async () => {
      if (soakStart === undefined) return;
      const res = await fetch(`${baseUrl}/_local/memory`);
      const m = (await res.json()) as NodeJS.MemoryUsage;
      const rss = treeRssMib(target.pid);
      const cpu = treeCpuMs(target.pid);
      const wall = performance.now();
      const s: MemorySample = {
        t: Math.round((wall - soakStart) / 1000),
        heapUsedMib: mib(m.heapUsed),
        heapTotalMib: mib(m.heapTotal),
        externalMib: mib(m.external),
        nodeRssMib: mib(m.rss),
        javaRssMib: rss.java,
        targetCores: Math.round(((cpu.total - lastCpu.total) / (wall - lastWall)) * 100) / 100,
        javaCores: Math.round(((cpu.java - lastCpu.java) / (wall - lastWall)) * 100) / 100,
      };
      lastCpu = cpu;
      lastWall = wall;
      memory.push(s);
      log(`    ${String(s.t).padStart(4)} s: heap ${s.heapUsedMib} MiB, Node RSS ${s.nodeRssMib} MiB, Java RSS ${s.javaRssMib} MiB, cores ${s.targetCores} (Java ${s.javaCores})`);
    };

    const gen = fork(resolve(ROOT, 'bench/loadgen.ts'), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const { setup, steps } = await new Promise<{ setup: SetupSummary; steps: StepResult[] }>((done, fail) => {
      let setupSummary: SetupSummary | undefined;
      let windowsSeen = 0;
      gen.on('message', (m: LoadgenMessage) => {
        if (m.type === 'setup') {
          setupSummary = m.summary;
          log(`    setup: ${m.summary.sockets} sockets, ${m.summary.orders} orders in ${m.summary.seconds} s; warming up …`);
        } else if (m.type === 'step-start' && !m.warmup && soakStart === undefined) {
          soakStart = performance.now();
          lastCpu = treeCpuMs(target.pid);
          lastWall = soakStart;
          timer = setInterval(() => void takeSample().catch((err: unknown) => log(`    sample failed: ${String(err)}`)), sampleSeconds * 1000);
          log('    soaking …');
        } else if (m.type === 'step-end' && !m.result.warmup) {
          const r = m.result;
          windowsSeen++;
          if (!r.passed || windowsSeen % 6 === 0) {
            log(`    window ${windowsSeen}/${windows}: p50 ${r.latency.p50} p99 ${r.latency.p99} ms, lost ${r.lost}, dup ${r.dup}, errors ${r.errorCount}, unacked ${r.unacked}`);
          }
        } else if (m.type === 'done') {
          if (setupSummary === undefined) fail(new Error('load generator finished without a setup'));
          else done({ setup: setupSummary, steps: [...m.steps] });
        } else if (m.type === 'failed') {
          fail(new Error(`load generator failed: ${m.error}`));
        }
      });
      gen.once('exit', (code) => fail(new Error(`load generator exited (${code}) before finishing`)));
      target.exited.then((code) => fail(new Error(`Waypost exited (${code}) during the soak:\n${target.output().slice(-3000)}`)), () => undefined);
      const msg: OrchestratorMessage = { type: 'config', config };
      gen.send(msg);
    });
    if (timer !== undefined) clearInterval(timer);
    if (performance.now() - lastWall > (sampleSeconds * 1000) / 2) await takeSample();
    const windowResults = steps.filter((r) => !r.warmup);
    const run: SoakRun = {
      name,
      startedAt,
      finishedAt: new Date().toISOString(),
      revision: code,
      machine: machineInfo(loadStart),

      settings,
      setup,
      windows: windowResults,
      memory,
      verdict: judge(windowResults, memory, minutes),
    };
    const dir = resolve(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${name}.json`), `${JSON.stringify(run, null, 2)}\n`);
    writeFileSync(join(dir, `${name}.svg`), svg(memory));
    const md = markdown(run);
    writeFileSync(join(dir, `${name}.md`), md);
    log(`\n${md.split('## Memory and CPU')[0]}`);
    log(`Wrote bench/results/${name}.{json,md,svg}`);
    if (!run.verdict.noLossNoDup || !run.verdict.memoryFlat) process.exitCode = 1;
  } finally {
    await child?.stop(10_000);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

process.on('SIGINT', () => void stopAll().finally(() => process.exit(130)));
process.on('SIGTERM', () => void stopAll().finally(() => process.exit(143)));

main()
  .catch((err: unknown) => {
    process.stderr.write(
      `${err instanceof ArgError ? `soak: ${err.message}\n\n${usage('npm run soak -- [flags]', FLAGS)}` : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = err instanceof ArgError ? 2 : 1;
  })
  .finally(() => stopAll());
