/**
 * The WebSocket edge: three routes on their functions, the `$default` reply
 * as route response, a throttled stage, and the fan-out's stream mapping.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FANOUT_STREAM, WEBSOCKET_THROTTLE } from '../../../lib/realtime-api';
import type { WaypostStack } from '../../../lib/waypost-stack';
import { TIMELINE_INSERT_FILTER } from '../../../shared/store/stream-records';
import { TEST_CONTEXT, logicalId, type Built } from '../support';

export function realtimeApiTests(shared: () => Built): void {
  let template: Template;
  let stack: WaypostStack;

  beforeAll(() => {
    ({ template, stack } = shared());
  });

  describe('WebSocket API', () => {
    it('routes on $request.body.action with exactly $connect, $disconnect and $default', () => {
      const apiId = logicalId(stack, stack.realtime.api);
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'WEBSOCKET', RouteSelectionExpression: '$request.body.action' });
      const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: { Ref: apiId } } }));
      expect(routes.map((r) => (r.Properties as { RouteKey: string }).RouteKey).sort()).toEqual(['$connect', '$default', '$disconnect']);
    });

    it.each([
      ['$connect', 'connectFn'],
      ['$disconnect', 'disconnectFn'],
      ['$default', 'defaultFn'],
    ] as const)('integrates %s with its own function (Lambda proxy)', (routeKey, fn) => {
      const apiId = logicalId(stack, stack.realtime.api);
      const [route] = Object.values(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: { Ref: apiId }, RouteKey: routeKey } }));
      const target = JSON.stringify((route?.Properties as { Target: unknown }).Target);
      const integrationId = /"Ref":"([^"]+)"/.exec(target)?.[1];
      expect(integrationId).toBeDefined();
      const integration = template.toJSON().Resources[integrationId!] as { Type: string; Properties: { IntegrationType: string; IntegrationUri: unknown } };
      expect(integration.Type).toBe('AWS::ApiGatewayV2::Integration');
      expect(integration.Properties.IntegrationType).toBe('AWS_PROXY');
      expect(JSON.stringify(integration.Properties.IntegrationUri)).toContain(`"Fn::GetAtt":["${logicalId(stack, stack.realtime[fn])}","Arn"]`);
    });

    it('returns the $default function result to the client as the route response', () => {
      const apiId = logicalId(stack, stack.realtime.api);
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        ApiId: { Ref: apiId },
        RouteKey: '$default',
        RouteResponseSelectionExpression: '$default',
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::RouteResponse', {
        ApiId: { Ref: apiId },
        RouteResponseKey: '$default',
        RouteId: { Ref: Match.stringLikeRegexp('defaultRoute') },
      });
    });

    it('deploys a throttled stage named after the context stage', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        ApiId: { Ref: logicalId(stack, stack.realtime.api) },
        StageName: TEST_CONTEXT.stage,
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: WEBSOCKET_THROTTLE.rateLimit, ThrottlingBurstLimit: WEBSOCKET_THROTTLE.burstLimit },
      });
    });

    it.each(['fanoutFn', 'defaultFn'] as const)("gives the %s this stage's @connections endpoint", (name) => {
      const fn = template.toJSON().Resources[logicalId(stack, stack.realtime[name])] as { Properties: { Environment: { Variables: Record<string, unknown> } } };
      const url = JSON.stringify(fn.Properties.Environment.Variables.WAYPOST_CALLBACK_URL);
      expect(url).toContain('https://');
      expect(url).toContain(`{"Ref":"${logicalId(stack, stack.realtime.api)}"}`);
      expect(url).toContain(`/${TEST_CONTEXT.stage}`);
    });
  });

  describe('fan-out stream mapping', () => {
    it('reads the orders stream into the fan-out function, filtered to timeline inserts', () => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(stack, stack.tables.orders), 'StreamArn'] },
        FunctionName: { Ref: logicalId(stack, stack.realtime.fanoutFn) },
        StartingPosition: 'LATEST',
        FilterCriteria: { Filters: [{ Pattern: JSON.stringify(TIMELINE_INSERT_FILTER) }] },
      });
    });

    it('reports partial batch failures, bisects on error, retries a bounded number of times', () => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: FANOUT_STREAM.retryAttempts,
        MaximumRecordAgeInSeconds: FANOUT_STREAM.maxRecordAge.toSeconds(),
        BatchSize: FANOUT_STREAM.batchSize,
        MaximumBatchingWindowInSeconds: 0,
      });
    });

    it('sends exhausted batches to the SQS on-failure queue', () => {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(stack, stack.realtime.failedFanout), 'Arn'] } } },
      });
      template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
      expect(Object.keys(template.findResources('AWS::Lambda::EventSourceMapping'))).toHaveLength(1);
    });
  });
}
