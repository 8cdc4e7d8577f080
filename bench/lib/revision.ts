import { spawnSync } from 'node:child_process';
import { ROOT } from './procs';

export interface Revision {
  /** The commit checked out, if this is a git checkout. */
  readonly commit: string | null;
  /** Files changed but not committed, outside bench/ (the code measured differs from the commit by these). */
  readonly uncommitted: readonly string[];
}

/** What code was measured: HEAD and any uncommitted change outside bench/. */
export function revision(): Revision {
  const git = (args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  const head = git(['rev-parse', '--short=12', 'HEAD']);
  const status = git(['status', '--porcelain', '--untracked-files=all', '--', '.', ':(exclude)bench']);
  return {
    commit: head.status === 0 ? head.stdout.trim() : null,
    uncommitted: status.status === 0 ? status.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.slice(3)) : [],
  };
}
