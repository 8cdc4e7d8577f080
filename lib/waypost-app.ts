/**
 * The app as `bin/waypost.ts` builds it, and as the infra tests build it:
 * settings from context, one stack, cdk-nag's AWS Solutions checks run on
 * every synth (an unacknowledged finding fails the synth).
 */
import { Validations, type App, type Environment } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readWaypostConfig } from './stage-config';
import { WaypostStack } from './waypost-stack';

export interface WaypostAppOptions {
  readonly env?: Environment;
  /** The console's files (default `web/public`). */
  readonly siteDir?: string;
}

export function buildWaypostApp(app: App, options: WaypostAppOptions = {}): WaypostStack {
  const config = readWaypostConfig(app.node);
  const stack = new WaypostStack(app, `Waypost-${config.stage}`, {
    config,
    description: `Waypost delivery tracking (${config.stage})`,
    ...(options.env !== undefined && { env: options.env }),
    ...(options.siteDir !== undefined && { siteDir: options.siteDir }),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
