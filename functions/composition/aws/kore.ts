/** The Kore.ai client and the deployment's call budget, for the functions that call the platform. */
import type { CallBudget } from '../../domain/call-budget';
import type { KorePlatform, KoreSessionsHistory } from '../../domain/kore';
import type { RolePagingPolicy } from '../../domain/role-paging';
import { DynamoCallBudget } from '../../adapters/dynamo/call-budget-store';
import { DynamoErasureBatchStore } from '../../adapters/dynamo/erasure-batch-store';
import { DynamoSharedJobStatus } from '../../adapters/dynamo/shared-job-status-store';
import { readBatchPolicy } from '../../adapters/env/batch-settings';
import { readCallBudgetPolicy } from '../../adapters/kore/call-budget-settings';
import { readRolePaging } from '../../adapters/kore/role-paging-settings';
import { KoreClient } from '../../adapters/kore/kore-client';
import { ConfigurationError, getNumberFromEnv, getOptionalStringFromEnv, getStringFromEnv } from '../../adapters/env/settings';
import { tableClient, unavailable, type Env } from './environment';
import type { ApplicationAdapters } from '../adapters';
import { loadSecret } from './secrets';
import { ENV } from '../../adapters/env/variables';

function parseKoreCredentials(value: unknown): { clientId: string; clientSecret: string } {
  const v = value as { clientId?: unknown; clientSecret?: unknown } | null;
  if (!v || typeof v.clientId !== 'string' || typeof v.clientSecret !== 'string' || !v.clientId || !v.clientSecret) {
    throw new ConfigurationError('The Kore.ai credentials secret needs string members clientId and clientSecret');
  }
  return { clientId: v.clientId, clientSecret: v.clientSecret };
}

export async function koreFrom(env: Env): Promise<KorePlatform & KoreSessionsHistory> {
  const arn = getOptionalStringFromEnv(ENV.KORE_CREDENTIALS_SECRET_ARN, env);
  if (!arn) return unavailable('Kore.ai');
  const credentials = await loadSecret(arn, parseKoreCredentials);
  const timeoutMs = getOptionalStringFromEnv(ENV.KORE_TIMEOUT_MS, env) ? getNumberFromEnv(ENV.KORE_TIMEOUT_MS, 0, env, { min: 100, max: 20_000 }) : undefined;
  return new KoreClient({ baseUrl: getStringFromEnv(ENV.KORE_BASE_URL, env), ...credentials, ...(timeoutMs ? { timeoutMs } : {}) });
}

/**
 * The Kore.ai client with the budget every caller takes its turns from (one DynamoDB item of the
 * table) and the paced refresh's policy; without Kore.ai credentials, neither.
 */
export async function koreWithBudgetFrom(
  env: Env,
  base: Pick<ApplicationAdapters, 'clock'>,
): Promise<{ kore: KorePlatform & KoreSessionsHistory; budget?: CallBudget; rolePaging?: { policy: RolePagingPolicy; runMs: number } }> {
  const kore = await koreFrom(env);
  if (!getOptionalStringFromEnv(ENV.KORE_CREDENTIALS_SECRET_ARN, env)) return { kore };
  const policy = readCallBudgetPolicy(env);
  const budget = new DynamoCallBudget({ client: tableClient, tableName: getStringFromEnv(ENV.TABLE_NAME, env), policy, clock: base.clock });
  return { kore, budget, rolePaging: readRolePaging(policy, env) };
}

/** The batches of erasures and the shared job statuses (both in the table), for the erasure tasks. */
export function batchingFrom(env: Env, base: Pick<ApplicationAdapters, 'clock'>): Pick<ApplicationAdapters, 'batching'> {
  const policy = readBatchPolicy(env);
  const common = { client: tableClient, tableName: getStringFromEnv(ENV.TABLE_NAME, env), policy, clock: base.clock };
  return { batching: { policy, batches: new DynamoErasureBatchStore(common), jobStatus: new DynamoSharedJobStatus(common) } };
}
