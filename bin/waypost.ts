/** The CDK app: `npx cdk synth` / `npx cdk deploy -c jwksUrl=... -c jwtIssuer=... -c jwtAudience=...`. */
import { App } from 'aws-cdk-lib';
import { buildWaypostApp } from '../lib/waypost-app';

const app = new App();
buildWaypostApp(app, {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
