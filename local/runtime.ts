/**
 * The whole local runtime in one process: DynamoDB Local, the gateway
 * (WebSocket, `@connections`, HTTP API, console), the stream pump, and the
 * very handlers that run in Lambda. `npm start` and the end-to-end tests both
 * start it through `startRuntime`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent, ScheduledEvent } from 'aws-lambda';
import { fanoutHandler } from '../functions/fanout/handler';
import { httpApiHandler } from '../functions/http-api/handler';
import { createApp, type App } from '../functions/common/wiring';
import { slaSweepHandler } from '../functions/sla-sweep/handler';
import { connectHandler } from '../functions/ws-connect/handler';
import { wsDefaultHandler } from '../functions/ws-default/handler';
import { disconnectHandler } from '../functions/ws-disconnect/handler';
import { createClients } from '../shared/runtime/clients';
import { loadConfig } from '../shared/runtime/config';
import type { Logger } from '../shared/runtime/log';
import type { SweepReport } from '../shared/services/sla-service';
import { TIMELINE_INSERT_FILTER } from '../shared/store/stream-records';
import { CONNECTIONS_TABLE, ORDERS_TABLE } from '../shared/store/tables';
import type { LocalConfig } from './config';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DurabilityFence, installDurabilityFence } from './durability-fence';
import { dataDirCredentials, inMemoryCredentials, type LocalCredentials } from './credentials';
import { ensureTables, LOCAL_REGION, startDynamoDbLocal, streamArnOf, type DynamoDbLocal } from './dynamodb';
import type { LoadedBundles } from './bundles';
import { freePort } from './free-port';
import { decodedOrNull, LocalGateway, sendJson, type GatewayHandlers, type LocalRoute } from './gateway';
import { demoTokens, seedDemo, type DemoUser } from './seed';
import { lambdaContext, type LambdaHandler } from './lambda';
import { Scheduler, SCHEDULED_EVENT } from './scheduler';
import { SNS_PATH, SnsStandIn } from './sns-standin';
import { StreamPump } from './stream-pump';

export interface Runtime {
  readonly url: string;
  readonly port: number;
  readonly dynamodbPort: number;
  readonly demoUsers: readonly (DemoUser & { token: string })[];
  readonly seeded: boolean;
  readonly gateway: LocalGateway;
  readonly pump: StreamPump;
  readonly sns: SnsStandIn;
  /** The runtime's own credentials (DynamoDB Local's key, `@connections` signatures). */
  readonly credentials: LocalCredentials;
  /** The file (mode 0600) that holds them, for local tools: in the data dir, or a temp dir in memory. */
  readonly credentialsFile: string;
  /** Where the deployed bundles it runs were built (`WAYPOST_BUNDLES=1`); undefined when it runs the TypeScript handlers. */
  readonly bundlesDir?: string;
  stop(): Promise<void>;
}

const WEB_ROOT = resolve(import.meta.dirname, '..', 'web', 'public');
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
};

/**
 * The handlers' environment, as a Lambda's would be: the process's own
 * variables (`WAYPOST_LOG_LEVEL`, `WAYPOST_CURSOR_SECRET`, table names …)
 * with the local edges over them. It is read into the runtime's config
 * (`loadConfig`); the process's environment is left as it is.
 */
function handlerEnvironment(cfg: LocalConfig, dynamodbPort: number, port: number): Record<string, string | undefined> {
  return {
    ...process.env,
    // Tokens are checked with the local secret, never a JWKS.
    WAYPOST_JWKS_URL: undefined,
    AWS_REGION: LOCAL_REGION,
    WAYPOST_JWT_SECRET: cfg.jwtSecret,
    WAYPOST_DYNAMODB_ENDPOINT: `http://127.0.0.1:${dynamodbPort}`,
    // The local gateway applies CONTRACT §5's frame rate on arrival (local/gateway/websocket.ts).
    WAYPOST_WS_FRAME_LIMIT: 'gateway',
    // A sweep sends owed SMS for at most one interval, so the next sweep is never held back long.
    WAYPOST_SMS_DRAIN_MS: String(cfg.sweepMs),
    // One process for every socket: appends to different orders that meet in time share a transaction.
    WAYPOST_GROUP_COMMIT: '1',
    WAYPOST_DEFAULT_SLA_POLICY: cfg.slaPolicyJson,
    WAYPOST_CALLBACK_URL: `http://127.0.0.1:${port}`,
    WAYPOST_SNS_ENDPOINT: `http://127.0.0.1:${port}${SNS_PATH}`,
  };
}

