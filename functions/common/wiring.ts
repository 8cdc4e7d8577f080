/**
 * The composition root of every Lambda: `createApp(config, clients)` builds
 * the real stores and services from a config object and injected AWS
 * clients, each on first use. The handlers' module-level exports use one
 * default app per process, made on first use from the environment
 * (`defaultApp`); the local runtime makes its own with its config and
 * clients (its `@connections` transport, its endpoints and credentials).
 */
import { createTokenVerifier, type TokenVerifier } from '../../shared/runtime/auth';
import { createClients, type Clients } from '../../shared/runtime/clients';
import { config as processConfig, ConfigError, logLevelFrom, type Config } from '../../shared/runtime/config';
import { CursorCodec } from '../../shared/runtime/cursor';
import { createLogger, setLogLevel, type Logger } from '../../shared/runtime/log';
import { countingSmsFailures, emfSmsMetrics, NO_SMS_METRICS, type SmsMetrics } from '../../shared/runtime/metrics';
import { FanoutService } from '../../shared/services/fanout-service';
import { OrdersService } from '../../shared/services/orders-service';
import { RealtimeService } from '../../shared/services/realtime-service';
import { SlaService } from '../../shared/services/sla-service';
import { DynamoAlertStore } from '../../shared/store/alert-store';
import { DynamoPolicyStore } from '../../shared/store/policy-store';
import { SnsSmsSender } from '../../shared/store/sms-sender';
import { DynamoConnectionStore } from '../../shared/store/connection-store';
import { DynamoOrderStore } from '../../shared/store/dynamo-order-store';
import { ApiGatewayNotifier } from '../../shared/store/notifier';

/** `build()` on the first call, its value on every call after. */
export function once<T>(build: () => T): () => T {
  let value: T | undefined;
  let built = false;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value as T;
  };
}

/**
 * One composed application: each part is built on first use, once, from the
 * app's config and clients.
 *
 * @param cfg the configuration (`loadConfig`); nothing else is read from the environment.
 * @param clients the AWS clients (`createClients`), built lazily too.
 * @param parts.logger the app's logger; default: one at the config's level.
 */
export function createApp(cfg: Config, clients: Clients, parts: { readonly logger?: () => Logger } = {}) {
  const config = (): Config => cfg;
  const documentClient = () => clients.document();
  const managementClient = () => clients.management();
  const snsClient = () => clients.sns();

  /** The handlers' logger, at the config's level (`WAYPOST_LOG_LEVEL`; `info` when unset). */
  const logger =
    parts.logger ??
    once((): Logger => {
      setLogLevel(config().logLevel ?? 'info');
      return createLogger({ service: 'waypost' });
    });
  const verifyToken = once((): TokenVerifier => createTokenVerifier(config().jwt));
  /** Grouped commits only where the process asks for them (`WAYPOST_GROUP_COMMIT`: the local runtime); a Lambda sends each alone. */
  const orderStore = once(() => new DynamoOrderStore(documentClient(), config().ordersTable, { groupCommit: config().groupCommit === true }));
  const connectionStore = once(() => new DynamoConnectionStore(documentClient(), config().connectionsTable));
  const policyStore = once(() => new DynamoPolicyStore(documentClient(), config().ordersTable, config().defaultSlaPolicy));
  const alertStore = once(() => new DynamoAlertStore(documentClient(), config().ordersTable));
  /** `@connections` (pushes, and closing connections); needs `WAYPOST_CALLBACK_URL`, so it is built on first use. */
  const notifier = once(() => new ApiGatewayNotifier(managementClient()));
  /** Signs list cursors with the configured key; read when a list is first asked for. */
  const cursorCodec = once((): CursorCodec => {
    const key = config().cursorSecret;
    if (key === undefined) throw new ConfigError('WAYPOST_CURSOR_SECRET', 'must be set (at least 32 characters) where tokens are checked against a JWKS');
    return new CursorCodec(key);
  });
  const ordersService = once(() => new OrdersService({ orders: orderStore(), policies: policyStore(), cursors: cursorCodec }));
  /** SMS failures as an EMF metric where a stage is configured (the cloud); locally none (they are logged either way). */
  const smsMetrics = once((): SmsMetrics => {
    const stage = config().metricsStage;
    return stage === undefined ? NO_SMS_METRICS : emfSmsMetrics(stage);
  });
  const slaService = once(
    () =>
      new SlaService({
        orders: orderStore(),
        alerts: alertStore(),
        policies: policyStore(),
        sms: countingSmsFailures(new SnsSmsSender(snsClient(), config().smsSenderId), smsMetrics()),
        log: logger().child({ fn: 'sla' }),
        ...(config().smsDrainMs !== undefined && { smsDrainMs: config().smsDrainMs }),
      }),
  );
  const realtimeService = once(
    () =>
      new RealtimeService({
        orders: ordersService(),
        connections: connectionStore(),
        alerts: { acknowledge: (p, alertId) => slaService().acknowledge(p, alertId) },
        verifyToken: verifyToken(),
        closeConnection: (connectionId) => notifier().disconnect(connectionId),
        push: (connectionId, data) => notifier().send(connectionId, data),
        log: logger().child({ fn: 'ws' }),
      }),
  );
  const fanoutService = once(
    () => new FanoutService(connectionStore(), notifier(), logger().child({ fn: 'fanout' }), orderStore()),
  );
  return {
    config: cfg,
    logger,
    verifyToken,
    orderStore,
    connectionStore,
    policyStore,
    alertStore,
    notifier,
    cursorCodec,
    ordersService,
    smsMetrics,
    slaService,
    realtimeService,
    fanoutService,
  };
}

/** A composed application (`createApp`). */
export type App = ReturnType<typeof createApp>;

/**
 * The handlers' logger, at the level `WAYPOST_LOG_LEVEL` gives (read on first
 * use, apart from the rest of the config, so errors of a bad config can
 * still be logged).
 */
export const logger = once((): Logger => {
  setLogLevel(logLevelFrom());
  return createLogger({ service: 'waypost' });
});

/** The process's app, for the handlers' module-level exports: config from the environment, clients from the SDK's defaults. */
export const defaultApp = once((): App => {
  const cfg = processConfig();
  return createApp(cfg, createClients(cfg), { logger });
});

// The default app's parts, by the names the handlers import.
export const verifyToken = (): TokenVerifier => defaultApp().verifyToken();
export const orderStore = () => defaultApp().orderStore();
export const connectionStore = () => defaultApp().connectionStore();
export const ordersService = () => defaultApp().ordersService();
export const slaService = () => defaultApp().slaService();
export const realtimeService = () => defaultApp().realtimeService();
export const fanoutService = () => defaultApp().fanoutService();
