import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_JWT_SECRET, loadLocalConfig } from '../../local/config';
import { DEFAULT_SLA_POLICY, parseSlaPolicyJson } from '../../shared/domain/sla';
import { ConfigError, loadConfig, logLevelFrom } from '../../shared/runtime/config';
import { cursorKeyFrom } from '../../shared/runtime/cursor';
import { caught } from './fixtures';

function expectConfigError(fn: () => unknown, variable: string): ConfigError {
  const err = caught(fn);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).message).toContain(variable);
  return err as ConfigError;
}

describe('loadConfig (cloud and shared)', () => {
  it('fails naming the variables when neither WAYPOST_JWKS_URL nor WAYPOST_JWT_SECRET is set', () => {
    // Act
    const err = expectConfigError(() => loadConfig({}), 'WAYPOST_JWKS_URL');

    // Assert
    expect(err.message).toContain('WAYPOST_JWT_SECRET');
    expect(err.name).toBe('ConfigError');
  });

  it('treats blank values as unset', () => {
    expectConfigError(() => loadConfig({ WAYPOST_JWKS_URL: '  ', WAYPOST_JWT_SECRET: '' }), 'WAYPOST_JWKS_URL');
  });

  it('uses HS256 with the secret when only WAYPOST_JWT_SECRET is set, with default tables and region', () => {
    // Act
    const cfg = loadConfig({ WAYPOST_JWT_SECRET: 's3cret' });

    // Assert
    expect(cfg).toEqual({
      region: 'us-east-1',
      ordersTable: 'waypost-orders',
      connectionsTable: 'waypost-connections',
      jwt: { mode: 'hs256', secret: 's3cret' },
      defaultSlaPolicy: DEFAULT_SLA_POLICY,
      wsFrameLimit: 'handler',
      cursorSecret: cursorKeyFrom('s3cret'),
    });
  });

  it('takes how long a sweep sends SMS from WAYPOST_SMS_DRAIN_MS, and names a bad value', () => {
    expect(loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_SMS_DRAIN_MS: '1000' }).smsDrainMs).toBe(1000);
    expect(loadConfig({ WAYPOST_JWT_SECRET: 's' }).smsDrainMs).toBeUndefined();
    for (const bad of ['0', '1.5', 'soon', '600001']) expectConfigError(() => loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_SMS_DRAIN_MS: bad }), 'WAYPOST_SMS_DRAIN_MS');
  });

  it('enforces the frame rate in the handler unless WAYPOST_WS_FRAME_LIMIT says the gateway does, and names a bad value', () => {
    expect(loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_WS_FRAME_LIMIT: 'gateway' }).wsFrameLimit).toBe('gateway');
    expectConfigError(() => loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_WS_FRAME_LIMIT: 'nowhere' }), 'WAYPOST_WS_FRAME_LIMIT');
  });

  it('signs cursors with a key derived from WAYPOST_CURSOR_SECRET, else from WAYPOST_JWT_SECRET, never the secret itself', () => {
    const dedicated = 'c'.repeat(32);
    const local = loadConfig({ WAYPOST_JWT_SECRET: 's3cret' }).cursorSecret;
    const cloud = loadConfig({ WAYPOST_JWKS_URL: 'https://idp.example.com/jwks.json', WAYPOST_CURSOR_SECRET: dedicated }).cursorSecret;
    expect(local).toHaveLength(32);
    expect(Buffer.from(local!).toString('utf8')).not.toContain('s3cret');
    expect(cloud).toEqual(cursorKeyFrom(dedicated));
    expect(cloud).not.toEqual(local);
    // The dedicated secret wins over the JWT secret.
    expect(loadConfig({ WAYPOST_JWT_SECRET: 's3cret', WAYPOST_CURSOR_SECRET: dedicated }).cursorSecret).toEqual(cloud);
    // JWKS and nothing else: no key (listing with a cursor then fails as misconfigured, naming the variable).
    expect(loadConfig({ WAYPOST_JWKS_URL: 'https://idp.example.com/jwks.json' }).cursorSecret).toBeUndefined();
  });

  it('refuses a WAYPOST_CURSOR_SECRET under 32 characters, naming the variable and not the value', () => {
    const err = expectConfigError(() => loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_CURSOR_SECRET: 'short-secret-value' }), 'WAYPOST_CURSOR_SECRET');
    expect(err.message).not.toContain('short-secret-value');
  });

  it('takes the default SLA policy from WAYPOST_DEFAULT_SLA_POLICY, and names it when it is bad', () => {
    const policy = { dwellSeconds: { created: 5 }, escalation: [{ afterSeconds: 0, notify: 'dispatch' }] };
    expect(loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_DEFAULT_SLA_POLICY: JSON.stringify(policy) }).defaultSlaPolicy).toEqual(policy);
    expectConfigError(() => loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_DEFAULT_SLA_POLICY: '{' }), 'WAYPOST_DEFAULT_SLA_POLICY');
    const bad = expectConfigError(
      () => loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_DEFAULT_SLA_POLICY: JSON.stringify({ dwellSeconds: { nope: 1 }, escalation: [] }) }),
      'WAYPOST_DEFAULT_SLA_POLICY',
    );
    expect(bad.message).toContain('dwellSeconds');
  });

  it('prefers JWKS when its URL is set, with optional issuer and audience', () => {
    // Act
    const cfg = loadConfig({
      WAYPOST_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
      WAYPOST_JWT_SECRET: 'ignored',
      WAYPOST_JWT_ISSUER: 'https://idp.example.com',
      WAYPOST_JWT_AUDIENCE: 'waypost',
    });

    // Assert
    expect(cfg.jwt).toEqual({
      mode: 'jwks',
      jwksUrl: 'https://idp.example.com/.well-known/jwks.json',
      issuer: 'https://idp.example.com',
      audience: 'waypost',
    });
  });

  it.each(['WAYPOST_JWKS_URL', 'WAYPOST_DYNAMODB_ENDPOINT', 'WAYPOST_CALLBACK_URL'])('a bad URL in %s names that variable', (name) => {
    // Arrange
    const env = { WAYPOST_JWT_SECRET: 's', [name]: 'not a url' };

    // Act
    const err = expectConfigError(() => loadConfig(env), name);

    // Assert
    expect(err.message).toContain('not a url');
  });

  it('reads tables, region, endpoint and callback URL', () => {
    // Act
    const cfg = loadConfig({
      WAYPOST_JWT_SECRET: 's',
      AWS_REGION: 'eu-west-1',
      WAYPOST_ORDERS_TABLE: 'o',
      WAYPOST_CONNECTIONS_TABLE: 'c',
      WAYPOST_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
      WAYPOST_CALLBACK_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
    });

    // Assert
    expect(cfg).toMatchObject({
      region: 'eu-west-1',
      ordersTable: 'o',
      connectionsTable: 'c',
      dynamodbEndpoint: 'http://127.0.0.1:8000',
      callbackUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
    });
  });

  it('falls back to AWS_DEFAULT_REGION', () => {
    expect(loadConfig({ WAYPOST_JWT_SECRET: 's', AWS_DEFAULT_REGION: 'ap-southeast-2' }).region).toBe('ap-southeast-2');
  });
});

