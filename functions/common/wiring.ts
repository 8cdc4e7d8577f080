/**
 * The composition root of every Lambda: the real stores and services, built
 * once per process from config, on first use. Only handler modules import this.
 */
import { createTokenVerifier, type TokenVerifier } from '../../shared/runtime/auth';
import { documentClient, managementClient, snsClient } from '../../shared/runtime/clients';
import { config, ConfigError, logLevelFrom } from '../../shared/runtime/config';
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

function once<T>(build: () => T): () => T {
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

/** The handlers' logger, at the level config gives (`WAYPOST_LOG_LEVEL`, read on first use). */
export const logger = once((): Logger => {
  setLogLevel(logLevelFrom());
  return createLogger({ service: 'waypost' });
});
export const verifyToken = once((): TokenVerifier => createTokenVerifier(config().jwt));
/** Grouped commits only where the process asks for them (`WAYPOST_GROUP_COMMIT`: the local runtime); a Lambda sends each alone. */
export const orderStore = once(
  () => new DynamoOrderStore(documentClient(), config().ordersTable, { groupCommit: config().groupCommit === true }),
);
export const connectionStore = once(() => new DynamoConnectionStore(documentClient(), config().connectionsTable));
export const policyStore = once(() => new DynamoPolicyStore(documentClient(), config().ordersTable, config().defaultSlaPolicy));
export const alertStore = once(() => new DynamoAlertStore(documentClient(), config().ordersTable));
/** `@connections` (pushes, and closing connections); needs `WAYPOST_CALLBACK_URL`, so it is built on first use. */
export const notifier = once(() => new ApiGatewayNotifier(managementClient()));
/** Signs list cursors with the configured key; read when a list is first asked for. */
export const cursorCodec = once((): CursorCodec => {
  const key = config().cursorSecret;
  if (key === undefined) throw new ConfigError('WAYPOST_CURSOR_SECRET', 'must be set (at least 32 characters) where tokens are checked against a JWKS');
  return new CursorCodec(key);
});
export const ordersService = once(() => new OrdersService({ orders: orderStore(), policies: policyStore(), cursors: cursorCodec }));
/** SMS failures as an EMF metric where a stage is configured (the cloud); locally none (they are logged either way). */
export const smsMetrics = once((): SmsMetrics => {
  const stage = config().metricsStage;
  return stage === undefined ? NO_SMS_METRICS : emfSmsMetrics(stage);
});
export const slaService = once(
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
export const realtimeService = once(
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
export const fanoutService = once(
  () => new FanoutService(connectionStore(), notifier(), logger().child({ fn: 'fanout' }), orderStore()),
);
