/**
 * Start the local runtime the way `npm start` does, as a child process, and
 * wait for its ready line. Used by the e2e global setup and by tests that
 * kill and restart a runtime.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { freePort } from '../../local/free-port';

export interface SpawnedRuntime {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly output: () => string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL, no cleanup: as a crash. */
  kill(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, '..', '..');

export async function spawnRuntime(env: Record<string, string> = {}, timeoutMs = 90_000): Promise<SpawnedRuntime> {
  const port = Number(env.WAYPOST_PORT ?? (await freePort()));
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, WAYPOST_SEED: '0', WAYPOST_LOG_LEVEL: 'warn', ...env, WAYPOST_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`runtime not ready in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      if (out.includes('Waypost ready at ')) {
        clearTimeout(timer);
        ready();
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`runtime exited with ${code} before ready:\n${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
