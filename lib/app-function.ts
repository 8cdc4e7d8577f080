/**
 * Every Waypost Lambda: `functions/<name>/handler.ts`, bundled by the local
 * esbuild (no Docker), on arm64 and the current Node.js runtime, with source
 * maps, JSON logs in its own log group with a retention, and a role that
 * starts with nothing but that log group: each construct grants the rest.
 */
import type { BuildOptions } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/** The project root: `functions/`, `shared/` and `package-lock.json` live here. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The functions, by their folder under `functions/`. */
export const FUNCTION_NAMES = ['ws-connect', 'ws-disconnect', 'ws-default', 'fanout', 'http-api', 'sla-sweep'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

export const handlerEntry = (name: FunctionName): string => fileURLToPath(new URL(`../functions/${name}/handler.ts`, import.meta.url));

/**
 * Node.js 20 is what the code is written and tested against (`target`), but
 * Lambda's nodejs20.x runtime is deprecated (April 2026) and no longer takes
 * new functions; nodejs24.x is the current runtime and runs a node20 bundle
 * unchanged (the handlers are async, so its removal of callback handlers does
 * not touch them).
 */
export const RUNTIME = Runtime.NODEJS_24_X;

/**
 * The esbuild settings of every bundle, in one place so the infra test builds
 * exactly what `cdk synth` builds.
 *
 * - ESM: `@middy/core` and the AWS SDK ship ES modules, so ESM output keeps
 *   their tree-shaking (about a fifth smaller than CJS here). The banner
 *   gives bundled CommonJS code a real `require` for Node built-ins, so no
 *   `Dynamic require of "x" is not supported` at run time.
 * - Nothing external, the AWS SDK included: the SDK clients are pinned
 *   (package.json) to the versions the tests ran; the copy in the Lambda
 *   runtime is whatever version AWS ships that month. Bundled and minified,
 *   the SDK also loads faster than the runtime's copy from disk.
 * - Source maps without sources content: stack traces point at the
 *   TypeScript (with `--enable-source-maps`), and the asset stays small.
 */
export const BUNDLE = {
  format: 'esm',
  target: 'node20',
  platform: 'node',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  external: [] as string[],
  banner: "import { createRequire as __waypostCreateRequire } from 'node:module'; const require = __waypostCreateRequire(import.meta.url);",
  /** NodejsFunction names an ESM bundle `index.mjs`. */
  outfile: 'index.mjs',
} as const;

/**
 * esbuild's options for one function's bundle, as `NodejsFunction` builds it
 * from `BUNDLE` (the infra test and `WAYPOST_BUNDLES=1` build with these, so
 * what they run is what deploys).
 *
 * @param entry the handler's source file
 * @param outfile where the bundle goes
 */
export function bundleBuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: BUNDLE.platform,
    format: BUNDLE.format,
    target: BUNDLE.target,
    minify: BUNDLE.minify,
    sourcemap: BUNDLE.sourcemap,
    sourcesContent: BUNDLE.sourcesContent,
    mainFields: [...BUNDLE.mainFields],
    external: [...BUNDLE.external],
    banner: { js: BUNDLE.banner },
    logLevel: 'silent',
  };
}

export interface AppFunctionProps {
  /** The folder under `functions/`. */
  readonly name: FunctionName;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  /** Default 10 seconds. */
  readonly timeout?: Duration;
  /** Default 512 MB: on arm64 this buys the CPU that keeps cold starts (SDK init) short. */
  readonly memorySize?: number;
  /** Retries of an asynchronous invocation (default: Lambda's 2). */
  readonly retryAttempts?: number;
}

export class AppFunction extends NodejsFunction {
  /** The function's log group (also `logGroup`, typed as the interface there). */
  readonly logs: LogGroup;
  /** The function's role (also `role`, typed as optional there). */
  readonly executionRole: Role;

  constructor(scope: Construct, id: string, props: AppFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: props.logRetention });
    // Its own role, not the AWSLambdaBasicExecutionRole managed policy: it may write its own log group, nothing more.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Waypost ${props.name} function`,
    });
    logGroup.grantWrite(role);
    super(scope, id, {
      entry: handlerEntry(props.name),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: fileURLToPath(new URL('../package-lock.json', import.meta.url)),
      description: props.description,
      runtime: RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      role,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      ...(props.retryAttempts !== undefined && { retryAttempts: props.retryAttempts }),
      environment: {
        ...props.environment,
        NODE_OPTIONS: '--enable-source-maps',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: BUNDLE.target,
        minify: BUNDLE.minify,
        sourceMap: BUNDLE.sourcemap,
        sourcesContent: BUNDLE.sourcesContent,
        mainFields: [...BUNDLE.mainFields],
        externalModules: [...BUNDLE.external],
        banner: BUNDLE.banner,
        logLevel: LogLevel.WARNING,
      },
    });
    this.logs = logGroup;
    this.executionRole = role;
  }
}
