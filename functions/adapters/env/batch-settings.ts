/**
 * The batching of erasures, read once from the environment and validated (defaults:
 * domain/erasure-batch `DEFAULT_BATCH_SIZE` and `DEFAULT_BATCH_GATHER_SECONDS`, also the stack's).
 */
import { batchPolicy, DEFAULT_BATCH_GATHER_SECONDS, DEFAULT_BATCH_SIZE, type ErasureBatchPolicy } from '../../domain/erasure-batch';
import { getNumberFromEnv } from './settings';
import { ENV } from './variables';

type Env = Record<string, string | undefined>;

/**
 * `ERASURE_BATCH_SIZE` (users in one DELETE, 1 turns batching off, at most 1,000) and
 * `ERASURE_BATCH_GATHER_SECONDS` (the gathering window, 1–60 s).
 * @throws ConfigurationError when a value is set but out of range.
 */
export function readBatchPolicy(env: Env = process.env): ErasureBatchPolicy {
  return batchPolicy({
    size: Math.round(getNumberFromEnv(ENV.ERASURE_BATCH_SIZE, DEFAULT_BATCH_SIZE, env, { min: 1, max: 1000 })),
    gatherSeconds: Math.round(getNumberFromEnv(ENV.ERASURE_BATCH_GATHER_SECONDS, DEFAULT_BATCH_GATHER_SECONDS, env, { min: 1, max: 60 })),
  });
}
