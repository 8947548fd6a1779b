/**
 * The AuditStore contract (test/support/audit-store-contract.ts) on the in-memory store the unit
 * tests use, the same suite the DynamoDB store passes over dynalite.
 */
import { auditStoreContract } from '../../support/audit-store-contract';
import { InMemoryAuditStore } from '../../support/in-memory-audit-store';

auditStoreContract('InMemoryAuditStore', async (clock) => {
  const store = new InMemoryAuditStore({ clock });
  return { store, plantUnfinished: async (request) => store.seed([request]) };
});
