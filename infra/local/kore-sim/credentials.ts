/**
 * Development credentials of the simulator's app. They only ever open the local simulator; a
 * real tenant's credentials come from the environment (Secrets Manager in AWS).
 */
export const DEV_KORE_CLIENT_ID = 'cs-00000000-0000-4000-8000-00000000e5d1';
export const DEV_KORE_CLIENT_SECRET = 'dev-only-kore-sim-secret-do-not-use-anywhere-else-0123456789';
