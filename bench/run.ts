/**
 * `npm run bench`: the speed benchmark of issue 6. On the same workload and
 * machine, one after another, four targets:
 *   (a) a bare `ws` room broadcast server,
 *   (b) the same server writing each post to DynamoDB Local (file DB) before broadcasting,
 *   (c) PutItem on DynamoDB Local (file DB), a poller on the table's stream, then broadcast,
 *   (d) Waypost's local runtime on a file DB (the full path, over the wire contract only).
 * Each target runs in its own process, the load generator in another; the
 * offered rate is stepped until p99 passes the limit or anything is lost.
 * Results: bench/results/<name>.json, .md and .svg (see bench/README.md).
 */
import { fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ArgError, intFlag, listFlag, numberFlag, parseArgs, stringFlag, usage, type FlagSpec } from './lib/args';
import { analyzeProfile } from './lib/profile';
import { machineBusyMs, ROOT, spawnTarget, spawnWaypost, stopAll, treeCpuMs, type Child } from './lib/procs';
import { machineInfo } from './lib/machine';
import { revision } from './lib/revision';
import { writeReports, type BenchRun, type TargetRun } from './report';
import type { EngineResult } from './engine-probe';
import type { LoadgenConfig, LoadgenMessage, OrchestratorMessage, SetupSummary, StepResult, TargetId } from './protocol';

const FLAGS: FlagSpec[] = [
  { name: 'quick', kind: 'switch', help: 'smoke-run preset (~2 minutes): 40 rooms × 4 subscribers, 40 drivers, 3 s steps 25…1600' },
  { name: 'targets', kind: 'string', help: 'which targets, e.g. a,b,c,d (default all four)' },
  { name: 'rooms', kind: 'int', help: 'R: order rooms (default 200)' },
  { name: 'subs', kind: 'int', help: 'S: subscribers per room (default 5)' },
  { name: 'drivers', kind: 'int', help: 'P: driver sockets posting (default: one per room, R)' },
  { name: 'steps', kind: 'list', help: 'offered rates, posts/s (default 25,50,100,150,200,250,300,400,500,600,800,1000,1500,2000,3000,4000,6000,8000,12000,16000)' },
  { name: 'step-seconds', kind: 'number', help: 'duration of each step (default 10)' },
  { name: 'grace-seconds', kind: 'number', help: 'wait after a step for late deliveries before counting losses (default 3)' },
  { name: 'warmup-seconds', kind: 'number', help: 'unmeasured warm-up before the first step, then a drain (default 15; quick 5; 0: none)' },
  { name: 'warmup-rate', kind: 'number', help: 'posts/s during the warm-up, the same for every target (default 100)' },
  { name: 'payload-bytes', kind: 'int', help: 'size of each posted frame (default 300)' },
  { name: 'p99-limit', kind: 'number', help: 'a step with p99 above this (ms) ends the target (default 100)' },
  { name: 'reference-rate', kind: 'number', help: 'after a failure, steps up to this rate still run, for the p99 comparison (default 200)' },
  { name: 'connect-concurrency', kind: 'int', help: 'sockets opened at once during setup (default 20)' },
  { name: 'poll-idle-ms', kind: 'number', help: "target (c): the stream poller's sleep after an empty poll (default 2)" },
  { name: 'engine', kind: 'switch', help: "first measure DynamoDB Local's own ceiling (file DB: PutItem, GetItem, 3-item TransactWriteItems; ~30 s)" },
  { name: 'profile', kind: 'switch', help: 'run Waypost with --cpu-prof and put its top self-time functions (measured steps only) in the results' },
  { name: 'out', kind: 'string', help: 'results name (default <date>, or <date>-quick with --quick)' },
  { name: 'no-write', kind: 'switch', help: 'print the results only; write nothing to bench/results' },
  { name: 'help', kind: 'switch', help: 'this text' },
];

const TARGETS: Record<TargetId, { label: string; description: string }> = {
  a: { label: '(a) bare ws', description: 'a bare ws room broadcast server (no storage): the limit of one Node process' },
  b: { label: '(b) ws + PutItem', description: 'the same server, one PutItem on DynamoDB Local (file DB) per post before broadcasting and acking' },
  c: { label: '(c) put → stream → ws', description: 'PutItem on DynamoDB Local (file DB), acked; a GetRecords poller on the table stream broadcasts' },
  d: { label: '(d) Waypost', description: "Waypost's local runtime (npm start) on a file DB: JWT auth, transactions, stream pump, fan-out via @connections" },
};