/** The gateway's handlers, and the two the runtime triggers itself (the stream pump's and the scheduler's). */
interface RuntimeHandlers {
  readonly gateway: GatewayHandlers;
  readonly fanout: LambdaHandler<DynamoDBStreamEvent, DynamoDBBatchResponse>;
  readonly slaSweep: LambdaHandler<ScheduledEvent, SweepReport>;
}

/** The handlers composed over `app`: the very code Lambda runs, in this process's modules. */
function composeHandlers(app: App): RuntimeHandlers {
  return {
    gateway: {
      connect: connectHandler(app),
      disconnect: disconnectHandler(app),
      message: wsDefaultHandler({
        service: app.realtimeService,
        log: () => app.logger().child({ fn: 'ws' }),
        frameLimit: () => app.config.wsFrameLimit === 'handler',
      }),
      http: httpApiHandler(app),
    } satisfies GatewayHandlers,
    fanout: fanoutHandler(app),
    slaSweep: slaSweepHandler(app),
  };
}

/** `handler`, then `after()` (also when it throws). */
function followedBy<E, R>(handler: LambdaHandler<E, R>, after: () => void): LambdaHandler<E, R> {
  return async (event, context) => {
    try {
      return await handler(event, context);
    } finally {
      after();
    }
  };
}

/**
 * The handlers of the deployed bundles (`WAYPOST_BUNDLES=1`). Each bundle is
 * built from `functions/<name>/handler.ts`, so its `handler` is that
 * module's export, typed here as such. A bundle's writes go through its own
 * DynamoDB client, which the runtime's stream nudge does not see: each
 * invocation that may write nudges the pump when it ends.
 */
function bundledHandlers(bundles: LoadedBundles, nudge: () => void): RuntimeHandlers {
  const h = bundles.handlers;
  return {
    gateway: {
      connect: followedBy(h['ws-connect'] as GatewayHandlers['connect'], nudge),
      disconnect: followedBy(h['ws-disconnect'] as GatewayHandlers['disconnect'], nudge),
      message: followedBy(h['ws-default'] as GatewayHandlers['message'], nudge),
      http: followedBy(h['http-api'] as GatewayHandlers['http'], nudge),
    },
    fanout: h.fanout as RuntimeHandlers['fanout'],
    slaSweep: followedBy(h['sla-sweep'] as RuntimeHandlers['slaSweep'], nudge),
  };
}

function staticRoute(): LocalRoute {
  return (req, res, url) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (url.pathname.startsWith('/api') || url.pathname.startsWith('/_local') || url.pathname === '/ws') return false;
    const decoded = url.pathname === '/' ? 'index.html' : decodedOrNull(url.pathname);
    // Malformed percent-encoding names no file: the 404 below, not a 500.
    if (decoded === null) return false;
    const rel = decoded.replace(/^\/+/, '');
    const file = normalize(join(WEB_ROOT, rel));
    if (!file.startsWith(WEB_ROOT) || !existsSync(file)) return false;
    const body = readFileSync(file);
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': body.length.toString(),
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  };
}