describe('table names in Lambda', () => {
  const lambda = { WAYPOST_JWT_SECRET: 's', AWS_LAMBDA_FUNCTION_NAME: 'waypost-dev-ws-default' };

  it.each(['WAYPOST_ORDERS_TABLE', 'WAYPOST_CONNECTIONS_TABLE'])('fails fast naming %s when a function lacks it', (name) => {
    const env = { ...lambda, WAYPOST_ORDERS_TABLE: 'o', WAYPOST_CONNECTIONS_TABLE: 'c', [name]: ' ' };
    expect(expectConfigError(() => loadConfig(env), name).message).toContain('must be set');
  });

  it('takes them as given there', () => {
    expect(loadConfig({ ...lambda, WAYPOST_ORDERS_TABLE: 'o', WAYPOST_CONNECTIONS_TABLE: 'c' })).toMatchObject({ ordersTable: 'o', connectionsTable: 'c' });
  });
});

describe('parseSlaPolicyJson (one parser for the variable, the local file and CDK context)', () => {
  it('returns the checked policy, or the JSON problem, or the first policy issue with its path', () => {
    const policy = { dwellSeconds: { packed: 60 }, escalation: [{ afterSeconds: 0, notify: 'dispatch' }] };
    expect(parseSlaPolicyJson(JSON.stringify(policy))).toEqual({ ok: true, policy });
    const json = parseSlaPolicyJson('{');
    expect(json).toMatchObject({ ok: false, problem: 'json' });
    expect(json.ok ? '' : json.detail).not.toBe('');
    expect(parseSlaPolicyJson(JSON.stringify({ dwellSeconds: { created: -5 }, escalation: [] }))).toMatchObject({
      ok: false,
      problem: 'policy',
      detail: expect.stringMatching(/^"dwellSeconds\.created" /),
    });
    expect(parseSlaPolicyJson('[]')).toMatchObject({ ok: false, problem: 'policy', detail: expect.stringMatching(/^"\(root\)" /) });
  });
});