interface Settings {
  readonly preset: 'default' | 'quick';
  readonly targets: TargetId[];
  readonly base: Omit<LoadgenConfig, 'target' | 'kind' | 'baseUrl' | 'jwtSecret' | 'runId'>;
  readonly pollIdleMs: number;
  readonly profile: boolean;
  readonly engine: boolean;
  readonly out: string;
  readonly write: boolean;
}

function settings(argv: readonly string[]): Settings {
  const p = parseArgs(argv, FLAGS);
  if (p.has('help')) {
    process.stdout.write(`${usage('npm run bench -- [flags]', FLAGS)}\n`);
    process.exit(0);
  }
  const quick = p.has('quick');
  const targets = (stringFlag(p, 'targets') ?? 'a,b,c,d').split(',').map((s) => s.trim());
  for (const t of targets) if (!(t in TARGETS)) throw new ArgError(`--targets: "${t}" is not one of a, b, c, d`);
  const date = new Date().toISOString().slice(0, 10);
  return {
    preset: quick ? 'quick' : 'default',
    targets: [...new Set(targets)].sort() as TargetId[],
    base: {
      rooms: intFlag(p, 'rooms', quick ? 40 : 200),
      subscribers: intFlag(p, 'subs', quick ? 4 : 5, 1, 250),
      drivers: intFlag(p, 'drivers', intFlag(p, 'rooms', quick ? 40 : 200)),
      steps: listFlag(
        p,
        'steps',
        quick ? [25, 50, 100, 200, 300, 400, 600, 1000, 1600] : [25, 50, 100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 16000],
      ),
      stepSeconds: numberFlag(p, 'step-seconds', quick ? 3 : 10, 0.5, 3600),
      graceSeconds: numberFlag(p, 'grace-seconds', quick ? 2 : 3, 0, 600),
      warmupSeconds: numberFlag(p, 'warmup-seconds', quick ? 5 : 15, 0, 600),
      warmupRate: numberFlag(p, 'warmup-rate', 100, 1, 1e6),
      payloadBytes: intFlag(p, 'payload-bytes', 300, 200, 60_000),
      p99LimitMs: numberFlag(p, 'p99-limit', 100, 1, 60_000),
      referenceRate: numberFlag(p, 'reference-rate', 200, 0, 1e6),
      connectConcurrency: intFlag(p, 'connect-concurrency', 20, 1, 1000),
    },
    pollIdleMs: numberFlag(p, 'poll-idle-ms', 2, 0, 1000),
    profile: p.has('profile'),
    engine: p.has('engine'),
    out: stringFlag(p, 'out') ?? (quick ? `${date}-quick` : date),
    write: !p.has('no-write'),
  };
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

function fmt(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : String(x);
}

/** Run the load generator against a started target; CPU is sampled around each step. */
function drive(config: LoadgenConfig, target: Child): Promise<{ setup: SetupSummary; steps: StepResult[] }> {
  const gen = fork(resolve(ROOT, 'bench/loadgen.ts'), [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const genPid = gen.pid ?? 0;
  let setup: SetupSummary | undefined;
  const cpuByStep = new Map<number, NonNullable<StepResult['cpu']>>();
  let base: { target: { total: number; java: number }; gen: number; machine: number; own: number; wall: number } | undefined;
  const sample = () => ({
    target: treeCpuMs(target.pid),
    gen: treeCpuMs(genPid).total,
    machine: machineBusyMs(),
    own: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    wall: performance.now(),
  });
  return new Promise((resolveRun, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, value?: { setup: SetupSummary; steps: StepResult[] }) => {
      if (settled) return;
      settled = true;
      if (gen.exitCode === null) gen.kill('SIGKILL');
      if (err) reject(err);
      else resolveRun(value!);
    };
    gen.on('message', (m: LoadgenMessage) => {
      switch (m.type) {
        case 'setup':
          setup = m.summary;
          log(`    setup: ${m.summary.sockets} sockets${m.summary.orders > 0 ? `, ${m.summary.orders} orders` : ''} in ${m.summary.seconds} s`);
          break;
        case 'step-start':
          base = sample();
          break;
        case 'step-end': {
          const r = m.result;
          if (base !== undefined) {
            const now = sample();
            const targetMs = now.target.total - base.target.total;
            const loadgenMs = now.gen - base.gen;
            const ownMs = now.own - base.own;
            r.cpu = {
              targetMs: Math.round(targetMs),
              javaMs: Math.round(now.target.java - base.target.java),
              loadgenMs: Math.round(loadgenMs),
              otherMs: Math.max(0, Math.round(now.machine - base.machine - targetMs - loadgenMs - ownMs)),
              wallMs: Math.round(now.wall - base.wall),
            };
            cpuByStep.set(r.index, r.cpu);
          }
          const cores = (ms: number | undefined) => (ms === undefined || r.cpu === undefined ? '—' : (ms / r.cpu.wallMs).toFixed(2));
          log(
            `    ${r.warmup ? 'warm-up' : r.afterFailure ? 'ref.' : 'step'} ${String(r.offered).padStart(5)}/s: achieved ${r.achieved}/s, p50 ${fmt(r.latency.p50)} p99 ${fmt(r.latency.p99)} max ${fmt(r.latency.max)} ms, ` +
              `lost ${r.lost}, dup ${r.dup}, errors ${r.errorCount}, unacked ${r.unacked}; cores: target ${cores(r.cpu?.targetMs)}, generator ${cores(r.cpu?.loadgenMs)}, others ${cores(r.cpu?.otherMs)}` +
              (r.warmup ? '' : r.passed ? '' : `  ✗ ${r.failReason ?? ''}`),
          );
          break;
        }
        case 'done':
          if (setup === undefined) finish(new Error('load generator finished without a setup'));
          else finish(undefined, { setup, steps: m.steps.map((r) => ({ ...r, ...(cpuByStep.has(r.index) && { cpu: cpuByStep.get(r.index) }) })) });
          break;
        case 'failed':
          finish(new Error(`load generator failed: ${m.error}`));
          break;
      }
    });
    gen.once('exit', (code) => finish(new Error(`load generator exited (${code}) before finishing`)));
    target.exited.then((code) => finish(new Error(`target exited (${code}) during the run:\n${target.output().slice(-3000)}`)), () => undefined);
    const msg: OrchestratorMessage = { type: 'config', config };
    gen.send(msg);
  });
}

async function runTarget(id: TargetId, s: Settings, runId: string, profileRoot: string | undefined): Promise<TargetRun> {
  const meta = TARGETS[id];
  log(`\n${meta.label}: ${meta.description}`);
  const started = Date.now();
  let child: Child | undefined;
  let dataDir: string | undefined;
  let profileDir: string | undefined;
  try {
    let port: number;
    let jwtSecret: string | undefined;
    if (id === 'd') {
      dataDir = mkdtempSync(join(tmpdir(), 'waypost-bench-d-'));
      jwtSecret = randomBytes(24).toString('hex');
      if (profileRoot !== undefined) mkdirSync((profileDir = join(profileRoot, 'waypost')), { recursive: true });
      ({ child, port } = await spawnWaypost({ dataDir, jwtSecret, ...(profileDir !== undefined && { profileDir }) }));
    } else {
      const file = { a: 'bare-ws.ts', b: 'ws-dynamo.ts', c: 'stream-shape.ts' }[id];
      ({ child, port } = await spawnTarget(file, id === 'c' ? { BENCH_POLL_IDLE_MS: String(s.pollIdleMs) } : {}));
    }
    log(`    started in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${child.pid}, port ${port})`);
    const { setup, steps } = await drive(
      {
        ...s.base,
        target: id,
        kind: id === 'd' ? 'waypost' : 'bare',
        baseUrl: `http://127.0.0.1:${port}`,
        ...(jwtSecret !== undefined && { jwtSecret }),
        runId,
      },
      child,
    );
    await child.stop();
    const measured = steps.filter((r) => !r.warmup);
    let profile: TargetRun['profile'];
    if (profileDir !== undefined) {
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (others: tsx's loader thread).
      const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
      const file = files.find((f) => /\.0\.\d+\.cpuprofile$/.test(f)) ?? files[0];
      if (file === undefined) log('    (no CPU profile was written)');
      else {
        profile = analyzeProfile(join(profileDir, file), {
          root: ROOT,
          sourceMapsFile: join(profileDir, 'sourcemaps.json'),
          windowsUs: measured.map((r) => r.windowUs),
          top: 25,
        });
        log(`    CPU profile: ${file} (${profile.busyMs} ms busy over the measured steps)`);
      }
    }
    return { id, ...meta, setup, steps, ...summarizeTarget(measured), ...(profile !== undefined && { profile }) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log(`    FAILED: ${message.slice(0, 2000)}`);
    return { id, ...meta, steps: [], maxSustained: null, censored: false, error: message.slice(0, 4000) };
  } finally {
    await child?.stop(10_000);
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  }
}

function summarizeTarget(measured: readonly StepResult[]): { maxSustained: number | null; censored: boolean; stoppedBy?: string } {
  let max: number | null = null;
  for (const r of measured) {
    if (!r.passed || r.afterFailure) break;
    max = r.offered;
  }
  const failed = measured.find((r) => !r.passed && !r.afterFailure);
  return { maxSustained: max, censored: failed === undefined, ...(failed?.failReason !== undefined && { stoppedBy: `${failed.offered}/s: ${failed.failReason}` }) };
}

/** DynamoDB Local's own ceiling, in a process of its own. */
async function probeEngine(): Promise<EngineResult[] | undefined> {
  log('\nDynamoDB Local (file DB) alone: PutItem, GetItem, TransactWriteItems …');
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/engine-probe.ts'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.once('exit', r));
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) {
    log('    engine probe failed');
    return undefined;
  }
  const results = JSON.parse(line.slice('RESULT '.length)) as EngineResult[];
  for (const r of results) log(`    ${r.op.padEnd(30)} ${String(r.writers).padStart(2)} writer(s): ${r.opsPerSecond} ops/s`);
  return results;
}


async function main(): Promise<void> {
  const s = settings(process.argv.slice(2));
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const profileRoot = s.profile ? mkdtempSync(join(tmpdir(), 'waypost-bench-prof-')) : undefined;
  const startedAt = new Date().toISOString();
  const code = revision();
  const loadStart = loadavg();
  log(
    `Waypost bench (${s.preset}): ${s.base.rooms} rooms × ${s.base.subscribers} subscribers + ${s.base.drivers} drivers, ` +
      `steps ${s.base.steps.join(', ')} posts/s × ${s.base.stepSeconds} s, targets ${s.targets.join(', ')}` +
      `\nMachine: ${cpus().length} cores, load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} (other work on the machine makes the numbers noisy)`,
  );
  const engine = s.engine ? await probeEngine() : undefined;
  const targets: TargetRun[] = [];
  for (const id of s.targets) {
    targets.push(await runTarget(id, s, runId, profileRoot));
    await new Promise((r) => setTimeout(r, 1500));
  }
  const run: BenchRun = {
    name: s.out,
    preset: s.preset,
    startedAt,
    finishedAt: new Date().toISOString(),
    revision: code,
    machine: machineInfo(loadStart),
    workload: { ...s.base, pollIdleMs: s.pollIdleMs, profiled: s.profile },
    ...(engine !== undefined && { engine }),
    targets,
  };
  const { markdown, files } = writeReports(run, resolve(ROOT, 'bench/results'), s.write);
  log(`\n${markdown}`);
  if (files.length > 0) log(`Wrote ${files.map((f) => f.replace(`${ROOT}/`, '')).join(', ')}`);
  if (profileRoot !== undefined) log(`Raw CPU profile kept in ${profileRoot} (not under bench/results: it is large).`);
}

let interrupted = false;
const onSignal = (signal: string) => {
  if (interrupted) process.exit(1);
  interrupted = true;
  log(`\n${signal}: stopping the targets …`);
  void stopAll().finally(() => process.exit(130));
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

main()
  .catch(async (err: unknown) => {
    process.stderr.write(`${err instanceof ArgError ? `bench: ${err.message}\n\n${usage('npm run bench -- [flags]', FLAGS)}` : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = err instanceof ArgError ? 2 : 1;
  })
  .finally(() => stopAll());
