/** What the staff functions build: the token verifier (jose) and the roles refresh run by the refresh-roles-snapshot function. */
import { createRemoteJWKSet } from 'jose';
import type { SnapshotInfo } from '../../domain/model';
import { createStaffAuthenticator, DEFAULT_MAX_TOKEN_AGE_SECONDS, type StaffAuthenticator } from '../../adapters/http/staff/auth';
import { getNumberFromEnv, getOptionalStringFromEnv, getStringFromEnv } from '../../adapters/env/settings';
import { unavailable, type Env } from './environment';
import { ENV } from '../../adapters/env/variables';

export function staffAuthFrom(env: Env): StaffAuthenticator {
  const issuer = getOptionalStringFromEnv(ENV.STAFF_ISSUER, env);
  if (!issuer) return unavailable('staff authentication (STAFF_*)');
  return createStaffAuthenticator({
    issuer,
    audience: getStringFromEnv(ENV.STAFF_AUDIENCE, env),
    jwks: createRemoteJWKSet(new URL(getStringFromEnv(ENV.STAFF_JWKS_URL, env))),
    rolesClaim: getOptionalStringFromEnv(ENV.STAFF_ROLES_CLAIM, env) ?? 'cognito:groups',
    maxTokenAgeSeconds: getNumberFromEnv(ENV.STAFF_MAX_TOKEN_AGE_SECONDS, DEFAULT_MAX_TOKEN_AGE_SECONDS, env, { min: 60 }),
  });
}

export async function rolesRefreshFrom(env: Env): Promise<{ rolesRefresh?: () => Promise<SnapshotInfo> }> {
  const functionName = getOptionalStringFromEnv(ENV.ROLES_REFRESH_FUNCTION_NAME, env);
  if (!functionName) return {};
  const [{ LambdaClient }, { LambdaRolesRefresher }] = await Promise.all([import('@aws-sdk/client-lambda'), import('../../adapters/aws/lambda-roles-refresh')]);
  const refresher = new LambdaRolesRefresher({ client: new LambdaClient({}), functionName });
  return { rolesRefresh: () => refresher.refresh() };
}
