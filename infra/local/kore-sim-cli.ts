/**
 * `npm run kore:sim`: the Kore.ai simulator on its own, configured from the environment.
 *
 * KORE_SIM_PORT (default 4010), KORE_CLIENT_ID / KORE_CLIENT_SECRET (default the development
 * credentials), KORE_SIM_USERS (generate that many users instead of the demo account),
 * KORE_SIM_SEED, KORE_SIM_JOB_MS (default 2000), KORE_SIM_FAIL_USERS (comma-separated),
 * KORE_SIM_FAIL_RATE, KORE_SIM_NEVER_FINISH_USERS (comma-separated), and the faults
 * KORE_SIM_RATE_429, KORE_SIM_RATE_500, KORE_SIM_RATE_SLOW, KORE_SIM_SLOW_MS, KORE_SIM_RATE_DROP,
 * KORE_SIM_RATE_307 with KORE_SIM_REDIRECT_TO (an absolute URL), KORE_SIM_RETRY_AFTER (seconds),
 * KORE_SIM_FAULT_SEED, KORE_SIM_UNKNOWN_STATUS (a status word every status answer gives),
 * KORE_SIM_REFUSAL_SHAPE (errors-msg, message, error-object, plain-text),
 * KORE_SIM_ADMIN_ROLE_SHAPES (plain, varied). Rate limits:
 * the documented 60 a minute and 1,800 an hour per account are enforced (KORE_SIM_RATE_LIMITS=off
 * turns them off), tuned by KORE_SIM_LIMIT_PER_MINUTE, KORE_SIM_LIMIT_PER_HOUR, the window lengths
 * KORE_SIM_LIMIT_MINUTE_MS and KORE_SIM_LIMIT_HOUR_MS, KORE_SIM_LIMIT_STATUS (default 429)
 * and KORE_SIM_LIMIT_RETRY_AFTER (seconds; none by default, as documented). A malformed value
 * stops it at start-up.
 */
import { DEV_KORE_CLIENT_ID, DEV_KORE_CLIENT_SECRET, REFUSAL_SHAPES, startKoreSimulator, type RefusalShape, type SimFaults, type SimRateLimits } from './kore-sim';

type NumericFault = { [K in keyof SimFaults]: SimFaults[K] extends number ? K : never }[keyof SimFaults];

function choiceFromEnv<T extends string>(name: string, choices: readonly T[]): T | undefined {
  const raw = process.env[name]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!(choices as readonly string[]).includes(raw)) throw new Error(`${name} must be one of ${choices.join(', ')}`);
  return raw as T;
}

function numberFromEnv(name: string, { integer = false, min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    throw new Error(`${name} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}`);
  }
  return value;
}

function listFromEnv(name: string): string[] | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw.split(',').map((s) => s.trim()).filter(Boolean);
}

