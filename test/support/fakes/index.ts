/**
 * In-memory fakes of the store interfaces and of the AWS-facing senders, for
 * unit tests of the services without DynamoDB Local (DESIGN-REVIEW §3.9).
 * test/integration/store-contract.test.ts runs the same assertions on the
 * order and connection fakes and on the DynamoDB stores, so they cannot drift.
 */
export { InMemoryOrdersTable } from './orders-table';
export { InMemoryOrderStore, MAX_APPEND_ATTEMPTS } from './in-memory-order-store';
export { InMemoryAlertStore } from './in-memory-alert-store';
export { InMemoryConnectionStore } from './in-memory-connection-store';
export { InMemoryPolicyStore } from './in-memory-policy-store';
export { RecordingNotifier, type PushedFrame } from './recording-notifier';
export { RecordingSmsSender, type SentSms } from './recording-sms-sender';
export { RecordingLogger, type LoggedLine } from './recording-logger';
