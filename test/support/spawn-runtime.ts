/**
 * Start the local runtime the way `npm start` does, as a child process, and
 * wait for its ready line. Used by the e2e global setup and by tests that
 * kill and restart a runtime.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { credentialsFromBanner, type LocalCredentials } from '../../local/credentials';
import { freePort } from '../../local/free-port';

export interface SpawnedRuntime {
  readonly url: string;
  readonly port: number;
  /** Where its DynamoDB Local listens. */
  readonly dynamodbPort: number;
  /** The runtime's own credentials (DynamoDB Local's key, `@connections` signatures), from the file its banner names; null if it names none. */
  readonly credentials: LocalCredentials | null;
  readonly child: ChildProcess;
  readonly output: () => string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL to the Node process only, no cleanup (its watchdog then stops Java gracefully). */
  kill(): Promise<void>;
  /**
   * SIGKILL to the whole process group at once, Node and DynamoDB Local's Java
   * together, as an OOM kill or a container stop does. Only for a runtime
   * started with `ownProcessGroup`.
   */
  killGroup(): Promise<void>;
}

export interface SpawnOptions {
  /** Start the runtime as the leader of a process group of its own (Java joins it), so `killGroup` can kill both at once. */
  readonly ownProcessGroup?: boolean;
}

const ROOT = resolve(import.meta.dirname, '..', '..');

export async function spawnRuntime(env: Record<string, string> = {}, timeoutMs = 90_000, options: SpawnOptions = {}): Promise<SpawnedRuntime> {
  const port = Number(env.WAYPOST_PORT ?? (await freePort()));
  const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
    cwd: ROOT,
    detached: options.ownProcessGroup === true,
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
  const credentials = credentialsFromBanner(out);
  const dynamodbPort = Number(/DynamoDB Local on port (\d+)/.exec(out)?.[1]);
  if (!Number.isInteger(dynamodbPort)) throw new Error(`runtime printed no DynamoDB port:\n${out}`);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dynamodbPort,
    credentials,
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
    killGroup: async () => {
      if (options.ownProcessGroup !== true || child.pid === undefined) throw new Error('killGroup needs a runtime spawned with ownProcessGroup');
      process.kill(-child.pid, 'SIGKILL');
      await exited;
      // Java dies with the group; wait until no process of the group is left.
      for (let i = 0; i < 200 && groupAlive(child.pid); i++) await new Promise((r) => setTimeout(r, 25));
    },
  };
}

/** Is any process of process group `pgid` still alive? */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