async function main(): Promise<void> {
  const users = numberFromEnv('KORE_SIM_USERS', { integer: true, min: 1, max: 50_000 });
  const seed = numberFromEnv('KORE_SIM_SEED', { integer: true, max: 2 ** 32 - 1 });
  const faults: Partial<SimFaults> = {};
  const fault = (key: NumericFault, name: string, opts: Parameters<typeof numberFromEnv>[1]) => {
    const value = numberFromEnv(name, opts);
    if (value !== undefined) faults[key] = value;
  };
  fault('rate429', 'KORE_SIM_RATE_429', { max: 1 });
  fault('rate500', 'KORE_SIM_RATE_500', { max: 1 });
  fault('rateSlow', 'KORE_SIM_RATE_SLOW', { max: 1 });
  fault('rateDrop', 'KORE_SIM_RATE_DROP', { max: 1 });
  fault('rate307', 'KORE_SIM_RATE_307', { max: 1 });
  if (process.env.KORE_SIM_REDIRECT_TO) faults.redirectTo = process.env.KORE_SIM_REDIRECT_TO;
  fault('slowMs', 'KORE_SIM_SLOW_MS', { integer: true, max: 600_000 });
  fault('retryAfterSeconds', 'KORE_SIM_RETRY_AFTER', { integer: true, max: 86_400 });
  fault('seed', 'KORE_SIM_FAULT_SEED', { integer: true, max: 2 ** 32 - 1 });
  if (process.env.KORE_SIM_UNKNOWN_STATUS) faults.unknownStatus = process.env.KORE_SIM_UNKNOWN_STATUS;
  const refusalShape = choiceFromEnv<RefusalShape>('KORE_SIM_REFUSAL_SHAPE', REFUSAL_SHAPES);
  if (refusalShape) faults.refusalShape = refusalShape;
  const adminRoleShapes = choiceFromEnv('KORE_SIM_ADMIN_ROLE_SHAPES', ['plain', 'varied'] as const);
  if (adminRoleShapes) faults.adminRoleShapes = adminRoleShapes;
  const limitsOn = choiceFromEnv('KORE_SIM_RATE_LIMITS', ['on', 'off'] as const) !== 'off';
  const limits: Partial<SimRateLimits> = {};
  const perMinute = numberFromEnv('KORE_SIM_LIMIT_PER_MINUTE', { integer: true, min: 1, max: 1_000_000 });
  const perHour = numberFromEnv('KORE_SIM_LIMIT_PER_HOUR', { integer: true, min: 1, max: 1_000_000 });
  const limitStatus = numberFromEnv('KORE_SIM_LIMIT_STATUS', { integer: true, min: 400, max: 599 });
  const limitRetryAfter = numberFromEnv('KORE_SIM_LIMIT_RETRY_AFTER', { integer: true, max: 86_400 });
  if (perMinute !== undefined) limits.perMinute = perMinute;
  if (perHour !== undefined) limits.perHour = perHour;
  const minuteMs = numberFromEnv('KORE_SIM_LIMIT_MINUTE_MS', { integer: true, min: 1, max: 3_600_000 });
  const hourMs = numberFromEnv('KORE_SIM_LIMIT_HOUR_MS', { integer: true, min: 1, max: 86_400_000 });
  if (minuteMs !== undefined) limits.minuteMs = minuteMs;
  if (hourMs !== undefined) limits.hourMs = hourMs;
  if (limitStatus !== undefined) limits.status = limitStatus;
  if (limitRetryAfter !== undefined) limits.retryAfterSeconds = limitRetryAfter;
  const failUsers = listFromEnv('KORE_SIM_FAIL_USERS');
  const failRate = numberFromEnv('KORE_SIM_FAIL_RATE', { max: 1 });
  const neverFinishUsers = listFromEnv('KORE_SIM_NEVER_FINISH_USERS');
  const jobDurationMs = numberFromEnv('KORE_SIM_JOB_MS', { integer: true, max: 86_400_000 });

  const sim = await startKoreSimulator({
    port: numberFromEnv('KORE_SIM_PORT', { integer: true, max: 65_535 }) ?? 4010,
    clientId: process.env.KORE_CLIENT_ID || DEV_KORE_CLIENT_ID,
    clientSecret: process.env.KORE_CLIENT_SECRET || DEV_KORE_CLIENT_SECRET,
    account: users === undefined ? 'demo' : { generatedUsers: users, ...(seed !== undefined && { seed }) },
    faults,
    // Job ids keep growing across restarts, so an id stored by an earlier run never names a new job.
    firstJobNumber: Math.floor(Date.now() / 1000),
    ...(seed !== undefined && { seed }),
    ...(jobDurationMs !== undefined && { jobDurationMs }),
    ...(failUsers && { failUsers }),
    ...(failRate !== undefined && { failRate }),
    ...(neverFinishUsers && { neverFinishUsers }),
    rateLimits: limitsOn ? limits : false,
  });
  const { config } = sim;
  console.log(`Kore.ai simulator listening on ${sim.url}`);
  console.log(`  client id: ${config.clientId}${config.clientId === DEV_KORE_CLIENT_ID ? ' (development credentials)' : ''}`);
  console.log(`  account: ${sim.account.users.length} users in user-roles, ${sim.account.bots.length} bots; jobs finish after ${config.jobDurationMs} ms`);
  console.log(`  rate limits: ${config.rateLimits ? `${config.rateLimits.perMinute} per ${config.rateLimits.minuteMs} ms, ${config.rateLimits.perHour} per ${config.rateLimits.hourMs} ms, answered ${config.rateLimits.status}` : 'off'}`);
  console.log(`  inspect: ${sim.url}/__sim/calls   faults: POST ${sim.url}/__sim/faults   reset: POST ${sim.url}/__sim/reset`);

  const shutdown = () => {
    sim.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  console.error(`Kore.ai simulator did not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
