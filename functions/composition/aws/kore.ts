/** The Kore.ai client, for the functions that call the platform. */
import type { KorePlatform } from '../../domain/kore';
import { KoreClient } from '../../adapters/kore/kore-client';
import { ConfigurationError, getNumberFromEnv, getOptionalStringFromEnv, getStringFromEnv } from '../../adapters/env/settings';
import { unavailable, type Env } from './environment';
import { loadSecret } from './secrets';

function parseKoreCredentials(value: unknown): { clientId: string; clientSecret: string } {
  const v = value as { clientId?: unknown; clientSecret?: unknown } | null;
  if (!v || typeof v.clientId !== 'string' || typeof v.clientSecret !== 'string' || !v.clientId || !v.clientSecret) {
    throw new ConfigurationError('The Kore.ai credentials secret needs string members clientId and clientSecret');
  }
  return { clientId: v.clientId, clientSecret: v.clientSecret };
}

export async function koreFrom(env: Env): Promise<KorePlatform> {
  const arn = getOptionalStringFromEnv('KORE_CREDENTIALS_SECRET_ARN', env);
  if (!arn) return unavailable('Kore.ai');
  const credentials = await loadSecret(arn, parseKoreCredentials);
  const timeoutMs = getOptionalStringFromEnv('KORE_TIMEOUT_MS', env) ? getNumberFromEnv('KORE_TIMEOUT_MS', 0, env, { min: 100, max: 20_000 }) : undefined;
  return new KoreClient({ baseUrl: getStringFromEnv('KORE_BASE_URL', env), ...credentials, ...(timeoutMs ? { timeoutMs } : {}) });
}
