/**
 * Settings from CDK context: defaults, validation naming the key, and a
 * synth that still works (with a warning) when the JWT settings are missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { afterAll, describe, expect, it } from 'vitest';
import { readWaypostConfig } from '../../lib/stage-config';
import { WaypostStack } from '../../lib/waypost-stack';
import { TEST_CONTEXT } from './support';

// An App without an outdir makes one in the system temp dir: keep them all under one, removed after.
const root = mkdtempSync(join(tmpdir(), 'waypost-config-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const app = (context: Record<string, unknown>) => new App({ outdir: mkdtempSync(join(root, 'app-')), context });
const read = (context: Record<string, unknown>) => readWaypostConfig(app(context).node);

describe('readWaypostConfig', () => {
  it('reads every setting', () => {
    expect(read({ ...TEST_CONTEXT, deletionProtection: 'false', defaultSlaPolicy: '{"dwellSeconds":{},"escalation":[]}' })).toEqual({
      stage: 'test',
      jwksUrl: TEST_CONTEXT.jwksUrl,
      jwtIssuer: TEST_CONTEXT.jwtIssuer,
      jwtAudience: TEST_CONTEXT.jwtAudience,
      smsSenderId: 'Waypost',
      defaultSlaPolicy: '{"dwellSeconds":{},"escalation":[]}',
      logRetention: RetentionDays.TWO_WEEKS,
      deletionProtection: false,
      missingJwtContext: [],
    });
  });

  it('defaults to stage dev, 30-day logs and deletion protection', () => {
    expect(read(TEST_CONTEXT)).toMatchObject({ stage: 'test', logRetention: 14 });
    expect(read({})).toMatchObject({ stage: 'dev', logRetention: RetentionDays.ONE_MONTH, deletionProtection: true });
  });

  it('accepts booleans and numbers as cdk.json gives them, and strings as -c gives them', () => {
    expect(read({ deletionProtection: false, logRetentionDays: 90 })).toMatchObject({ deletionProtection: false, logRetention: 90 });
    expect(read({ deletionProtection: 'true', logRetentionDays: '365' })).toMatchObject({ deletionProtection: true, logRetention: 365 });
  });

  it.each([
    [{ stage: 'Prod' }, /"stage"/],
    [{ jwksUrl: 'not a url' }, /"jwksUrl" is not a URL/],
    [{ jwtIssuer: 'http://idp.example.com/' }, /"jwtIssuer" must be an https URL/],
    [{ smsSenderId: 'Waypost Deliveries' }, /"smsSenderId"/],
    [{ logRetentionDays: 10 }, /"logRetentionDays" must be one of/],
    [{ deletionProtection: 'yes' }, /"deletionProtection" must be true or false/],
    [{ defaultSlaPolicy: '{' }, /"defaultSlaPolicy" is not valid JSON/],
    [{ defaultSlaPolicy: '{"dwellSeconds":{"nope":5},"escalation":[]}' }, /"defaultSlaPolicy" is not a valid SLA policy/],
  ])('refuses %j naming the key', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });

  it('without JWT settings, uses placeholders that can never verify, and the stack warns', () => {
    const config = read({ stage: 'dev' });
    expect(config.missingJwtContext).toEqual(['jwksUrl', 'jwtIssuer', 'jwtAudience']);
    expect(config.jwksUrl).toMatch(/^https:\/\/[^/]+\.invalid\//);
    expect(config.jwtIssuer).toMatch(/^https:\/\/[^/]+\.invalid\//);

    const stack = new WaypostStack(app({ 'aws:cdk:bundling-stacks': [] }), 'NoJwt', { config });
    const warnings = stack.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data));
    expect(warnings).toEqual([expect.stringMatching(/No jwksUrl, jwtIssuer, jwtAudience in CDK context.*-c jwksUrl=/)]);
  });
});
