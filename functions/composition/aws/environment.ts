/**
 * The AWS runtime of the composition: what every function builds from its environment (the
 * table, the settings, the log), the check that the capabilities its code declares are
 * configured, and stand-ins for what a function is not given (least privilege, see
 * infra/constructs/functions.ts): an adapter that fails loudly, naming the missing capability,
 * if the code ever reaches for it. The adapters a function does use are built by the small
 * modules beside this one, each imported only by the functions that need it, so a bundle holds
 * no code of another function's adapters.
 */
import { systemClock } from '../../domain/ports';
import type { SubjectKeys } from '../../domain/subject';
import { createDynamoAdapters } from '../../adapters/dynamo/adapters';
import { createDocumentClient } from '../../adapters/dynamo/clients';
import { CAPABILITY_VARIABLES, FUNCTION_CAPABILITIES, type Capability, type FunctionName } from '../../adapters/env/capabilities';
import { ConfigurationError, DEFAULT_RECORD_RETENTION_DAYS, getNumberFromEnv, getOptionalStringFromEnv, getStringFromEnv, readWorkflowSettings } from '../../adapters/env/settings';
import { applicationLogger, errorName } from '../../adapters/aws/logger';
import type { ApplicationAdapters } from '../adapters';
import { ENV } from '../../adapters/env/variables';

export type Env = Record<string, string | undefined>;

/** An adapter this function was not given: any use is a wiring error, reported by name. */
export function unavailable<T extends object>(capability: string): T {
  return new Proxy({} as T, {
    get(_target, property) {
      if (property === 'then') return undefined; // not a promise
      return () => {
        throw new ConfigurationError(`This function is not configured for ${capability} (${String(property)})`);
      };
    },
  });
}

/**
 * A secret this function was not given: reading any part of it is a wiring error, reported by
 * name (never a silent stand-in key).
 */
export function withheldSecret<T extends object>(target: T, capability: string): T {
  return new Proxy(target, {
    get(_target, property) {
      if (property === 'then') return undefined;
      throw new ConfigurationError(`This function is not configured for ${capability}`);
    },
  });
}

/** @throws ConfigurationError naming the first variable a declared capability misses. */
export function requireCapabilities(env: Env, capabilities: readonly Capability[]): void {
  for (const capability of capabilities) {
    for (const name of CAPABILITY_VARIABLES[capability]) {
      if (getOptionalStringFromEnv(name, env) === undefined) {
        throw new ConfigurationError(`Missing required configuration ${name} (capability ${capability})`);
      }
    }
  }
}

/** The one DynamoDB client of the container, for every adapter of the table. */
export const tableClient = createDocumentClient();

/**
 * What every function has: the table's adapters, the clock, the settings and the log; every
 * other adapter stands in as unavailable until the function's own module builds it.
 * @throws ConfigurationError naming the first variable a declared capability misses.
 */
export function baseAdapters(env: Env, capabilities: readonly Capability[]): ApplicationAdapters {
  requireCapabilities(env, capabilities);
  const clock = systemClock;
  const recordRetentionDays = getNumberFromEnv(ENV.RECORD_RETENTION_DAYS, DEFAULT_RECORD_RETENTION_DAYS, env, { min: 1 });
  const mailFrom = getOptionalStringFromEnv(ENV.MAIL_FROM, env);
  return {
    ...createDynamoAdapters({ client: tableClient, tableName: getStringFromEnv(ENV.TABLE_NAME, env), clock, retentionDays: recordRetentionDays }),
    kore: unavailable('Kore.ai'),
    mailer: unavailable('email (MAIL_FROM)'),
    receiptSigner: unavailable('receipt signing (RECEIPT_SIGNING_KEY_ID)'),
    checkpointSigner: unavailable('checkpoint keys (CHECKPOINT_SIGNING_KEY_ID)'),
    workflow: unavailable('Step Functions'),
    staffAuth: unavailable('staff authentication (STAFF_*)'),
    subjectKeys: withheldSecret({} as SubjectKeys, 'the app secret (APP_SECRET_ARN)'),
    linkKey: withheldSecret(new Uint8Array(0), 'the app secret (APP_SECRET_ARN)'),
    recordRetentionDays,
    clock,
    // Links go out in mail and pages; a function that sends mail must know where the site is.
    publicBaseUrl: mailFrom ? getStringFromEnv(ENV.PUBLIC_BASE_URL, env) : (getOptionalStringFromEnv(ENV.PUBLIC_BASE_URL, env) ?? ''),
    settings: readWorkflowSettings(env),
    logger: applicationLogger,
  };
}

/** A function's part, built once per container from its environment. */
export interface AwsFunction<T> {
  /** Builds the part from `env` (tests call it with a template's environment). */
  build(env: Env): Promise<T>;
  /** The container's part, built on first use and reused by every invocation after. */
  get(): Promise<T>;
}

/**
 * @param name the function, whose declared capabilities (`FUNCTION_CAPABILITIES`) must be configured.
 * @param build from the function's base adapters and environment to its part.
 */
export function awsFunction<T>(name: FunctionName, build: (base: ApplicationAdapters, env: Env) => Promise<T>): AwsFunction<T> {
  let built: Promise<T> | undefined;
  const buildFrom = async (env: Env) => build(baseAdapters(env, FUNCTION_CAPABILITIES[name]), env);
  return {
    build: buildFrom,
    get() {
      built ??= buildFrom(process.env).catch((error: unknown) => {
        built = undefined; // let the next invocation try again (e.g. a secret not yet set)
        applicationLogger.error('application could not be built', { error: errorName(error) });
        throw error;
      });
      return built;
    },
  };
}