describe('loadLocalConfig (CONTRACT §1 defaults)', () => {
  it('defaults: port 4000, sweep 1000 ms, data dir .waypost/data resolved, file database, local secret', () => {
    // Act
    const cfg = loadLocalConfig({});

    // Assert
    expect(cfg.port).toBe(4000);
    expect(cfg.sweepMs).toBe(1000);
    expect(cfg.dataDir).toBe(resolve('.waypost/data'));
    expect(isAbsolute(cfg.dataDir)).toBe(true);
    expect(cfg.inMemory).toBe(false);
    expect(cfg.dynamodbPort).toBeUndefined();
    expect(cfg.jwtSecret).toBe('waypost-local-dev-secret');
    expect(DEFAULT_JWT_SECRET).toBe('waypost-local-dev-secret');
    expect(cfg.slaPolicyPath).toBeUndefined();
    expect(cfg.durabilityFence).toBe(true);
  });

  it('runs the deployed bundles only when WAYPOST_BUNDLES says 1, and names a bad value', () => {
    expect(loadLocalConfig({}).bundles).toBe(false);
    expect(loadLocalConfig({ WAYPOST_BUNDLES: '1' }).bundles).toBe(true);
    expectConfigError(() => loadLocalConfig({ WAYPOST_BUNDLES: 'yes' }), 'WAYPOST_BUNDLES');
  });

  it('turns the durability fence off only when WAYPOST_DURABILITY_FENCE says 0', () => {
    expect(loadLocalConfig({ WAYPOST_DURABILITY_FENCE: '0' }).durabilityFence).toBe(false);
    expect(loadLocalConfig({ WAYPOST_DURABILITY_FENCE: '1' }).durabilityFence).toBe(true);
    expect(loadLocalConfig({ WAYPOST_DURABILITY_FENCE: ' ' }).durabilityFence).toBe(true);
  });

  it('reads every variable of CONTRACT §1', () => {
    // Arrange
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const policy = { dwellSeconds: { packed: 60 }, escalation: [{ afterSeconds: 0, notify: 'dispatch' }] };
    writeFileSync(join(dir, 'policy.json'), JSON.stringify(policy));

    // Act
    const cfg = loadLocalConfig({
      WAYPOST_PORT: '4100',
      WAYPOST_DATA_DIR: 'tmp/db',
      WAYPOST_IN_MEMORY: '1',
      WAYPOST_DYNAMODB_PORT: '8123',
      WAYPOST_JWT_SECRET: 'other',
      WAYPOST_SLA_POLICY: join(dir, 'policy.json'),
      WAYPOST_SWEEP_MS: '50',
    });

    // Assert
    expect(cfg).toMatchObject({
      port: 4100,
      dataDir: resolve('tmp/db'),
      inMemory: true,
      dynamodbPort: 8123,
      jwtSecret: 'other',
      slaPolicyPath: join(dir, 'policy.json'),
      sweepMs: 50,
    });
    expect(JSON.parse(cfg.slaPolicyJson ?? 'null')).toEqual(policy);
  });

  it('fails naming WAYPOST_SLA_POLICY for a missing file or a bad policy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    expectConfigError(() => loadLocalConfig({ WAYPOST_SLA_POLICY: join(dir, 'missing.json') }), 'WAYPOST_SLA_POLICY');
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ dwellSeconds: { created: -5 }, escalation: [] }));
    const err = expectConfigError(() => loadLocalConfig({ WAYPOST_SLA_POLICY: join(dir, 'bad.json') }), 'WAYPOST_SLA_POLICY');
    expect(err.message).toContain('dwellSeconds.created');
  });

  it.each(['abc', '-1', '65536', '40.5', '4000x'])('WAYPOST_PORT=%j fails naming WAYPOST_PORT', (value) => {
    // Act
    const err = expectConfigError(() => loadLocalConfig({ WAYPOST_PORT: value }), 'WAYPOST_PORT');

    // Assert
    expect(err.message).toContain(value);
  });

  it.each([
    ['WAYPOST_SWEEP_MS', '0'],
    ['WAYPOST_SWEEP_MS', 'fast'],
    ['WAYPOST_DYNAMODB_PORT', '0'],
    ['WAYPOST_IN_MEMORY', 'yes'],
    ['WAYPOST_DURABILITY_FENCE', 'off'],
  ])('%s=%j fails naming the variable', (name, value) => {
    expectConfigError(() => loadLocalConfig({ [name]: value }), name);
  });

  it('blank values fall back to the defaults', () => {
    // Act
    const cfg = loadLocalConfig({ WAYPOST_PORT: ' ', WAYPOST_DATA_DIR: '', WAYPOST_JWT_SECRET: ' ', WAYPOST_SWEEP_MS: '' });

    // Assert
    expect(cfg.port).toBe(4000);
    expect(cfg.dataDir).toBe(resolve('.waypost/data'));
    expect(cfg.jwtSecret).toBe(DEFAULT_JWT_SECRET);
    expect(cfg.sweepMs).toBe(1000);
  });
});