export async function startRuntime(cfg: LocalConfig, log: Logger): Promise<Runtime> {
  let ready = false;
  let demoUsers: (DemoUser & { token: string })[] = [];
  const dynamodbPort = cfg.dynamodbPort ?? (await freePort());
  // A data dir keeps its key (its database is the key's file); in memory, a new one each start.
  const held = cfg.inMemory ? inMemoryCredentials() : { ...dataDirCredentials(cfg.dataDir), remove: () => undefined };
  const credentials = held.credentials;

  // The SDK's Node version warning only (AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, see TOOLCHAIN); no handler config.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  let app: App | undefined;
  let handlers: RuntimeHandlers | undefined;
  const sns = new SnsStandIn();
  /** Whether DynamoDB Local's process still runs; set once it has started. */
  let databaseRunning: () => boolean = () => true;

  const health: LocalRoute = (_req, res, url) => {
    if (url.pathname === '/api/health') {
      // CONTRACT §1: 200 only while every part is up; DynamoDB Local may die under the runtime (killed, out of memory).
      if (ready && !databaseRunning()) sendJson(res, 503, { ok: false, down: ['database'] });
      else sendJson(res, ready ? 200 : 503, ready ? { ok: true } : { ok: false, starting: true });
      return true;
    }
    if (!ready && (url.pathname.startsWith('/api/') || url.pathname.startsWith('/_local/'))) {
      sendJson(res, 503, { error: { code: 'INTERNAL', message: 'Waypost is starting; retry shortly.' } });
      return true;
    }
    return false;
  };
  const local: LocalRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (url.pathname === '/_local/demo-users' && req.method === 'GET') {
      sendJson(res, 200, demoUsers.map(({ label, role, sub, tenant, retailerId, token }) => ({ label, role, sub, tenant, retailerId, token })));
      return true;
    }
    if (url.pathname === '/_local/connections' && req.method === 'GET') {
      sendJson(res, 200, gateway.describeConnections());
      return true;
    }
    if (url.pathname === '/_local/memory' && req.method === 'GET') {
      // This process's memory (the soak samples it): bytes, as `process.memoryUsage()` gives them.
      sendJson(res, 200, process.memoryUsage());
      return true;
    }
    if (url.pathname === '/_local/stream' && req.method === 'GET') {
      sendJson(res, 200, pump ? { ...pump.stats(), deadLettered: pump.deadLettered(), durabilityFence: durability?.stats() ?? null } : { starting: true });
      return true;
    }
    return false;
  };

  const gateway = new LocalGateway({
    port: cfg.port,
    log,
    idleSeconds: cfg.wsIdleSeconds,
    maxSeconds: cfg.wsMaxSeconds,
    handlers: () => {
      if (handlers === undefined) throw new Error('The local runtime is starting: no handlers yet');
      return handlers.gateway;
    },
    routes: [health, local, sns.route(), staticRoute()],
    isReady: () => ready,
    // The token expiry the handlers keep on the connection item (moved on by `auth`).
    connectionExpiry: async (connectionId) => (await app?.connectionStore().get(connectionId))?.exp ?? null,
    managementCredentials: credentials,
  });
  const port = await gateway.listen();
  // The fan-out runs in this process: its pushes reach the gateway without a
  // socket round trip (the `@connections` HTTP API answers only calls signed
  // with the runtime's credentials).
  let c: ReturnType<typeof loadConfig>;
  let bundles: LoadedBundles | undefined;
  try {
    const env = handlerEnvironment(cfg, dynamodbPort, port);
    c = loadConfig(env);
    if (cfg.bundles) {
      // As Lambda configures a function: through its environment (see local/bundles.ts).
      const { applyLambdaEnvironment, loadBundles } = await import('./bundles');
      applyLambdaEnvironment(env, credentials);
      bundles = await loadBundles();
    }
  } catch (err) {
    await gateway.close();
    held.remove();
    throw err;
  }
  const clients = createClients(c, { credentials, managementRequestHandler: gateway.managementTransport() });
  const composed = createApp(c, clients);
  app = composed;
  handlers = bundles === undefined ? composeHandlers(composed) : bundledHandlers(bundles, () => pump?.nudge());
  const { fanout, slaSweep } = handlers;

  let dynamo: DynamoDbLocal | undefined;
  let fenceClient: DynamoDBClient | undefined;
  let durability: DurabilityFence | undefined;
  let pump: StreamPump | undefined;
  let scheduler: Scheduler | undefined;
  try {
    dynamo = await startDynamoDbLocal({ port: dynamodbPort, credentials, ...(cfg.inMemory ? {} : { dataDir: cfg.dataDir }) });
    databaseRunning = dynamo.running;
    const ddb = clients.dynamo();
    await ensureTables(ddb, [
      { def: ORDERS_TABLE, name: c.ordersTable },
      { def: CONNECTIONS_TABLE, name: c.connectionsTable },
    ]);
    // On a file database, nothing is acked before it would survive SIGKILL of
    // this whole process group (see local/durability-fence.ts; the pump's
    // GetRecords is its own fence). In memory nothing survives anyway.
    fenceClient = cfg.inMemory || !cfg.durabilityFence ? undefined : new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials, maxAttempts: 4 });
    const fence = fenceClient === undefined ? undefined : new DurabilityFence(fenceClient, c.ordersTable);
    if (fence !== undefined) installDurabilityFence(ddb, fence);
    else if (!cfg.inMemory) log.warn('durability fence off (WAYPOST_DURABILITY_FENCE=0): an acked post may be lost if DynamoDB Local is killed');
    if (fence !== undefined && bundles !== undefined) log.warn('the durability fence covers the runtime\'s own writes only, not those of the bundles (WAYPOST_BUNDLES=1)');
    durability = fence;
    const streams = new DynamoDBStreamsClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials });
    const streamPump = new StreamPump({
      client: streams,
      streamArn: await streamArnOf(ddb, c.ordersTable),
      // One consumer per function on the stream, as in lib/ (one event source mapping each).
      consumers: [
        {
          name: 'fanout',
          filter: [TIMELINE_INSERT_FILTER],
          handler: async (event) => (await fanout(event, lambdaContext('waypost-fanout'))) ?? undefined,
        },
      ],
      log: log.child({ part: 'stream-pump' }),
    });
    // A write to DynamoDB wakes the pump at once instead of at its next idle poll.
    ddb.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (/^(TransactWriteItems|PutItem|UpdateItem|BatchWriteItem)Command$/.test(context.commandName ?? '')) streamPump.nudge();
        return out;
      },
      { step: 'initialize', name: 'waypostLocalStreamNudge' },
    );
    pump = streamPump;
    await streamPump.start();

    const seeded = cfg.seed ? await seedDemo(composed.ordersService(), composed.orderStore()) : false;
    demoUsers = cfg.seed ? await demoTokens(cfg.jwtSecret) : [];
    scheduler = new Scheduler(cfg.sweepMs, async () => {
      await slaSweep({ ...SCHEDULED_EVENT, time: new Date().toISOString() }, lambdaContext('waypost-sla-sweep'));
    }, log.child({ part: 'scheduler' }));
    const sweeper = scheduler;
    await sweeper.start();
    ready = true;

    const stopped = { done: false };
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      dynamodbPort,
      demoUsers,
      seeded,
      gateway,
      pump: streamPump,
      sns,
      credentials,
      credentialsFile: held.file,
      ...(bundles !== undefined && { bundlesDir: bundles.dir }),
      stop: async () => {
        if (stopped.done) return;
        stopped.done = true;
        ready = false;
        await sweeper.stop();
        await gateway.close();
        await streamPump.stop();
        streams.destroy();
        fenceClient?.destroy();
        await dynamo?.stop();
        held.remove();
        bundles?.remove();
      },
    };
  } catch (err) {
    await scheduler?.stop().catch(() => undefined);
    await gateway.close().catch(() => undefined);
    await pump?.stop().catch(() => undefined);
    await dynamo?.stop().catch(() => undefined);
    held.remove();
    bundles?.remove();
    throw err;
  }
}
