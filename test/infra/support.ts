/**
 * Builds the app as `bin/waypost.ts` does (cdk.json's context, cdk-nag
 * registered), with test JWT settings, bundling skipped and the cloud
 * assembly in a temp dir. One build per test file, in `beforeAll`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildWaypostApp } from '../../lib/waypost-app';
import type { WaypostStack } from '../../lib/waypost-stack';

export const TEST_CONTEXT = {
  stage: 'test',
  jwksUrl: 'https://idp.example.com/.well-known/jwks.json',
  jwtIssuer: 'https://idp.example.com/',
  jwtAudience: 'waypost-api',
  smsSenderId: 'Waypost',
  logRetentionDays: 14,
} as const;

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context?: Record<string, unknown> };

export interface Built {
  readonly app: App;
  readonly stack: WaypostStack;
  readonly template: Template;
  /** Removes the cloud assembly directory. */
  dispose(): void;
}

export function buildTestApp(context: Record<string, unknown> = TEST_CONTEXT): Built {
  const outdir = mkdtempSync(join(tmpdir(), 'waypost-cdk-'));
  const app = new App({
    outdir,
    context: { ...cdkJson.context, ...context, 'aws:cdk:bundling-stacks': [] },
  });
  const stack = buildWaypostApp(app);
  const template = Template.fromStack(stack);
  return { app, stack, template, dispose: () => rmSync(outdir, { recursive: true, force: true }) };
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(stack: WaypostStack, construct: { node: { defaultChild?: unknown } }): string {
  const child = construct.node.defaultChild;
  if (child === undefined) throw new Error('construct has no default child');
  return stack.getLogicalId(child as Parameters<WaypostStack['getLogicalId']>[0]);
}

export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/** The statements of every policy attached to a role (by the role's logical id). */
export function statementsOfRole(template: Template, roleId: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify((p.Properties as { Roles: unknown }).Roles) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((p) => (p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement);
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOf = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** A resource as text: `Ref` as `<Id>`, `Fn::GetAtt` as `<Id.Attr>`, joins concatenated (as cdk-nag names them). */
export function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.Ref === 'string') return `<${o.Ref}>`;
    const att = o['Fn::GetAtt'];
    if (Array.isArray(att)) return `<${String(att[0])}.${String(att[1])}>`;
    const join = o['Fn::Join'];
    if (Array.isArray(join)) return (join[1] as unknown[]).map(flat).join(String(join[0]));
  }
  return JSON.stringify(value);
}
