/**
 * The local runtime's configuration (CONTRACT §1), read once at start. A bad
 * value fails fast with the variable's name.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseSlaPolicyJson } from '../shared/domain/sla';
import { ConfigError } from '../shared/runtime/config';

export const DEFAULT_JWT_SECRET = 'waypost-local-dev-secret';

export interface LocalConfig {
  readonly port: number;
  readonly dataDir: string;
  readonly inMemory: boolean;
  /** Undefined: a free port. */
  readonly dynamodbPort?: number;
  readonly jwtSecret: string;
  readonly slaPolicyPath?: string;
  /** The policy in that file, checked, as JSON. */
  readonly slaPolicyJson?: string;
  readonly sweepMs: number;
  /** Seed the demo tenant on a fresh database. */
  readonly seed: boolean;
  /** API Gateway's limits, shortened only for tests. */
  readonly wsIdleSeconds: number;
  readonly wsMaxSeconds: number;
  /**
   * On a file database, ack and push nothing before it would survive SIGKILL
   * of the whole process group (`local/durability-fence.ts`). Off only to
   * measure what it costs.
   */
  readonly durabilityFence: boolean;
  /**
   * Run the deployed esbuild bundles (`WAYPOST_BUNDLES=1`, built at start
   * with CDK's settings) instead of importing the TypeScript handlers.
   */
  readonly bundles: boolean;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number | undefined, min: number, max: number): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(name, `must be an integer from ${min} to ${max}, not "${raw}"`);
  return n;
}

function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (raw === '1' || raw === 'true') return true;
  if (raw === '0' || raw === 'false') return false;
  throw new ConfigError(name, `must be 1 or 0, not "${raw}"`);
}

/** The policy file named by WAYPOST_SLA_POLICY, checked as a PUT would check it. */
function policyFile(path: string): string {
  let raw: string;
  try {
    raw = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('WAYPOST_SLA_POLICY', `cannot be read as JSON from ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parsed = parseSlaPolicyJson(raw);
  if (!parsed.ok) {
    throw new ConfigError(
      'WAYPOST_SLA_POLICY',
      parsed.problem === 'json' ? `cannot be read as JSON from ${path}: ${parsed.detail}` : `(${path}) is not a valid SLA policy: ${parsed.detail}`,
    );
  }
  return JSON.stringify(parsed.policy);
}

export function loadLocalConfig(env: Env = process.env): LocalConfig {
  const dynamodbPort = int(env, 'WAYPOST_DYNAMODB_PORT', undefined, 1, 65535);
  const slaPolicyPath = env.WAYPOST_SLA_POLICY?.trim() ? resolve(env.WAYPOST_SLA_POLICY.trim()) : undefined;
  return {
    port: int(env, 'WAYPOST_PORT', 4000, 0, 65535) as number,
    dataDir: resolve(env.WAYPOST_DATA_DIR?.trim() || '.waypost/data'),
    inMemory: flag(env, 'WAYPOST_IN_MEMORY', false),
    ...(dynamodbPort !== undefined && { dynamodbPort }),
    jwtSecret: env.WAYPOST_JWT_SECRET?.trim() || DEFAULT_JWT_SECRET,
    ...(slaPolicyPath !== undefined && { slaPolicyPath, slaPolicyJson: policyFile(slaPolicyPath) }),
    sweepMs: int(env, 'WAYPOST_SWEEP_MS', 1000, 10, 3_600_000) as number,
    seed: flag(env, 'WAYPOST_SEED', true),
    wsIdleSeconds: int(env, 'WAYPOST_WS_IDLE_SECONDS', 600, 1, 86_400) as number,
    wsMaxSeconds: int(env, 'WAYPOST_WS_MAX_SECONDS', 7200, 1, 86_400) as number,
    durabilityFence: flag(env, 'WAYPOST_DURABILITY_FENCE', true),
    bundles: flag(env, 'WAYPOST_BUNDLES', false),
  };
}
