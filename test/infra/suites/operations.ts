/**
 * Running it: every function built the AppFunction way (arm64, current Node,
 * source maps, JSON logs with retention), alarms on the metrics that matter,
 * all on one topic, and the URLs as outputs.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME, type AppFunction } from '../../../lib/app-function';
import type { WaypostStack } from '../../../lib/waypost-stack';
import { TEST_CONTEXT, logicalId, type Built } from '../support';

export function operationsTests(shared: () => Built): void {
  let template: Template;
  let stack: WaypostStack;
  let fns: AppFunction[];

  beforeAll(() => {
    ({ template, stack } = shared());
    fns = [stack.realtime.connectFn, stack.realtime.disconnectFn, stack.realtime.defaultFn, stack.realtime.fanoutFn, stack.http.fn, stack.sla.fn];
  });

  interface AlarmProps {
    Namespace: string;
    MetricName: string;
    Dimensions?: { Name: string; Value: unknown }[];
    AlarmActions: unknown[];
  }
  const alarms = () => Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties as AlarmProps);

  describe('functions', () => {
    it('are all AppFunctions: arm64, the current Node runtime, source maps, JSON logs in their own log group', () => {
      for (const fn of fns) {
        template.hasResourceProperties('AWS::Lambda::Function', {
          FunctionName: Match.absent(),
          Handler: 'index.handler',
          Runtime: RUNTIME.name,
          Architectures: ['arm64'],
          LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: logicalId(stack, fn.logs) } },
          Role: { 'Fn::GetAtt': [logicalId(stack, fn.executionRole), 'Arn'] },
          Environment: {
            Variables: Match.objectLike({
              NODE_OPTIONS: '--enable-source-maps',
              AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
              WAYPOST_JWKS_URL: TEST_CONTEXT.jwksUrl,
              WAYPOST_JWT_ISSUER: TEST_CONTEXT.jwtIssuer,
              WAYPOST_JWT_AUDIENCE: TEST_CONTEXT.jwtAudience,
            }),
          },
        });
        expect(template.toJSON().Resources[logicalId(stack, fn.logs)]).toMatchObject({
          Type: 'AWS::Logs::LogGroup',
          Properties: { RetentionInDays: TEST_CONTEXT.logRetentionDays },
          DeletionPolicy: 'Retain',
        });
      }
      expect(new Set(fns.map((f) => logicalId(stack, f.logs))).size).toBe(fns.length);
    });
  });

  describe('alarms', () => {
    it('watch the on-failure queue depth', () => {
      expect(alarms()).toContainEqual(
        expect.objectContaining({
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack, stack.realtime.failedFanout), 'QueueName'] } }],
        }),
      );
    });

    it.each(['IteratorAge', 'Errors'])("watch the fan-out's %s", (metric) => {
      expect(alarms()).toContainEqual(
        expect.objectContaining({
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack, stack.realtime.fanoutFn) } }],
        }),
      );
    });

    it("watch SMS failures, the sweep's EMF metric", () => {
      expect(alarms()).toContainEqual(expect.objectContaining({ Namespace: 'Waypost', MetricName: 'SmsFailed' }));
    });

    it('all notify the alarm topic', () => {
      expect(alarms()).toHaveLength(4);
      for (const a of alarms()) expect(a.AlarmActions).toEqual([{ Ref: logicalId(stack, stack.alarmTopic) }]);
    });
  });

  describe('outputs', () => {
    it('give the WebSocket, HTTP API and console URLs', () => {
      template.hasOutput('WebSocketUrl', {
        Value: { 'Fn::Join': ['', Match.arrayWith(['wss://', { Ref: logicalId(stack, stack.realtime.api) }, `/${TEST_CONTEXT.stage}`])] },
      });
      template.hasOutput('HttpApiUrl', { Value: { 'Fn::Join': ['', Match.arrayWith(['https://', { Ref: logicalId(stack, stack.http.api) }])] } });
      template.hasOutput('ConsoleUrl', {
        Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [logicalId(stack, stack.console.distribution), 'DomainName'] }]] },
      });
      template.hasOutput('AlarmTopicArn', { Value: { Ref: logicalId(stack, stack.alarmTopic) } });
    });
  });
}
