/** What a result records about the machine it ran on. */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGb: number;
  readonly node: string;
  readonly java: string;
  readonly loadAverageStart: readonly number[];
  readonly loadAverageEnd: readonly number[];
}

function javaVersion(): string {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return (r.stderr || r.stdout || '').split('\n')[0]?.trim() ?? 'unknown';
}

const rounded = (xs: readonly number[]) => xs.map((x) => Math.round(x * 100) / 100);

/** The machine now, with the load average taken when the run started. */
export function machineInfo(loadAverageStart: readonly number[]): MachineInfo {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    java: javaVersion(),
    loadAverageStart: rounded(loadAverageStart),
    loadAverageEnd: rounded(loadavg()),
  };
}
