/**
 * Configuration, read once per process from the environment. A missing or bad
 * variable fails fast with its name. The same variables configure a Lambda
 * (set by CDK) and the local runtime (set by `local/`).
 */
import { DEFAULT_SLA_POLICY, parseSlaPolicyJson, type SlaPolicy } from '../domain/sla';
import { cursorKeyFrom } from './cursor';
import { LOG_LEVELS, type LogLevel } from './log';

export type JwtConfig =
  /** Local: tokens signed with a shared secret. */
  | { readonly mode: 'hs256'; readonly secret: string }
  /** Cloud: tokens from an identity provider, verified against its JWKS. */
  | { readonly mode: 'jwks'; readonly jwksUrl: string; readonly issuer?: string; readonly audience?: string };

export interface Config {
  readonly region: string;
  readonly ordersTable: string;
  readonly connectionsTable: string;
  /** Set only to point the DynamoDB client somewhere other than AWS (DynamoDB Local). */
  readonly dynamodbEndpoint?: string;
  /** The WebSocket API's `@connections` endpoint, e.g. `https://<id>.execute-api.<region>.amazonaws.com/<stage>`. */
  readonly callbackUrl?: string;
  readonly jwt: JwtConfig;
  /** The SLA policy of tenants that set none. */
  readonly defaultSlaPolicy: SlaPolicy;
  /** Set only to point SNS somewhere other than AWS (the local stand-in). */
  readonly snsEndpoint?: string;
  /** An alphanumeric sender id for SMS, where the destination country supports one. */
  readonly smsSenderId?: string;
  /**
   * Where a connection's frame rate (CONTRACT §5) is enforced: `handler` (the
   * cloud, default: the `$default` function) or `gateway` (the local runtime,
   * whose gateway answers over-rate frames before they queue).
   */
  readonly wsFrameLimit: 'handler' | 'gateway';
  /** How long one SLA sweep may spend sending owed SMS, in ms (`WAYPOST_SMS_DRAIN_MS`; unset: `SMS_DRAIN_MS`). */
  readonly smsDrainMs?: number;
  /**
   * The 32-byte key that signs list cursors (`cursor.ts`): derived from
   * `WAYPOST_CURSOR_SECRET` (the cloud: a Secrets Manager secret of the
   * stack), else from `WAYPOST_JWT_SECRET` (local); unset when neither is
   * given (then listing with a cursor fails as misconfigured).
   */
  readonly cursorSecret?: Uint8Array;
  /**
   * The stage the SLA sweep's metrics are published for (`WAYPOST_METRICS_STAGE`,
   * set by the CDK stack); unset (the local runtime): no metrics are written,
   * SMS failures are only logged.
   */
  readonly metricsStage?: string;
  /** The level below which log lines are dropped (`WAYPOST_LOG_LEVEL`); unset means `info`. */
  readonly logLevel?: LogLevel;
  /**
   * `WAYPOST_GROUP_COMMIT=1`: appends to different orders that meet in time
   * share one `TransactWriteItems` (`shared/store/group-commit.ts`). Set by
   * the local runtime, one process for every socket; absent (one call per
   * transaction) in a Lambda, which serves one request at a time.
   */
  readonly groupCommit?: true;
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function optional(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function url(env: Env, name: string): string | undefined {
  const v = optional(env, name);
  if (v === undefined) return undefined;
  try {
    new URL(v);
  } catch {
    throw new ConfigError(name, `is not a URL: "${v}"`);
  }
  return v;
}

/**
 * A table's name. In Lambda (the runtime sets `AWS_LAMBDA_FUNCTION_NAME` in
 * every function) it must be given: a function missing it fails fast naming
 * the variable instead of using a table of another stack. Elsewhere (the
 * local runtime, tests, tools) `fallback` serves.
 */
function tableName(env: Env, name: string, fallback: string): string {
  const v = optional(env, name);
  if (v !== undefined) return v;
  if (optional(env, 'AWS_LAMBDA_FUNCTION_NAME') !== undefined) throw new ConfigError(name, 'must be set (the table this function uses)');
  return fallback;
}

/** A policy given as JSON in a variable, checked like a PUT; the built-in default when unset. */
function policyFrom(env: Env, name: string): SlaPolicy {
  const raw = optional(env, name);
  if (raw === undefined) return DEFAULT_SLA_POLICY;
  const parsed = parseSlaPolicyJson(raw);
  if (parsed.ok) return parsed.policy;
  throw new ConfigError(name, parsed.problem === 'json' ? 'is not valid JSON' : `is not a valid SLA policy: ${parsed.detail}`);
}

/**
 * The log level set by `WAYPOST_LOG_LEVEL` (`debug`, `info`, `warn` or
 * `error`), `info` when unset. Read apart from the rest of the config so a
 * logger can be had even where the rest is missing.
 *
 * @throws ConfigError naming `WAYPOST_LOG_LEVEL` for any other value.
 */
export function logLevelFrom(env: Env = process.env): LogLevel {
  const raw = optional(env, 'WAYPOST_LOG_LEVEL');
  if (raw === undefined) return 'info';
  const level = LOG_LEVELS.find((l) => l === raw);
  if (level === undefined) throw new ConfigError('WAYPOST_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, not "${raw}"`);
  return level;
}

export function loadConfig(env: Env = process.env): Config {
  const logLevel = logLevelFrom(env);
  const jwksUrl = url(env, 'WAYPOST_JWKS_URL');
  const secret = optional(env, 'WAYPOST_JWT_SECRET');
  let jwt: JwtConfig;
  if (jwksUrl !== undefined) {
    const issuer = optional(env, 'WAYPOST_JWT_ISSUER');
    const audience = optional(env, 'WAYPOST_JWT_AUDIENCE');
    jwt = { mode: 'jwks', jwksUrl, ...(issuer && { issuer }), ...(audience && { audience }) };
  } else if (secret !== undefined) {
    jwt = { mode: 'hs256', secret };
  } else {
    throw new ConfigError('WAYPOST_JWKS_URL', 'or WAYPOST_JWT_SECRET must be set: there is no way to check tokens');
  }
  const dynamodbEndpoint = url(env, 'WAYPOST_DYNAMODB_ENDPOINT');
  const snsEndpoint = url(env, 'WAYPOST_SNS_ENDPOINT');
  const smsSenderId = optional(env, 'WAYPOST_SMS_SENDER_ID');
  const callbackUrl = url(env, 'WAYPOST_CALLBACK_URL');
  const wsFrameLimit = optional(env, 'WAYPOST_WS_FRAME_LIMIT') ?? 'handler';
  if (wsFrameLimit !== 'handler' && wsFrameLimit !== 'gateway') throw new ConfigError('WAYPOST_WS_FRAME_LIMIT', `must be "handler" or "gateway", not "${wsFrameLimit}"`);
  const drain = optional(env, 'WAYPOST_SMS_DRAIN_MS');
  const smsDrainMs = drain === undefined ? undefined : Number(drain);
  if (smsDrainMs !== undefined && !(Number.isInteger(smsDrainMs) && smsDrainMs >= 1 && smsDrainMs <= 600_000)) {
    throw new ConfigError('WAYPOST_SMS_DRAIN_MS', `must be a whole number of milliseconds from 1 to 600000, not "${drain}"`);
  }
  const metricsStage = optional(env, 'WAYPOST_METRICS_STAGE');
  const groupCommit = optional(env, 'WAYPOST_GROUP_COMMIT') ?? '0';
  if (groupCommit !== '0' && groupCommit !== '1') throw new ConfigError('WAYPOST_GROUP_COMMIT', `must be "0" or "1", not "${groupCommit}"`);
  const cursorSource = optional(env, 'WAYPOST_CURSOR_SECRET');
  if (cursorSource !== undefined && cursorSource.length < 32) throw new ConfigError('WAYPOST_CURSOR_SECRET', 'must be at least 32 characters');
  // Locally the JWT secret serves, through a derivation with its own label (`cursorKeyFrom`).
  const cursorKeySource = cursorSource ?? secret;
  return {
    region: optional(env, 'AWS_REGION') ?? optional(env, 'AWS_DEFAULT_REGION') ?? 'us-east-1',
    ordersTable: tableName(env, 'WAYPOST_ORDERS_TABLE', 'waypost-orders'),
    connectionsTable: tableName(env, 'WAYPOST_CONNECTIONS_TABLE', 'waypost-connections'),
    ...(dynamodbEndpoint && { dynamodbEndpoint }),
    ...(callbackUrl && { callbackUrl }),
    jwt,
    defaultSlaPolicy: policyFrom(env, 'WAYPOST_DEFAULT_SLA_POLICY'),
    ...(snsEndpoint && { snsEndpoint }),
    ...(smsSenderId && { smsSenderId }),
    wsFrameLimit,
    ...(smsDrainMs !== undefined && { smsDrainMs }),
    ...(cursorKeySource !== undefined && { cursorSecret: cursorKeyFrom(cursorKeySource) }),
    ...(metricsStage !== undefined && { metricsStage }),
    ...(optional(env, 'WAYPOST_LOG_LEVEL') !== undefined && { logLevel }),
    ...(groupCommit === '1' && { groupCommit: true as const }),
  };
}

let cached: Config | undefined;

/** The process's configuration, read on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}
