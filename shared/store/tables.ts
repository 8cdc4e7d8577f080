/**
 * The two tables, defined once. CDK (`lib/data-tables.ts`) and the local
 * runtime (`local/dynamodb.ts`) both build their tables from these.
 */

export interface KeyDef {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface IndexDef {
  readonly indexName: string;
  readonly partitionKey: KeyDef;
  readonly sortKey: KeyDef;
  readonly projection: 'KEYS_ONLY' | 'ALL';
}

export interface TableDef {
  /** Logical name; the physical name comes from config. */
  readonly id: 'orders' | 'connections';
  readonly partitionKey: KeyDef;
  readonly sortKey: KeyDef;
  readonly indexes: readonly IndexDef[];
  readonly stream?: 'NEW_IMAGE' | 'NEW_AND_OLD_IMAGES';
  readonly ttlAttribute?: string;
}

/** Index names, so code never spells them twice. */
export const INDEX = {
  byTenant: 'byTenant',
  byRetailer: 'byRetailer',
  byDriver: 'byDriver',
  byDue: 'byDue',
  byAlertState: 'byAlertState',
} as const;

/**
 * `orders`: the order head (`HEAD`), its timeline events (`E#<seq>`) and its
 * idempotency keys (`ID#<eventId>`), all under `T#<tenant>#O#<orderId>`; SLA
 * alerts (`T#<tenant>#A#<alertId>` / `ALERT`, with their SMS outbox
 * `SMS#<level>#<n>`); a tenant's SLA policy (`T#<tenant>#CONFIG` /
 * `SLA_POLICY`).
 *
 * The listing indexes project keys only, so a checkpoint that does not change
 * an index key writes no index item. `byDue` is sparse (only heads whose SLA
 * clock runs), split into `DUE_SHARDS` partitions and sorted by due time, so a
 * sweep reads only what is due. `byAlertState` lists a tenant's alerts by state.
 */
export const ORDERS_TABLE: TableDef = {
  id: 'orders',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  stream: 'NEW_IMAGE',
  indexes: [
    { indexName: INDEX.byTenant, partitionKey: { name: 'gsiTenant', type: 'S' }, sortKey: { name: 'gsiCreated', type: 'S' }, projection: 'KEYS_ONLY' },
    { indexName: INDEX.byRetailer, partitionKey: { name: 'gsiRetailer', type: 'S' }, sortKey: { name: 'gsiCreated', type: 'S' }, projection: 'KEYS_ONLY' },
    { indexName: INDEX.byDriver, partitionKey: { name: 'gsiDriver', type: 'S' }, sortKey: { name: 'gsiCreated', type: 'S' }, projection: 'KEYS_ONLY' },
    { indexName: INDEX.byDue, partitionKey: { name: 'dueShard', type: 'S' }, sortKey: { name: 'dueAt', type: 'S' }, projection: 'KEYS_ONLY' },
    { indexName: INDEX.byAlertState, partitionKey: { name: 'gsiAlertState', type: 'S' }, sortKey: { name: 'gsiOpened', type: 'S' }, projection: 'ALL' },
  ],
};

/**
 * `connections`: a connection (`C#<id>` / `META`) and its room memberships
 * (`R#<tenant>#<room>` / `C#<id>`), both expiring after API Gateway's two-hour
 * connection limit.
 */
export const CONNECTIONS_TABLE: TableDef = {
  id: 'connections',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  indexes: [],
  ttlAttribute: 'expiresAt',
};

/** Keys, spelled in one place. */
export const keys = {
  order: (tenant: string, orderId: string) => `T#${tenant}#O#${orderId}`,
  head: 'HEAD',
  event: (seq: number) => `E#${String(seq).padStart(12, '0')}`,
  eventPrefix: 'E#',
  idempotency: (id: string) => `ID#${id}`,
  tenantIndex: (tenant: string) => `T#${tenant}`,
  retailerIndex: (tenant: string, retailerId: string) => `T#${tenant}#R#${retailerId}`,
  driverIndex: (tenant: string, driverId: string) => `T#${tenant}#D#${driverId}`,
  connection: (connectionId: string) => `C#${connectionId}`,
  connectionMeta: 'META',
  room: (tenant: string, room: string) => `R#${tenant}#${room}`,
  alert: (tenant: string, alertId: string) => `T#${tenant}#A#${alertId}`,
  alertItem: 'ALERT',
  smsOutbox: (level: number, index: number) => `SMS#${String(level).padStart(3, '0')}#${String(index).padStart(3, '0')}`,
  smsOutboxPrefix: 'SMS#',
  alertState: (tenant: string, state: string) => `T#${tenant}#AS#${state}`,
  tenantConfig: (tenant: string) => `T#${tenant}#CONFIG`,
  slaPolicy: 'SLA_POLICY',
} as const;

/** The highest seq an event key can hold. */
export const MAX_SEQ = 999_999_999_999;
