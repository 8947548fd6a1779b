/** The secrets a function reads (Secrets Manager, fetched once and cached): the app keys and the Kore.ai credentials. */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { deriveKeys, type SubjectKeys } from '../../domain/subject';
import { ConfigurationError, getOptionalStringFromEnv } from '../../adapters/env/settings';
import type { Env } from './environment';
import { ENV } from '../../adapters/env/variables';

let secretsClient: SecretsManagerClient | undefined;

export async function loadSecret<T>(arn: string, parse: (value: unknown) => T): Promise<T> {
  if (!secretsClient) {
    const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    secretsClient = new SecretsManagerClient({});
  }
  const { loadJsonSecret } = await import('../../adapters/aws/secrets');
  return loadJsonSecret(secretsClient, arn, parse);
}

function parseAppSecret(value: unknown): { subjectKey: string; linkKey: string } {
  const v = value as { subjectKey?: unknown; linkKey?: unknown } | null;
  if (!v || typeof v.subjectKey !== 'string' || typeof v.linkKey !== 'string' || v.subjectKey.length < 16 || v.linkKey.length < 32) {
    throw new ConfigurationError('The app secret needs string members subjectKey (≥ 16 chars) and linkKey (≥ 32 chars)');
  }
  return { subjectKey: v.subjectKey, linkKey: v.linkKey };
}

/** The subject keys and the link key, where the function is given the app secret (APP_SECRET_ARN). */
export async function appKeysFrom(env: Env): Promise<{ subjectKeys: SubjectKeys; linkKey: Uint8Array } | Record<string, never>> {
  const arn = getOptionalStringFromEnv(ENV.APP_SECRET_ARN, env);
  if (!arn) return {};
  const secret = await loadSecret(arn, parseAppSecret);
  return { subjectKeys: deriveKeys(secret.subjectKey), linkKey: new TextEncoder().encode(secret.linkKey) };
}
