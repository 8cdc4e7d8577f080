/**
 * The SLA sweep runs every minute from EventBridge, is not retried (the next
 * sweep redoes the work), and counts the SMS that SNS refused.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { SMS_FAILED_METRIC, smsFailedDimensions } from '../../../shared/runtime/metrics';
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

    it("alarms on the sweep's EMF metric Waypost/SmsFailed, not on a log line's wording", () => {
      // The alarm reads exactly the metric the sweep publishes: the same namespace, name and dimensions (shared/runtime/metrics.ts).
      expect(SMS_FAILED_METRIC).toEqual({ namespace: 'Waypost', name: 'SmsFailed', service: 'sla-sweep' });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'Waypost',
        MetricName: 'SmsFailed',
        Dimensions: [
          { Name: 'service', Value: 'sla-sweep' },
          { Name: 'stage', Value: TEST_CONTEXT.stage },
        ],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(smsFailedDimensions(TEST_CONTEXT.stage)).toEqual({ service: 'sla-sweep', stage: TEST_CONTEXT.stage });
      expect(Object.keys(template.findResources('AWS::Logs::MetricFilter'))).toEqual([]);
    });

    it('turns the EMF metrics on in the sweep only, with the stage as their dimension', () => {
      const functions = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([, f]) =>
        JSON.stringify(f.Properties).includes('WAYPOST_METRICS_STAGE'),
      );
      expect(functions.map(([id]) => id)).toEqual([logicalId(stack, stack.sla.fn)]);
      expect(functions[0]?.[1].Properties.Environment.Variables.WAYPOST_METRICS_STAGE).toBe(TEST_CONTEXT.stage);
    });
  });
}
