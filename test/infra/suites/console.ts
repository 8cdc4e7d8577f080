/**
 * The console: a private bucket behind CloudFront (Origin Access Control),
 * deployed with a `config.json` that carries this stack's API URLs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WaypostStack } from '../../../lib/waypost-stack';
import { TEST_CONTEXT, flat, logicalId, type Built } from '../support';

export function consoleTests(shared: () => Built): void {
  let template: Template;
  let stack: WaypostStack;

  beforeAll(() => {
    ({ template, stack } = shared());
  });

  describe('Console', () => {
    it('keeps the site bucket private: public access blocked, TLS enforced, owner-enforced objects', () => {
      const bucket = logicalId(stack, stack.console.bucket);
      template.hasResourceProperties('AWS::S3::Bucket', {
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LoggingConfiguration: { DestinationBucketName: { Ref: logicalId(stack, stack.console.accessLogs) } },
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucket },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it('serves it through CloudFront with Origin Access Control, HTTPS only', () => {
      template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
        OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
      });
      template.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: Match.objectLike({
          DefaultRootObject: 'index.html',
          DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
          Origins: [
            Match.objectLike({
              DomainName: { 'Fn::GetAtt': [logicalId(stack, stack.console.bucket), 'RegionalDomainName'] },
              OriginAccessControlId: Match.anyValue(),
            }),
          ],
        }),
      });
      // Only this distribution may read the bucket.
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: logicalId(stack, stack.console.bucket) },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Action: 's3:GetObject',
              Principal: { Service: 'cloudfront.amazonaws.com' },
              Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
            }),
          ]),
        },
      });
    });

    it("deploys web/public and a config.json with this stack's WebSocket and HTTP URLs, then invalidates the CDN", () => {
      const [deployment] = Object.values(template.findResources('Custom::CDKBucketDeployment'));
      const props = deployment?.Properties as {
        SourceObjectKeys: string[];
        SourceMarkers: Record<string, unknown>[];
        DestinationBucketName: unknown;
        DistributionId: unknown;
      };
      expect(props.DestinationBucketName).toEqual({ Ref: logicalId(stack, stack.console.bucket) });
      expect(props.DistributionId).toEqual({ Ref: logicalId(stack, stack.console.distribution) });
      expect(props.SourceObjectKeys).toHaveLength(2);

      // The jsonData source is staged as a file with markers that CloudFormation fills in at deploy.
      const outdir = shared().app.outdir;
      const stagedConfig = readdirSync(outdir)
        .filter((d) => d.startsWith('asset.'))
        .map((d) => join(outdir, d, 'config.json'))
        .flatMap((f) => {
          try {
            return [readFileSync(f, 'utf8')];
          } catch {
            return [];
          }
        });
      expect(stagedConfig).toHaveLength(1);
      const markers = props.SourceMarkers.find((m) => Object.keys(m).length > 0) ?? {};
      const filled = stagedConfig[0]!.replace(/<<marker:0xbaba:\d+>>/g, (m) => flat(markers[m]));
      expect(JSON.parse(filled)).toEqual({
        wsUrl: `wss://<${logicalId(stack, stack.realtime.api)}>.execute-api.<AWS::Region>.<AWS::URLSuffix>/${TEST_CONTEXT.stage}`,
        httpUrl: `https://<${logicalId(stack, stack.http.api)}>.execute-api.<AWS::Region>.<AWS::URLSuffix>/`,
      });
    });
  });
}