describe('the log level (WAYPOST_LOG_LEVEL)', () => {
  it('is info when unset or blank, and each level when named', () => {
    expect(logLevelFrom({})).toBe('info');
    expect(logLevelFrom({ WAYPOST_LOG_LEVEL: ' ' })).toBe('info');
    for (const level of ['debug', 'info', 'warn', 'error'] as const) expect(logLevelFrom({ WAYPOST_LOG_LEVEL: level })).toBe(level);
  });

  it('refuses any other value naming the variable, in loadConfig too', () => {
    const err = expectConfigError(() => logLevelFrom({ WAYPOST_LOG_LEVEL: 'verbose' }), 'WAYPOST_LOG_LEVEL');
    expect(err.message).toContain('"verbose"');
    expectConfigError(() => loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_LOG_LEVEL: 'INFO' }), 'WAYPOST_LOG_LEVEL');
  });

  it('is part of the config when set', () => {
    expect(loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_LOG_LEVEL: 'warn' }).logLevel).toBe('warn');
    expect(loadConfig({ WAYPOST_JWT_SECRET: 's' }).logLevel).toBeUndefined();
  });
});

describe('the metrics stage (WAYPOST_METRICS_STAGE)', () => {
  it('is set only when given: metrics are off where it is not (the local runtime)', () => {
    expect(loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_METRICS_STAGE: 'prod' }).metricsStage).toBe('prod');
    expect(loadConfig({ WAYPOST_JWT_SECRET: 's', WAYPOST_METRICS_STAGE: ' ' }).metricsStage).toBeUndefined();
  });
});
