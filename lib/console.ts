/**
 * The web console: `web/public` in a private S3 bucket, served by CloudFront
 * through Origin Access Control, with `config.json` (the API URLs) written at
 * deploy time so the same build runs against any stage.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AllowedMethods,
  Distribution,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Policy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct, type IConstruct } from 'constructs';
import { acknowledge, wildcardActionFinding, wildcardResourceFinding } from './nag';

export interface ConsoleProps {
  /** The folder deployed as the site. */
  readonly siteDir: string;
  readonly logRetention: RetentionDays;
}

/** What the console reads from `/config.json`. */
export interface ConsoleConfig {
  readonly wsUrl: string;
  readonly httpUrl: string;
}

export class Console extends Construct {
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;
  readonly distribution: Distribution;
  private readonly props: ConsoleProps;

  constructor(scope: Construct, id: string, props: ConsoleProps) {
    super(scope, id);
    this.props = props;

    // S3 server access logs and CloudFront standard logs; CloudFront writes with ACLs, hence OBJECT_WRITER.
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bucket = new Bucket(this, 'Site', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'site/',
      // Only build output lives here, redeployed from the repository on every deploy.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    this.distribution = new Distribution(this, 'Cdn', {
      comment: `Waypost console (${Stack.of(this).stackName})`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        responseHeadersPolicy: ResponseHeadersPolicy.SECURITY_HEADERS,
      },
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: this.accessLogs,
      logFilePrefix: 'cdn/',
    });
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR1',
      'Drivers, retailers and dispatchers may be anywhere; the console is static and every API call is authenticated, so there is no geography to restrict.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR2',
      'The distribution serves only static files; the APIs are on API Gateway with stage throttling and JWT checks. Attach a WAF web ACL (us-east-1) if the deployment requires one.',
    );
    acknowledge(
      this.distribution,
      'AwsSolutions-CFR4',
      'Without a custom domain CloudFront serves its default *.cloudfront.net certificate, whose security policy (TLSv1) CloudFront fixes; ' +
        'serving the console on an own domain with an ACM certificate and TLSv1.2_2021 clears this.',
    );
  }

  /** `https://<id>.cloudfront.net` */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }

  /** Deploy the site with its `config.json`, and invalidate the CDN. */
  publish(config: ConsoleConfig): BucketDeployment {
    const logGroup = new LogGroup(this, 'DeployLogs', { retention: this.props.logRetention });
    // Our role rather than CDK's default (AWSLambdaBasicExecutionRole): it writes its own log group only.
    const role = new Role(this, 'DeployRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Waypost console deployment (CDK BucketDeployment handler)',
    });
    logGroup.grantWrite(role);
    const deployment = new BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      sources: [Source.asset(this.props.siteDir), Source.jsonData('config.json', config)],
      distribution: this.distribution,
      distributionPaths: ['/*'],
      // index.html and config.json must never be served stale after a deploy; the browser revalidates (ETag).
      cacheControl: [CacheControl.noCache()],
      role,
      logGroup,
      memoryLimit: 256,
    });
    this.acknowledgeDeploymentHandler(role);
    return deployment;
  }

  /**
   * The BucketDeployment handler is CDK's: its grants (S3 read from CDK's
   * asset bucket, read-write on the site bucket, CloudFront invalidation) use
   * wildcards we cannot narrow. Each wildcard found in its policy is matched
   * against what CDK is known to grant and acknowledged with that reason; any
   * other wildcard stays a finding.
   */
  private acknowledgeDeploymentHandler(role: Role): void {
    const siteObjects = wildcardResourceFinding(this, this.bucket.arnForObjects('*'));
    const reasonFor = (finding: string, actions: readonly string[]): string | undefined => {
      if (finding.startsWith('AwsSolutions-IAM5[Action::s3:')) {
        return 'CDK BucketDeployment grants S3 action groups (grantRead / grantReadWrite) to copy the site; they apply only to the asset and site buckets.';
      }
      if (finding === siteObjects) return 'The deployment writes and prunes every object of the site bucket, which holds nothing but the console build.';
      if (/^AwsSolutions-IAM5\[Resource::arn:(<AWS::Partition>|[a-z-]+):s3:::cdk-[a-z0-9]+-assets-/.test(finding)) {
        return "Read access to the objects of CDK's bootstrap asset bucket, where the site's zip is staged.";
      }
      if (finding === 'AwsSolutions-IAM5[Resource::*]' && actions.every((a) => a.startsWith('cloudfront:'))) {
        return 'CDK grants CloudFront CreateInvalidation/GetInvalidation on "*" to invalidate this distribution after a deploy.';
      }
      return undefined;
    };
    const policy = role.node.tryFindChild('DefaultPolicy');
    const doc = policy instanceof Policy ? (Stack.of(this).resolve(policy.document) as PolicyJson) : { Statement: [] };
    for (const st of doc.Statement) {
      if (st.Effect !== 'Allow') continue;
      const actions = toArray(st.Action);
      const findings = [
        ...actions.filter((a) => a.includes('*')).map(wildcardActionFinding),
        ...toArray(st.Resource)
          .map((r) => wildcardResourceFinding(this, r))
          .filter((f) => f.includes('*')),
      ];
      for (const finding of findings) {
        const reason = reasonFor(finding, actions);
        if (reason !== undefined) acknowledge(role, finding, reason);
      }
    }
    // The handler function itself is a CDK singleton at stack level.
    const handler = Stack.of(this).node.children.find((c: IConstruct) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (handler !== undefined) {
      acknowledge(
        handler,
        'AwsSolutions-L1',
        "CDK's BucketDeployment handler runs on the Python runtime this CDK release pins, with its AWS CLI layer; it runs only during deployments.",
      );
    }
  }
}

interface PolicyJson {
  readonly Statement: readonly { readonly Effect?: string; readonly Action?: string | string[]; readonly Resource?: unknown }[];
}

function toArray<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
