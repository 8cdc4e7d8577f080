/**
 * The SLA sweep runs every minute from EventBridge, is not retried (the next
 * sweep redoes the work), and counts the SMS that SNS refused.
 */
import { readFileSync } from 'node:fs';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SMS_FAILED_LOG_TEXT } from '../../../lib/sla-escalation';
import type { WaypostStack } from '../../../lib/waypost-stack';
import { TEST_CONTEXT, logicalId, type Built } from '../support';

export function slaEscalationTests(shared: () => Built): void {
  let template: Template;
  let stack: WaypostStack;

  beforeAll(() => {
    ({ template, stack } = shared());
  });

  describe('SLA escalation', () => {
    it('runs the sweep on an EventBridge rule at rate(1 minute)', () => {
      const rules = Object.values(template.findResources('AWS::Events::Rule'));
      expect(rules).toHaveLength(1);
      expect(rules[0]?.Properties).toMatchObject({
        ScheduleExpression: 'rate(1 minute)',
        State: 'ENABLED',
        Targets: [{ Arn: { 'Fn::GetAtt': [logicalId(stack, stack.sla.fn), 'Arn'] } }],
      });
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [logicalId(stack, stack.sla.fn), 'Arn'] },
        SourceArn: { 'Fn::GetAtt': [logicalId(stack, stack.sla.schedule), 'Arn'] },
      });
    });

    it('does not retry a failed sweep, and finishes within the minute', () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: logicalId(stack, stack.sla.fn) },
        MaximumRetryAttempts: 0,
      });
      const fn = template.toJSON().Resources[logicalId(stack, stack.sla.fn)] as { Properties: { Timeout: number } };
      expect(fn.Properties.Timeout).toBeLessThan(60);
    });

    it('passes the SMS sender id from context to the sweep only', () => {
      const functions = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([, f]) =>
        JSON.stringify(f.Properties).includes('WAYPOST_SMS_SENDER_ID'),
      );
      expect(functions.map(([id]) => id)).toEqual([logicalId(stack, stack.sla.fn)]);
      expect(functions[0]?.[1].Properties.Environment.Variables.WAYPOST_SMS_SENDER_ID).toBe(TEST_CONTEXT.smsSenderId);
    });

    it("counts SMS failures from the sweep's own log line", () => {
      // The alarm is only as good as the line it counts: the service must still log it.
      expect(readFileSync(new URL('../../../shared/services/sla-service.ts', import.meta.url), 'utf8')).toContain(`'${SMS_FAILED_LOG_TEXT}`);
      template.hasResourceProperties('AWS::Logs::MetricFilter', {
        LogGroupName: { Ref: logicalId(stack, stack.sla.fn.logs) },
        FilterPattern: `"${SMS_FAILED_LOG_TEXT}"`,
        MetricTransformations: [{ MetricNamespace: `Waypost/${TEST_CONTEXT.stage}`, MetricName: 'SlaSmsFailed', MetricValue: '1' }],
      });
    });
  });
}
