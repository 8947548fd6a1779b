/**
 * The AWS runtime of the composition root: builds the application from the function's
 * environment, with the AWS adapters. Each function declares the capabilities its code uses
 * (`FUNCTION_CAPABILITIES`) and refuses to start when one of them is not configured; whatever a
 * function is not given (least privilege, see infra/constructs/functions.ts) is an adapter that
 * fails loudly, naming the missing capability, if the code ever reaches for it.
 *
 * SDK clients are created once per container (module scope, lazily per service) and secrets are
 * fetched once and cached.
 */
import { createRemoteJWKSet } from 'jose';
import type { KorePlatform } from '../domain/kore';
import { systemClock, type Mailer, type Signer, type WorkflowStarter } from '../domain/ports';
import { CHECKPOINT_JWS_TYPE, RECEIPT_JWS_TYPE } from '../domain/checkpoints';
import { deriveKeys } from '../domain/subject';
import type { StaffAuthenticator } from '../staff/auth';
import { createStaffAuthenticator, DEFAULT_MAX_TOKEN_AGE_SECONDS } from '../staff/auth';
import type { CheckpointWriter } from '../staff/checkpoints';
import type { SnapshotInfo } from '../domain/model';
import type { SubjectKeys } from '../domain/subject';
import { composeApplication, type Application } from './application';
import { CAPABILITY_VARIABLES, FUNCTION_CAPABILITIES, type Capability, type FunctionName } from './capabilities';
import { ConfigurationError, getNumberFromEnv, getOptionalStringFromEnv, getStringFromEnv, readWorkflowSettings } from './config';
import { createDocumentClient } from './dynamo/clients';
import { createDynamoAdapters } from './dynamo/adapters';
import type { CallBudget } from '../domain/call-budget';
import { DynamoCallBudget } from './dynamo/call-budget-store';
import { readCallBudgetPolicy } from './kore/call-budget-settings';
import { readRolePaging } from './kore/role-paging-settings';
import type { RolePagingPolicy } from '../domain/role-paging';
import { KoreClient } from './kore/kore-client';
import { logger, errorName } from './logger';

type Env = Record<string, string | undefined>;

