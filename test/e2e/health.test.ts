/**
 * CONTRACT §1: `/api/health` is 200 only while every part is up. DynamoDB
 * Local is a child process that can die under the runtime (killed, out of
 * memory); health then says so, instead of 200 beside 500s.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { http } from '../support/client';
import { spawnRuntime, type SpawnedRuntime } from '../support/spawn-runtime';

const dataDir = mkdtempSync(join(tmpdir(), 'waypost-health-'));
let rt: SpawnedRuntime | undefined;

afterAll(async () => {
  if (rt !== undefined && rt.child.exitCode === null && rt.child.signalCode === null) await rt.killGroup();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The pids of DynamoDB Local's Java in the runtime's process group. */
function javaOf(runtime: SpawnedRuntime): number[] {
  const pgid = runtime.child.pid;
  if (pgid === undefined) throw new Error('the runtime has no pid');
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,comm='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, group, comm]) => Number(group) === pgid && comm === 'java')
    .map(([pid]) => Number(pid));
}

describe('/api/health', () => {
  it('is 200 while DynamoDB Local runs, and 503 naming the database once its Java is killed', { timeout: 120_000 }, async () => {
    rt = await spawnRuntime({ WAYPOST_DATA_DIR: dataDir, WAYPOST_JWT_SECRET: 'health-secret' }, 90_000, { ownProcessGroup: true });
    expect(await http(rt.url, 'GET', '/api/health')).toMatchObject({ status: 200, body: { ok: true } });

    const java = javaOf(rt);
    expect(java).toHaveLength(1);
    process.kill(java[0]!, 'SIGKILL');

    const deadline = Date.now() + 10_000;
    let last = await http(rt.url, 'GET', '/api/health');
    while (last.status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      last = await http(rt.url, 'GET', '/api/health');
    }
    expect(last).toMatchObject({ status: 503, body: { ok: false, down: ['database'] } });
  });
});
