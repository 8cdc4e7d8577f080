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
import { config } from '../shared/runtime/config';
import { dynamoClient, useManagementTransport } from '../shared/runtime/clients';
import type { Logger } from '../shared/runtime/log';
import { CONNECTIONS_TABLE, ORDERS_TABLE } from '../shared/store/tables';
import type { LocalConfig } from './config';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DurabilityFence, installDurabilityFence } from './durability-fence';
import { dataDirCredentials, inMemoryCredentials, type LocalCredentials } from './credentials';
import { ensureTables, LOCAL_REGION, startDynamoDbLocal, streamArnOf, type DynamoDbLocal } from './dynamodb';
import { freePort } from './free-port';
import { decodedOrNull, LocalGateway, sendJson, type LocalRoute } from './gateway';
import { demoTokens, seedDemo, type DemoUser } from './seed';
import { lambdaContext } from './lambda';
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
 * Point this process's AWS clients and handler config at the local edges.
 * Handlers read config on first use, which is after this.
 */
function configureProcess(credentials: LocalCredentials, env: Record<string, string>): void {
  delete process.env.WAYPOST_JWKS_URL;
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: LOCAL_REGION,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...env,
  });
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
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

  // Handlers are imported only now, so nothing reads config before it is set.
  configureProcess(credentials, {
    WAYPOST_JWT_SECRET: cfg.jwtSecret,
    WAYPOST_DYNAMODB_ENDPOINT: `http://127.0.0.1:${dynamodbPort}`,
    // The local gateway applies CONTRACT §5's frame rate on arrival (local/gateway.ts).
    WAYPOST_WS_FRAME_LIMIT: 'gateway',
    // A sweep sends owed SMS for at most one interval, so the next sweep is never held back long.
    WAYPOST_SMS_DRAIN_MS: String(cfg.sweepMs),
    ...(cfg.slaPolicyJson !== undefined && { WAYPOST_DEFAULT_SLA_POLICY: cfg.slaPolicyJson }),
  });
  if (cfg.slaPolicyJson === undefined) delete process.env.WAYPOST_DEFAULT_SLA_POLICY;
  const [
    { handler: connect },
    { handler: disconnect },
    { handler: message },
    { handler: http },
    { handler: fanout },
    { handler: slaSweep },
    wiring,
  ] = await Promise.all([
    import('../functions/ws-connect/handler'),
    import('../functions/ws-disconnect/handler'),
    import('../functions/ws-default/handler'),
    import('../functions/http-api/handler'),
    import('../functions/fanout/handler'),
    import('../functions/sla-sweep/handler'),
    import('../functions/common/wiring'),
  ]);
  const sns = new SnsStandIn();

  const health: LocalRoute = (_req, res, url) => {
    if (url.pathname === '/api/health') {
      sendJson(res, ready ? 200 : 503, ready ? { ok: true } : { ok: false, starting: true });
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
    handlers: {
      connect,
      disconnect,
      message,
      http,
    },
    routes: [health, local, sns.route(), staticRoute()],
    isReady: () => ready,
    // The token expiry the handlers keep on the connection item (moved on by `auth`).
    connectionExpiry: async (connectionId) => (await wiring.connectionStore().get(connectionId))?.exp ?? null,
    managementCredentials: credentials,
  });
  const port = await gateway.listen();
  process.env.WAYPOST_CALLBACK_URL = `http://127.0.0.1:${port}`;
  process.env.WAYPOST_SNS_ENDPOINT = `http://127.0.0.1:${port}${SNS_PATH}`;
  // The fan-out runs in this process: its pushes reach the gateway without a
  // socket round trip (the `@connections` HTTP API answers only calls signed
  // with the runtime's credentials).
  useManagementTransport(gateway.managementTransport());

  let dynamo: DynamoDbLocal | undefined;
  let fenceClient: DynamoDBClient | undefined;
  let durability: DurabilityFence | undefined;
  let pump: StreamPump | undefined;
  let scheduler: Scheduler | undefined;
  try {
    dynamo = await startDynamoDbLocal({ port: dynamodbPort, credentials, ...(cfg.inMemory ? {} : { dataDir: cfg.dataDir }) });
    const c = config();
    const ddb = dynamoClient();
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
    durability = fence;
    const streams = new DynamoDBStreamsClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials });
    const streamPump = new StreamPump({
      client: streams,
      streamArn: await streamArnOf(ddb, c.ordersTable),
      handler: async (event) => (await fanout(event, lambdaContext('waypost-fanout'))) ?? undefined,
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

    const seeded = cfg.seed ? await seedDemo(wiring.ordersService(), wiring.orderStore()) : false;
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
      },
    };
  } catch (err) {
    await scheduler?.stop().catch(() => undefined);
    await gateway.close().catch(() => undefined);
    await pump?.stop().catch(() => undefined);
    await dynamo?.stop().catch(() => undefined);
    held.remove();
    throw err;
  }
}
