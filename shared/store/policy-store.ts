/**
 * Per-tenant SLA policies. A tenant without one of its own gets the
 * configured default (`WAYPOST_SLA_POLICY` locally), else the built-in one.
 * Reads are cached briefly per process; a write through this store clears its
 * own cache at once (other processes see it within the cache time).
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { slaPolicySchema, type SlaPolicy } from '../domain/sla';
import { keys } from './tables';

export interface PolicyStore {
  /** The policy in force for the tenant, and whether it is the tenant's own. */
  policyFor(tenant: string): Promise<{ policy: SlaPolicy; own: boolean }>;
  put(tenant: string, policy: SlaPolicy, by: string): Promise<void>;
}

const CACHE_MS = 30_000;

export class DynamoPolicyStore implements PolicyStore {
  private readonly cache = new Map<string, { at: number; value: { policy: SlaPolicy; own: boolean } }>();

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly fallback: SlaPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  async policyFor(tenant: string): Promise<{ policy: SlaPolicy; own: boolean }> {
    const hit = this.cache.get(tenant);
    if (hit !== undefined && this.now() - hit.at < CACHE_MS) return hit.value;
    const res = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keys.tenantConfig(tenant), sk: keys.slaPolicy }, ConsistentRead: true }),
    );
    // A stored policy was valid when written; parse anyway, so a hand-edited item cannot break the sweep.
    const parsed = res.Item ? slaPolicySchema.safeParse(res.Item.policy) : undefined;
    const value = parsed?.success ? { policy: parsed.data, own: true } : { policy: this.fallback, own: false };
    this.cache.set(tenant, { at: this.now(), value });
    return value;
  }

  async put(tenant: string, policy: SlaPolicy, by: string): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: keys.tenantConfig(tenant), sk: keys.slaPolicy, policy, updatedAt: new Date(this.now()).toISOString(), updatedBy: by },
      }),
    );
    this.cache.set(tenant, { at: this.now(), value: { policy, own: true } });
  }
}
