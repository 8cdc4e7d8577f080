/** A small `--flag value` / `--flag=value` / `--switch` parser for the bench scripts. */

export class ArgError extends Error {}

export interface FlagSpec {
  readonly name: string;
  readonly kind: 'int' | 'number' | 'list' | 'string' | 'switch';
  readonly help: string;
}

export type Parsed = Map<string, string | true>;

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): Parsed {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: Parsed = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ArgError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq >= 0 ? eq : undefined);
    const spec = byName.get(name);
    if (spec === undefined) throw new ArgError(`unknown flag --${name}`);
    if (spec.kind === 'switch') {
      if (eq >= 0) throw new ArgError(`--${name} takes no value`);
      out.set(name, true);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new ArgError(`--${name} needs a value`);
    out.set(name, value);
  }
  return out;
}

export function intFlag(p: Parsed, name: string, fallback: number, min = 1, max = 1_000_000): number {
  const raw = p.get(name);
  if (raw === undefined || raw === true) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ArgError(`--${name} must be an integer from ${min} to ${max}, not "${raw}"`);
  return n;
}

export function numberFlag(p: Parsed, name: string, fallback: number, min = 0, max = 1e9): number {
  const raw = p.get(name);
  if (raw === undefined || raw === true) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new ArgError(`--${name} must be a number from ${min} to ${max}, not "${raw}"`);
  return n;
}

export function listFlag(p: Parsed, name: string, fallback: readonly number[]): number[] {
  const raw = p.get(name);
  if (raw === undefined || raw === true) return [...fallback];
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isFinite(n) || n <= 0)) throw new ArgError(`--${name} must be a comma-separated list of positive numbers`);
  return list;
}

export function stringFlag(p: Parsed, name: string): string | undefined {
  const raw = p.get(name);
  return raw === undefined || raw === true ? undefined : raw;
}

export function usage(title: string, specs: readonly FlagSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length + (s.kind === 'switch' ? 0 : 6))) + 4;
  return [title, '', ...specs.map((s) => `  --${`${s.name}${s.kind === 'switch' ? '' : ' <v>'}`.padEnd(width)}${s.help}`)].join('\n');
}
