/** Wiring of the run-canary function. */
import { runCanary, type CanaryReport } from '../workflow/run-canary';
import type { ApplicationAdapters } from './adapters';
import { awsFunction } from './aws/environment';
import { appKeysFrom } from './aws/secrets';
import { workflowFrom } from './aws/workflow';
import { getStringFromEnv } from '../adapters/env/settings';
import { ENV } from '../adapters/env/variables';

export function composeRunCanary(
  a: Pick<ApplicationAdapters, 'store' | 'claims' | 'workflow' | 'clock' | 'subjectKeys'>,
): (canary: { userId: string; botIds: string[] }) => Promise<CanaryReport> {
  return (canary) => runCanary({ store: a.store, claims: a.claims, workflow: a.workflow, clock: a.clock, subjectKeys: a.subjectKeys, canaryUserId: canary.userId, canaryBotIds: canary.botIds });
}

/** The function in AWS: table, app keys, workflow, and the canary's test user and bots. */
export const runCanaryOnAws = awsFunction('run-canary', async (base, env): Promise<() => Promise<CanaryReport>> => {
  const run = composeRunCanary({ ...base, ...(await appKeysFrom(env)), workflow: await workflowFrom(env) });
  const canary = {
    userId: getStringFromEnv(ENV.CANARY_USER_ID, env),
    botIds: getStringFromEnv(ENV.CANARY_BOT_IDS, env).split(',').map((id) => id.trim()).filter(Boolean),
  };
  return () => run(canary);
});
