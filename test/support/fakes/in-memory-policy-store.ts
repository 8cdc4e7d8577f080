/**
 * `PolicyStore` in memory: a tenant's own policy once put, else the
 * fallback. `DynamoPolicyStore` caches reads for 30 s per process (a write
 * through the same store is seen at once, other processes' within 30 s);
 * this has no cache, so every write is seen at once by every reader.
 */
import { DEFAULT_SLA_POLICY, type SlaPolicy } from '../../../shared/domain/sla';
import type { PolicyStore } from '../../../shared/store/policy-store';

export class InMemoryPolicyStore implements PolicyStore {
  private readonly policies = new Map<string, { readonly policy: SlaPolicy; readonly by: string }>();

  /** @param fallback in force for a tenant without its own (default: the built-in `DEFAULT_SLA_POLICY`). */
  constructor(private readonly fallback: SlaPolicy = DEFAULT_SLA_POLICY) {}

  async policyFor(tenant: string): Promise<{ policy: SlaPolicy; own: boolean }> {
    const own = this.policies.get(tenant);
    return own === undefined ? { policy: structuredClone(this.fallback), own: false } : { policy: structuredClone(own.policy), own: true };
  }

  async put(tenant: string, policy: SlaPolicy, by: string): Promise<void> {
    this.policies.set(tenant, { policy: structuredClone(policy), by });
  }

  /** Who put the tenant's own policy last, or undefined when it has none. */
  updatedBy(tenant: string): string | undefined {
    return this.policies.get(tenant)?.by;
  }
}