/** An adapter this function was not given: any use is a wiring error, reported by name. */
function unavailable<T extends object>(capability: string): T {
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
function withheldSecret<T extends object>(target: T, capability: string): T {
  return new Proxy(target, {
    get(_target, property) {
      if (property === 'then') return undefined;
      throw new ConfigurationError(`This function is not configured for ${capability}`);
    },
  });
}

function parseAppSecret(value: unknown): { subjectKey: string; linkKey: string } {
  const v = value as { subjectKey?: unknown; linkKey?: unknown } | null;
  if (!v || typeof v.subjectKey !== 'string' || typeof v.linkKey !== 'string' || v.subjectKey.length < 16 || v.linkKey.length < 32) {
    throw new ConfigurationError('The app secret needs string members subjectKey (≥ 16 chars) and linkKey (≥ 32 chars)');
  }
  return { subjectKey: v.subjectKey, linkKey: v.linkKey };
}

function parseKoreCredentials(value: unknown): { clientId: string; clientSecret: string } {
  const v = value as { clientId?: unknown; clientSecret?: unknown } | null;
  if (!v || typeof v.clientId !== 'string' || typeof v.clientSecret !== 'string' || !v.clientId || !v.clientSecret) {
    throw new ConfigurationError('The Kore.ai credentials secret needs string members clientId and clientSecret');
  }
  return { clientId: v.clientId, clientSecret: v.clientSecret };
}

const documentClient = createDocumentClient();
let kmsClient: import('@aws-sdk/client-kms').KMSClient | undefined;
let secretsClient: import('@aws-sdk/client-secrets-manager').SecretsManagerClient | undefined;

async function secrets() {
  if (!secretsClient) {
    const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    secretsClient = new SecretsManagerClient({});
  }
  const { loadJsonSecret } = await import('./aws/secrets');
  return { client: secretsClient, loadJsonSecret };
}

/**
 * Builds the application from the environment of this function.
 * @param capabilities what the function's code uses; each one's variables are required.
 * @throws ConfigurationError naming the first variable a declared capability misses, or a
 *   malformed secret.
 */
export async function buildAwsApplication(env: Env, capabilities: readonly Capability[]): Promise<Application> {
  for (const capability of capabilities) {
    for (const name of CAPABILITY_VARIABLES[capability]) {
      if (getOptionalStringFromEnv(name, env) === undefined) {
        throw new ConfigurationError(`Missing required configuration ${name} (capability ${capability})`);
      }
    }
  }
  const tableName = getStringFromEnv('TABLE_NAME', env);
  const clock = systemClock;
  const { client: sm, loadJsonSecret } = await secrets();

  let subjectKeys: SubjectKeys = withheldSecret({} as SubjectKeys, 'the app secret (APP_SECRET_ARN)');
  let linkKey = withheldSecret(new Uint8Array(0), 'the app secret (APP_SECRET_ARN)');
  const appSecretArn = getOptionalStringFromEnv('APP_SECRET_ARN', env);
  if (appSecretArn) {
    const appSecret = await loadJsonSecret(sm, appSecretArn, parseAppSecret);
    subjectKeys = deriveKeys(appSecret.subjectKey);
    linkKey = new TextEncoder().encode(appSecret.linkKey);
  }

  let kore: KorePlatform = unavailable('Kore.ai');
  let budget: CallBudget | undefined;
  let rolePaging: { policy: RolePagingPolicy; runMs: number } | undefined;
  const koreSecretArn = getOptionalStringFromEnv('KORE_CREDENTIALS_SECRET_ARN', env);
  if (koreSecretArn) {
    const credentials = await loadJsonSecret(sm, koreSecretArn, parseKoreCredentials);
    const timeoutMs = getOptionalStringFromEnv('KORE_TIMEOUT_MS', env) ? getNumberFromEnv('KORE_TIMEOUT_MS', 0, env, { min: 100, max: 20_000 }) : undefined;
    kore = new KoreClient({ baseUrl: getStringFromEnv('KORE_BASE_URL', env), ...credentials, ...(timeoutMs ? { timeoutMs } : {}) });
    // Whoever calls Kore.ai takes its turns from the one budget of the deployment.
    const budgetPolicy = readCallBudgetPolicy(env);
    budget = new DynamoCallBudget({ client: documentClient, tableName, policy: budgetPolicy, clock });
    rolePaging = readRolePaging(budgetPolicy, env);
  }

  let workflow: WorkflowStarter = unavailable('Step Functions');
  const stateMachineArn = getOptionalStringFromEnv('STATE_MACHINE_ARN', env);
  if (stateMachineArn) {
    const [{ SFNClient }, { StepFunctionsWorkflow }] = await Promise.all([import('@aws-sdk/client-sfn'), import('./aws/sfn-workflow')]);
    workflow = new StepFunctionsWorkflow({ client: new SFNClient({}), stateMachineArn });
  }

  let mailer: Mailer = unavailable('email (MAIL_FROM)');
  const mailFrom = getOptionalStringFromEnv('MAIL_FROM', env);
  if (mailFrom) {
    const [{ SESv2Client }, { SesMailer }] = await Promise.all([import('@aws-sdk/client-sesv2'), import('./aws/ses-mailer')]);
    mailer = new SesMailer({ client: new SESv2Client({}), from: mailFrom });
  }

  // Two keys, each signing one kind of object with its own JWS typ; IAM decides who may sign with
  // which (kms:Sign) and who may only read the public half (GetPublicKey).
  const kmsSigner = async (keyId: string, typ: string): Promise<Signer> => {
    const [{ KMSClient }, { KmsSigner }] = await Promise.all([import('@aws-sdk/client-kms'), import('./aws/kms-signer')]);
    kmsClient ??= new KMSClient({});
    return new KmsSigner({ client: kmsClient, keyId, typ });
  };
  const receiptKeyId = getOptionalStringFromEnv('RECEIPT_SIGNING_KEY_ID', env);
  const receiptSigner = receiptKeyId ? await kmsSigner(receiptKeyId, RECEIPT_JWS_TYPE) : unavailable<Signer>('receipt signing (RECEIPT_SIGNING_KEY_ID)');
  const checkpointKeyId = getOptionalStringFromEnv('CHECKPOINT_SIGNING_KEY_ID', env);
  const checkpointSigner = checkpointKeyId ? await kmsSigner(checkpointKeyId, CHECKPOINT_JWS_TYPE) : unavailable<Signer>('checkpoint keys (CHECKPOINT_SIGNING_KEY_ID)');

  let checkpointWriter: CheckpointWriter | undefined;
  const bucket = getOptionalStringFromEnv('CHECKPOINT_BUCKET', env);
  if (bucket) {
    const [{ S3Client }, { S3CheckpointWriter }] = await Promise.all([import('@aws-sdk/client-s3'), import('./aws/s3-checkpoints')]);
    checkpointWriter = new S3CheckpointWriter({ client: new S3Client({}), bucket });
  }

  let rolesRefresh: (() => Promise<SnapshotInfo>) | undefined;
  const refreshFunction = getOptionalStringFromEnv('ROLES_REFRESH_FUNCTION_NAME', env);
  if (refreshFunction) {
    const [{ LambdaClient }, { LambdaRolesRefresher }] = await Promise.all([import('@aws-sdk/client-lambda'), import('./aws/lambda-roles-refresh')]);
    const refresher = new LambdaRolesRefresher({ client: new LambdaClient({}), functionName: refreshFunction });
    rolesRefresh = () => refresher.refresh();
  }

  let staffAuth: StaffAuthenticator = unavailable('staff authentication (STAFF_*)');
  const issuer = getOptionalStringFromEnv('STAFF_ISSUER', env);
  if (issuer) {
    staffAuth = createStaffAuthenticator({
      issuer,
      audience: getStringFromEnv('STAFF_AUDIENCE', env),
      jwks: createRemoteJWKSet(new URL(getStringFromEnv('STAFF_JWKS_URL', env))),
      rolesClaim: getOptionalStringFromEnv('STAFF_ROLES_CLAIM', env) ?? 'cognito:groups',
      maxTokenAgeSeconds: getNumberFromEnv('STAFF_MAX_TOKEN_AGE_SECONDS', DEFAULT_MAX_TOKEN_AGE_SECONDS, env, { min: 60 }),
    });
  }

  const recordRetentionDays = getNumberFromEnv('RECORD_RETENTION_DAYS', 2190, env, { min: 1 });
  return composeApplication({
    ...createDynamoAdapters({ client: documentClient, tableName, clock, retentionDays: recordRetentionDays }),
    kore,
    ...(budget ? { budget } : {}),
    ...(rolePaging ? { rolePaging } : {}),
    mailer,
    receiptSigner,
    checkpointSigner,
    workflow,
    ...(checkpointWriter ? { checkpointWriter } : {}),
    recordRetentionDays,
    staffAuth,
    clock,
    subjectKeys,
    linkKey,
    ...(rolesRefresh ? { rolesRefresh } : {}),
    // Links go out in mail and pages; a function that sends mail must know where the site is.
    publicBaseUrl: mailFrom ? getStringFromEnv('PUBLIC_BASE_URL', env) : (getOptionalStringFromEnv('PUBLIC_BASE_URL', env) ?? ''),
    settings: readWorkflowSettings(env),
    log: (entry) => {
      const { level, message, ...fields } = entry as { level?: string; message?: string };
      const write = level === 'error' ? logger.error.bind(logger) : level === 'warn' ? logger.warn.bind(logger) : logger.info.bind(logger);
      write(message ?? 'event', fields);
    },
  });
}

/** One per function name; a container only ever runs one function, tests import several. */
const applications = new Map<FunctionName, Promise<Application>>();

/**
 * The container's application for the function `name`, built on first use (with the
 * capabilities that function declares) and reused by every invocation after.
 */
export function awsApplication(name: FunctionName): Promise<Application> {
  let application = applications.get(name);
  if (!application) {
    application = buildAwsApplication(process.env, FUNCTION_CAPABILITIES[name]).catch((error: unknown) => {
      applications.delete(name); // let the next invocation try again (e.g. a secret not yet set)
      logger.error('application could not be built', { error: errorName(error) });
      throw error;
    });
    applications.set(name, application);
  }
  return application;
}
