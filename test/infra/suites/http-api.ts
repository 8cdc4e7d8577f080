/**
 * The HTTP API: the JWT authorizer from context on every `/api` route but the
 * health probe, one function behind them, a throttled `$default` stage with
 * access logs, CORS for the console only.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { HTTP_THROTTLE } from '../../../lib/http-api';
import type { WaypostStack } from '../../../lib/waypost-stack';
import { TEST_CONTEXT, logicalId, type Built } from '../support';

export function httpApiTests(shared: () => Built): void {
  let template: Template;
  let stack: WaypostStack;

  beforeAll(() => {
    ({ template, stack } = shared());
  });

  const routesOf = (apiId: string) =>
    Object.values(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: { Ref: apiId } } })).map(
      (r) => r.Properties as { RouteKey: string; AuthorizationType: string; AuthorizerId?: unknown; Target: unknown },
    );

  describe('HTTP API', () => {
    it('has a JWT authorizer with the issuer and audience from context', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        ApiId: { Ref: logicalId(stack, stack.http.api) },
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: { Issuer: TEST_CONTEXT.jwtIssuer, Audience: [TEST_CONTEXT.jwtAudience] },
      });
    });

    it('puts GET, POST and PUT /api/{proxy+} behind the JWT authorizer, and only /api/health in front of it', () => {
      const routes = routesOf(logicalId(stack, stack.http.api));
      expect(routes.map((r) => r.RouteKey).sort()).toEqual(['GET /api/health', 'GET /api/{proxy+}', 'POST /api/{proxy+}', 'PUT /api/{proxy+}']);
      for (const r of routes) {
        if (r.RouteKey === 'GET /api/health') expect(r.AuthorizationType).toBe('NONE');
        else expect(r).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: expect.stringMatching(/JwtAuthorizer/) } });
      }
    });

    it('sends every route to the http-api function with payload format 2.0', () => {
      const integrations = Object.values(
        template.findResources('AWS::ApiGatewayV2::Integration', { Properties: { ApiId: { Ref: logicalId(stack, stack.http.api) } } }),
      );
      expect(integrations).toHaveLength(1);
      expect(integrations[0]?.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: { 'Fn::GetAtt': [logicalId(stack, stack.http.fn), 'Arn'] },
      });
    });

    it('serves the $default stage (no stage prefix in rawPath), throttled, with JSON access logs', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        ApiId: { Ref: logicalId(stack, stack.http.api) },
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: HTTP_THROTTLE.rateLimit, ThrottlingBurstLimit: HTTP_THROTTLE.burstLimit },
        AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"') },
      });
    });

    it('gives only the http-api function the cursor key, as a reference to a generated secret, never its value', () => {
      const secretId = logicalId(stack, stack.http.cursorSecret);
      template.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ PasswordLength: 64 }) });
      const fns = template.findResources('AWS::Lambda::Function') as Record<string, { Properties: { Environment?: { Variables?: Record<string, unknown> } } }>;
      const holders = Object.entries(fns).filter(([, f]) => f.Properties.Environment?.Variables?.WAYPOST_CURSOR_SECRET !== undefined);
      expect(holders.map(([id]) => id)).toEqual([logicalId(stack, stack.http.fn)]);
      const value = JSON.stringify(holders[0]?.[1].Properties.Environment?.Variables?.WAYPOST_CURSOR_SECRET);
      expect(value).toContain('{{resolve:secretsmanager:');
      expect(value).toContain(secretId);
    });

    it('allows CORS from the console origin only', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        ProtocolType: 'HTTP',
        CorsConfiguration: {
          AllowOrigins: [{ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [logicalId(stack, stack.console.distribution), 'DomainName'] }]] }],
          AllowHeaders: ['authorization', 'content-type'],
          // The CSV's next part is named in a Link header (README, decisions).
          ExposeHeaders: ['content-disposition', 'link'],
        },
      });
    });
  });
}
