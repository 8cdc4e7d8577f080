/**
 * Child processes of the bench: targets (the baselines and Waypost's local
 * runtime) and their CPU use, read from /proc. Every child is stopped by its
 * own pid; nothing is stopped by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { credentialsFromBanner, type LocalCredentials } from '../../local/credentials';
import { freePort } from '../../local/free-port';

export const ROOT = resolve(import.meta.dirname, '..', '..');

export interface Child {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  /** SIGTERM; SIGTERM again after `graceMs`; SIGKILL 10 s later. */
  stop(graceMs?: number): Promise<number | null>;
}

const live = new Set<Child>();

/** Stop every child still running (on the orchestrator's own exit or Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((c) => c.stop(5000)));
}

function track(child: ChildProcess, what: string): Child {
  if (child.pid === undefined) throw new Error(`could not start ${what}`);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const c: Child = {
    child,
    pid: child.pid,
    output: () => out,
    exited,
    stop: async (graceMs = 20_000) => {
      if (child.exitCode === null && child.signalCode === null) {
        // A second SIGTERM makes Waypost's runtime exit at once (still writing its CPU profile); SIGKILL last.
        child.kill('SIGTERM');
        const again = setTimeout(() => child.kill('SIGTERM'), graceMs);
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs + 10_000);
        await exited;
        clearTimeout(again);
        clearTimeout(kill);
      }
      live.delete(c);
      return exited;
    },
  };
  live.add(c);
  void exited.then(() => live.delete(c));
  return c;
}

function waitForLine(c: Child, pattern: RegExp, what: string, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolveLine, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} not ready in ${timeoutMs} ms:\n${c.output()}`)), timeoutMs);
    const check = () => {
      const m = c.output().match(pattern);
      if (m) {
        clearTimeout(timer);
        c.child.stdout?.off('data', check);
        resolveLine(m);
      }
    };
    c.child.stdout?.on('data', check);
    void c.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before ready:\n${c.output()}`));
    });
  });
}

const TSX_ENV = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

/** A baseline target (`bench/targets/<file>.ts`) in its own process; resolves once it listens. */
export async function spawnTarget(file: string, env: Record<string, string> = {}): Promise<{ child: Child; port: number }> {
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', `bench/targets/${file}`], {
      cwd: ROOT,
      env: { ...process.env, ...TSX_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
    file,
  );
  const m = await waitForLine(child, /READY port=(\d+)/, file, 120_000);
  return { child, port: Number(m[1]) };
}

export interface WaypostOptions {
  /** Absolute path for a file database; undefined: in memory. */
  readonly dataDir?: string;
  readonly jwtSecret: string;
  /** Directory for `--cpu-prof` output (and the source maps the profile needs); undefined: no profile. */
  readonly profileDir?: string;
  readonly env?: Record<string, string>;
}

/** Waypost's local runtime as `npm start` runs it (`node --import tsx local/main.ts`). */
export async function spawnWaypost(options: WaypostOptions): Promise<{ child: Child; port: number; dynamodbPort: number; credentials: LocalCredentials }> {
  const port = await freePort();
  const dynamodbPort = await freePort();
  const profileArgs =
    options.profileDir === undefined
      ? []
      : ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, '--enable-source-maps'];
  const hookArgs = options.profileDir === undefined ? [] : ['--import', resolve(ROOT, 'bench/lib/profile-hook.ts')];
  const child = track(
    spawn(process.execPath, [...profileArgs, '--import', 'tsx', ...hookArgs, 'local/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...TSX_ENV,
        WAYPOST_SEED: '0',
        WAYPOST_LOG_LEVEL: 'warn',
        WAYPOST_JWT_SECRET: options.jwtSecret,
        WAYPOST_PORT: String(port),
        WAYPOST_DYNAMODB_PORT: String(dynamodbPort),
        ...(options.dataDir === undefined ? { WAYPOST_IN_MEMORY: '1' } : { WAYPOST_DATA_DIR: options.dataDir }),
        ...(options.profileDir !== undefined && { BENCH_SOURCEMAP_OUT: resolve(options.profileDir, 'sourcemaps.json') }),
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
    'waypost',
  );
  await waitForLine(child, /Waypost ready at /, 'Waypost', 120_000);
  const credentials = credentialsFromBanner(child.output());
  if (credentials === null) throw new Error(`Waypost printed no credentials file:\n${child.output()}`);
  return { child, port, dynamodbPort, credentials };
}

// ------------------------------------------------------------ CPU from /proc

const CLK_TCK = 100;

function statOf(pid: number): { ppid: number; comm: string; cpuMs: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { ppid: Number(fields[1]), comm, cpuMs: ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK };
  } catch {
    return undefined;
  }
}

/** Resident memory of a process, KiB (from /proc/<pid>/status), or 0 when it is gone. */
function rssKib(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of a process (MiB) and of the Java processes among its descendants. */
export function treeRssMib(root: number): { root: number; java: number } {
  let java = 0;
  for (const pid of descendants(root)) if (statOf(pid)?.comm === 'java') java += rssKib(pid);
  return { root: Math.round(rssKib(root) / 102.4) / 10, java: Math.round(java / 102.4) / 10 };
}

function descendants(root: number): number[] {
  const byParent = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = statOf(pid);
    if (s === undefined) continue;
    const list = byParent.get(s.ppid);
    if (list) list.push(pid);
    else byParent.set(s.ppid, [pid]);
  }
  const out: number[] = [];
  const stack = [...(byParent.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(byParent.get(pid) ?? []));
  }
  return out;
}

/** CPU ms used so far by a process and its descendants, and by the Java ones among them. */
export function treeCpuMs(root: number): { total: number; java: number } {
  const byParent = new Map<number, number[]>();
  const stats = new Map<number, { comm: string; cpuMs: number }>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = statOf(pid);
    if (s === undefined) continue;
    stats.set(pid, s);
    const list = byParent.get(s.ppid);
    if (list) list.push(pid);
    else byParent.set(s.ppid, [pid]);
  }
  let total = 0;
  let java = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const s = stats.get(pid);
    if (s !== undefined) {
      total += s.cpuMs;
      if (s.comm === 'java') java += s.cpuMs;
    }
    stack.push(...(byParent.get(pid) ?? []));
  }
  return { total, java };
}

/** CPU ms used by the whole machine so far (all cores, busy time only). */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
  return (busy * 1000) / CLK_TCK;
}
