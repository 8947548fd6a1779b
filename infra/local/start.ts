/**
 * `npm start`: the whole erasure desk on this machine, on embedded defaults. Configuration by
 * environment variables (all optional; see the README): PORT, DATA_DIR, KORE_BASE_URL +
 * KORE_CLIENT_ID + KORE_CLIENT_SECRET (a real tenant instead of the simulator), POLL_*,
 * STUCK_AFTER_SECONDS, SWEEP_INTERVAL_SECONDS, KORE_SIM_JOB_MS, KORE_SIM_FAIL_USERS, KORE_SIM_USERS.
 */
import { getNumberFromEnv, getOptionalStringFromEnv, getStringFromEnv } from '../../functions/adapters/env/settings';
import { startLocalRuntime } from './runtime';

const env = process.env;
const koreBaseUrl = getOptionalStringFromEnv('KORE_BASE_URL');
const users = getNumberFromEnv('KORE_SIM_USERS', 0, env, { min: 0, max: 50_000 });
const quiet = env.LOG_LEVEL?.toLowerCase() === 'silent';

const runtime = await startLocalRuntime({
  port: getNumberFromEnv('PORT', 3000, env, { min: 0, max: 65535 }),
  dataDir: getOptionalStringFromEnv('DATA_DIR') ?? '.data',
  ...(koreBaseUrl
    ? { kore: { baseUrl: koreBaseUrl, clientId: getStringFromEnv('KORE_CLIENT_ID'), clientSecret: getStringFromEnv('KORE_CLIENT_SECRET') } }
    : {
        simulator: {
          jobDurationMs: getNumberFromEnv('KORE_SIM_JOB_MS', 2000, env, { min: 0 }),
          failUsers: (getOptionalStringFromEnv('KORE_SIM_FAIL_USERS') ?? '').split(',').map((s) => s.trim()).filter(Boolean),
          ...(users > 0 ? { account: { generatedUsers: users } } : {}),
        },
      }),
  env,
  sweepIntervalMs: getNumberFromEnv('SWEEP_INTERVAL_SECONDS', 30, env, { min: 0, max: 86_400 }) * 1000,
  ...(quiet ? { log: () => undefined } : {}),
});

const token = await runtime.devIssuer.issueToken('ops', 'local-ops');
process.stdout.write(`
Erasure desk is running locally (data in ${getOptionalStringFromEnv('DATA_DIR') ?? '.data'}/).

  Request form (data subjects)   ${runtime.url}/
  Staff console (auditors, ops)  ${runtime.url}/console
  Outbox (emails sent locally)   ${runtime.url}/dev/outbox
  API description                ${runtime.url}/openapi.json
  Kore.ai                        ${runtime.simulator ? `simulator at ${runtime.simulator.url}` : koreBaseUrl}

Staff token: npm run token -- auditor   (or: ops)
An ops token for this session:
${token}

Press Ctrl+C to stop; open requests are picked up again at the next start.
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1);
    stopping = true;
    void runtime.stop().then(() => process.exit(0));
  });
}
