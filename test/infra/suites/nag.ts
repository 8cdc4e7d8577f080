/**
 * cdk-nag's AWS Solutions checks: no finding is left unacknowledged, every
 * acknowledgement says why, none is stale (each still matches a finding), and
 * a new finding fails the synth.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations, type PolicyValidationPluginReport } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { buildWaypostApp } from '../../../lib/waypost-app';
import { TEST_CONTEXT, type Built } from '../support';

function describeViolations(report: PolicyValidationPluginReport): string {
  return report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`).join('\n');
}

/** Every acknowledgement recorded in the tree: rule id (without the `Annotation::` prefix) and reason. */
function acknowledgements(root: IConstruct): { id: string; reason: string; path: string }[] {
  return root.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.entries(m.data as Record<string, string>))
        .map(([id, reason]) => ({ id: id.replace(/^annotation::/i, ''), reason, path: c.node.path })),
    )
    .filter((a) => a.id.startsWith('AwsSolutions-'));
}

export function nagTests(shared: () => Built): void {
  describe('cdk-nag AwsSolutionsChecks', () => {
    it('reports no unacknowledged finding', () => {
      const report = new AwsSolutionsChecks().validateScope(shared().app);
      expect(describeViolations(report)).toBe('');
      expect(report.success).toBe(true);
    });

    it('gives every acknowledgement a specific reason', () => {
      const acks = acknowledgements(shared().app);
      expect(acks.length).toBeGreaterThan(0);
      for (const a of acks) expect(a.reason.length, `${a.id} on ${a.path}`).toBeGreaterThanOrEqual(60);
    });

    it('keeps no stale acknowledgement: each matches a finding the checks raise without it', () => {
      const raw = new AwsSolutionsChecks();
      // The pack's own acknowledgement lookup, switched off, to see every finding.
      Object.defineProperty(raw, 'isAcknowledged', { value: () => false });
      const findings = new Map<string, string[]>();
      for (const v of raw.validateScope(shared().app).violations) {
        findings.set(v.ruleName, v.violatingResources.map((r) => r.constructPath ?? ""));
      }
      for (const a of acknowledgements(shared().app)) {
        const paths = findings.get(a.id) ?? [];
        expect(paths.some((p) => p === a.path || p.startsWith(`${a.path}/`)), `${a.id} on ${a.path}`).toBe(true);
      }
    });

    it('fails the synth of the app on a new, unacknowledged finding', () => {
      const outdir = mkdtempSync(join(tmpdir(), 'waypost-nag-'));
      try {
        const app = new App({ outdir, context: { ...TEST_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
        const stack = buildWaypostApp(app);
        new Queue(stack, 'UnencryptedInTransit');
        expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    });
  });
}
