/**
 * The variables `shared/runtime/config.ts` reads. Every function gets the
 * table names and token settings (config is read whole, and fails fast on a
 * missing JWKS URL); what a function may *do* with them is its IAM policy.
 */
import type { DataTables } from './data-tables';
import type { WaypostConfig } from './stage-config';

export function functionEnvironment(config: WaypostConfig, tables: DataTables): Record<string, string> {
  return {
    WAYPOST_ORDERS_TABLE: tables.orders.tableName,
    WAYPOST_CONNECTIONS_TABLE: tables.connections.tableName,
    WAYPOST_JWKS_URL: config.jwksUrl,
    WAYPOST_JWT_ISSUER: config.jwtIssuer,
    WAYPOST_JWT_AUDIENCE: config.jwtAudience,
    ...(config.defaultSlaPolicy !== undefined && { WAYPOST_DEFAULT_SLA_POLICY: config.defaultSlaPolicy }),
  };
}
