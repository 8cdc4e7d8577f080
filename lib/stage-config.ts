/**
 * The deployment's settings, read once from CDK context (`cdk.json` or
 * `-c key=value`). A bad value stops the synth with the key's name; a missing
 * JWT setting does not (so `cdk synth` works from a fresh clone) but leaves a
 * deployment that refuses every token, and says so in a warning.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Node } from 'constructs';
import { parseSlaPolicyJson } from '../shared/domain/sla';

export interface WaypostConfig {
  /** Names the stack (`Waypost-<stage>`) and the WebSocket API stage. */
  readonly stage: string;
  /** The identity provider's JSON Web Key Set, used by the `$connect` and HTTP API functions. */
  readonly jwksUrl: string;
  /** Expected `iss` of every token, for the functions and the HTTP API's JWT authorizer. */
  readonly jwtIssuer: string;
  /** Expected `aud` of every token. */
  readonly jwtAudience: string;
  /** Alphanumeric SMS sender id, where the destination country supports one. */
  readonly smsSenderId?: string;
  /** Default SLA policy (JSON) for tenants that set none; the built-in default when unset. */
  readonly defaultSlaPolicy?: string;
  readonly logRetention: RetentionDays;
  /** DynamoDB deletion protection on both tables. */
  readonly deletionProtection: boolean;
  /** JWT context keys that were not given; their placeholders reject every token. */
  readonly missingJwtContext: readonly string[];
}

export class ContextError extends Error {
  constructor(key: string, problem: string) {
    super(`CDK context "${key}" ${problem}`);
    this.name = 'ContextError';
  }
}

/** Never resolvable (RFC 2606 `.invalid`): without real JWT settings nothing can authenticate. */
const PLACEHOLDER = {
  jwksUrl: 'https://jwt-not-configured.invalid/.well-known/jwks.json',
  jwtIssuer: 'https://jwt-not-configured.invalid/',
  jwtAudience: 'jwt-not-configured',
} as const;

const STAGE = /^[a-z][a-z0-9-]{0,19}$/;
const SENDER_ID = /^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$/;
const RETENTIONS = new Set<number>(
  Object.values(RetentionDays).filter((v): v is number => typeof v === 'number' && v !== RetentionDays.INFINITE),
);

function text(node: Node, key: string): string | undefined {
  const v: unknown = node.tryGetContext(key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
    throw new ContextError(key, 'must be a string');
  }
  const s = String(v).trim();
  return s === '' ? undefined : s;
}

function httpsUrl(key: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ContextError(key, `is not a URL: "${value}"`);
  }
  if (url.protocol !== 'https:') throw new ContextError(key, `must be an https URL: "${value}"`);
  return value;
}

function bool(node: Node, key: string, fallback: boolean): boolean {
  const v = text(node, key);
  if (v === undefined) return fallback;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ContextError(key, `must be true or false, not "${v}"`);
}

export function readWaypostConfig(node: Node): WaypostConfig {
  const stage = text(node, 'stage') ?? 'dev';
  if (!STAGE.test(stage)) throw new ContextError('stage', `must be lower-case letters, digits and dashes (at most 20), not "${stage}"`);

  const missingJwtContext: string[] = [];
  const jwt = (key: keyof typeof PLACEHOLDER): string => {
    const v = text(node, key);
    if (v === undefined) {
      missingJwtContext.push(key);
      return PLACEHOLDER[key];
    }
    return key === 'jwtAudience' ? v : httpsUrl(key, v);
  };
  const jwksUrl = jwt('jwksUrl');
  const jwtIssuer = jwt('jwtIssuer');
  const jwtAudience = jwt('jwtAudience');

  const smsSenderId = text(node, 'smsSenderId');
  if (smsSenderId !== undefined && !SENDER_ID.test(smsSenderId)) {
    throw new ContextError('smsSenderId', `must be 1-11 letters or digits with at least one letter, not "${smsSenderId}"`);
  }

  const defaultSlaPolicy = text(node, 'defaultSlaPolicy');
  if (defaultSlaPolicy !== undefined) {
    const parsed = parseSlaPolicyJson(defaultSlaPolicy);
    if (!parsed.ok) {
      throw new ContextError('defaultSlaPolicy', parsed.problem === 'json' ? 'is not valid JSON' : `is not a valid SLA policy: ${parsed.detail}`);
    }
  }

  const retentionText = text(node, 'logRetentionDays') ?? '30';
  const retention = Number(retentionText);
  if (!RETENTIONS.has(retention)) {
    throw new ContextError('logRetentionDays', `must be one of CloudWatch's retention periods (${[...RETENTIONS].join(', ')}), not "${retentionText}"`);
  }

  return {
    stage,
    jwksUrl,
    jwtIssuer,
    jwtAudience,
    ...(smsSenderId !== undefined && { smsSenderId }),
    ...(defaultSlaPolicy !== undefined && { defaultSlaPolicy }),
    logRetention: retention,
    deletionProtection: bool(node, 'deletionProtection', true),
    missingJwtContext,
  };
}
