/**
 * Configuration, read once per process from the environment. A missing or bad
 * variable fails fast with its name. The same variables configure a Lambda
 * (set by CDK) and the local runtime (set by `local/`).
 */

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

export function loadConfig(env: Env = process.env): Config {
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
  const callbackUrl = url(env, 'WAYPOST_CALLBACK_URL');
  return {
    region: optional(env, 'AWS_REGION') ?? optional(env, 'AWS_DEFAULT_REGION') ?? 'us-east-1',
    ordersTable: optional(env, 'WAYPOST_ORDERS_TABLE') ?? 'waypost-orders',
    connectionsTable: optional(env, 'WAYPOST_CONNECTIONS_TABLE') ?? 'waypost-connections',
    ...(dynamodbEndpoint && { dynamodbEndpoint }),
    ...(callbackUrl && { callbackUrl }),
    jwt,
  };
}

let cached: Config | undefined;

/** The process's configuration, read on first use. */
export function config(): Config {
  cached ??= loadConfig();
  return cached;
}
