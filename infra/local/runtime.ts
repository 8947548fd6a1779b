/**
 * The whole system in one process, on embedded defaults (`npm start`, end-to-end tests): the
 * template of `cdk synth` with the Lambda bundles it deploys, each run in a local Lambda
 * container with exactly the environment the template gives it (see lambda-service.ts for the
 * seams), behind an HTTP server that routes requests by the template's HTTP API routes; the
 * synthesized state machine run by aws-local-stepfunctions, its Task states invoking the same
 * bundles; dynalite for DynamoDB; local stand-ins for Secrets Manager, KMS, S3, Step Functions,
 * SES and CloudWatch (aws/aws-stand-ins.ts); the Kore.ai simulator (unless a real tenant is
 * configured); the outbox for email and a development token issuer for staff.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HTML_SECURITY_HEADERS } from '../../functions/adapters/http/shared/messages';
import { createDevIssuer, DEV_ISSUER_DEFAULTS, type DevIssuer } from '../../functions/adapters/http/staff/dev-issuer';
import type { SweepReport } from '../../functions/workflow/sweep-requests';
import type { CanaryReport } from '../../functions/workflow/run-canary';
import type { VerifyReport } from '../../functions/workflow/verify-erasures';
import { LIFECYCLE_KEYS } from '../config';
import type { FunctionName } from '../constructs/functions';
import { synthesizeTemplate, type CfnTemplate } from '../synth';
import { readBody, toApiGatewayEvent, writeResult } from './api-gateway-adapter';
import { BodyTooLargeError, INTEGRATION_FAILED, NO_ROUTE, sendGatewayProblem } from './gateway-answers';
import { AwsStandIns, type RecordedMetric } from './aws/aws-stand-ins';
import { httpApiRoutes, matchRoute } from './http-api-routes';
import { refuseForeignHost } from './host-check';
import { DEV_KORE_CLIENT_ID, DEV_KORE_CLIENT_SECRET, startKoreSimulator, type KoreSimulator, type KoreSimulatorOptions } from './kore-sim';
import { ensureLambdaBundles } from './lambda-bundles';
import { LOCAL_TABLE_NAME, LocalLambdaService, templateFunctions, type LambdaMetrics } from './lambda-service';
import { ensureAuditTable, healIndexes, startLocalDynamo, type LocalDynamo } from './local-dynamo';
import { loadOrCreateLocalSecrets } from './local-secrets';
import { LocalWorkflow } from './local-workflow';
import { OutboxMailer, renderOutboxPage } from './outbox';
import { stateMachineDefinitionFrom } from './state-machine-definition';
import { ENV } from '../../functions/adapters/env/variables';
import { loggerOver, type Logger } from '../../functions/domain/ports';

/** Local defaults: jobs of the simulator take seconds, so polling and retries are compressed. */
export const LOCAL_WORKFLOW_DEFAULTS: Record<string, string> = {
  [ENV.POLL_INITIAL_SECONDS]: '1',
  [ENV.POLL_MAX_SECONDS]: '5',
  [ENV.POLL_DEADLINE_SECONDS]: '600',
  [ENV.STUCK_AFTER_SECONDS]: '60',
  // Read-backs a few seconds after completion (the simulator removes sessions when its job ends).
  [ENV.VERIFY_LAG_SECONDS]: '2',
};

/** The sender address of the local stack (mails land in the outbox; SES in AWS). */
export const LOCAL_MAIL_FROM = 'erasure-desk@desk.example.org';

/** Environment-style settings and the CDK context key each one is deployed through. */
const SETTING_CONTEXT_KEYS: Record<string, string> = {
  [ENV.POLL_INITIAL_SECONDS]: 'pollInitialSeconds',
  [ENV.POLL_MAX_SECONDS]: 'pollMaxSeconds',
  [ENV.POLL_DEADLINE_SECONDS]: 'pollDeadlineSeconds',
  [ENV.SNAPSHOT_MAX_AGE_SECONDS]: 'snapshotMaxAgeSeconds',
  [ENV.RECORD_RETENTION_DAYS]: 'recordRetentionDays',
  [ENV.KORE_TIMEOUT_MS]: 'koreTimeoutMs',
  [ENV.KORE_BUDGET_PER_MINUTE]: 'koreBudgetPerMinute',
  [ENV.KORE_BUDGET_PER_HOUR]: 'koreBudgetPerHour',
  [ENV.KORE_BUDGET_MARGIN]: 'koreBudgetMargin',
  [ENV.KORE_BUDGET_TIME_SCALE]: 'koreBudgetTimeScale',
  [ENV.ROLES_REFRESH_SHARE]: 'rolesRefreshShare',
  [ENV.ROLES_REFRESH_INTERVAL_SECONDS]: 'rolesRefreshIntervalSeconds',
  [ENV.ERASURE_BATCH_SIZE]: 'erasureBatchSize',
  [ENV.ERASURE_BATCH_GATHER_SECONDS]: 'erasureBatchGatherSeconds',
  [ENV.VERIFY_LOOK_BACK_DAYS]: 'verifyLookBackDays',
  [ENV.VERIFY_LAG_SECONDS]: 'verifyLagSeconds',
  [ENV.VERIFY_SAMPLE_SHARE]: 'verifySampleShare',
  ...Object.fromEntries(Object.entries(LIFECYCLE_KEYS).map(([key, variable]) => [variable, key])),
};

/**
 * The CDK context of the local stack: the settings given as environment-style variables become
 * the context keys that deploy them, so each function gets them the way it would in AWS.
 */
export function localContext(settings: Record<string, string | undefined>, canary?: { userId: string; botIds: readonly string[] }): Record<string, string> {
  const context: Record<string, string> = { mailFrom: LOCAL_MAIL_FROM };
  for (const [variable, key] of Object.entries(SETTING_CONTEXT_KEYS)) {
    const value = settings[variable];
    if (value !== undefined && value !== '') context[key] = value;
  }
  if (canary) Object.assign(context, { canaryUserId: canary.userId, canaryBotIds: canary.botIds.join(',') });
  return context;
}

export interface LocalRuntimeOptions {
  /** Port of the HTTP server (default 3000; 0 picks a free one). Always bound to 127.0.0.1. */
  port?: number;
  /** Data directory (default `.data`); secrets, DynamoDB, outbox, executions, checkpoints. */
  dataDir?: string;
  /** Keep DynamoDB in memory instead of under the data directory (tests). */
  inMemoryDynamo?: boolean;
  /** A real Kore.ai tenant; the simulator runs when absent. */
  kore?: { baseUrl: string; clientId: string; clientSecret: string };
  /** Options of the embedded simulator. */
  simulator?: KoreSimulatorOptions;
  /**
   * Settings as the functions' variables (POLL_*, STUCK_AFTER_SECONDS, …) over the local
   * defaults; each is deployed through its CDK context key, so only those the stack can set count.
   */
  env?: Record<string, string | undefined>;
  /** The canary the stack deploys (run-canary and its schedule exist only with one). */
  canary?: { userId: string; botIds: readonly string[] };
  /** Timeout of one Kore.ai call in ms (deployed as `koreTimeoutMs`; default the client's 10 s). */
  koreTimeoutMs?: number;
  /** Tests only: DynamoDB calls pass the AWS stand-ins, so faults can be injected per function. */
  dynamoThroughStandIns?: boolean;
  /** Tests only: let `advanceClock` move the functions' clock. */
  controllableClock?: boolean;
  /** Retry interval of Task states in ms (the definition's seconds compressed), default 200. */
  retryIntervalMs?: number;
  /** How often the sweeper runs (default 30 s; 0 turns the timer off). */
  sweepIntervalMs?: number;
  /** How often refresh-roles-snapshot runs its paging (default 5 min, as in AWS; 0 off: then only at start). */
  rolesIntervalMs?: number;
  /** How often verify-erasures reads completed erasures back (default 30 s; 0 off: the caller runs `verify`). */
  verifyIntervalMs?: number;
  /** How often sign-checkpoints runs (default 10 min; 0 off). */
  checkpointIntervalMs?: number;
  /** Receives one structured line per notable event, the functions' own log lines included; default JSON on stdout. */
  log?: (entry: Record<string, unknown>) => void;
}

/**
 * The time scale of the Kore.ai rate limits under test: the simulator's windows and the call
 * budget's are a hundredth of the documented ones (60 calls per 600 ms, 1,800 per 36 s), so the
 * limits are enforced in every suite without making it wait minutes.
 */
export const COMPRESSED_KORE_TIME_SCALE = 0.01;

/**
 * The runtime compressed for tests and benchmarks: an ephemeral port, DynamoDB in memory, no
 * sweeper timer (the caller sweeps), Task retries after 50 ms, no log, status polls every 1–2 s,
 * 500 ms simulator jobs and the Kore.ai rate limits on a compressed clock
 * ({@link COMPRESSED_KORE_TIME_SCALE}). `overrides` win; their `env` and `simulator` are merged into these.
 */
export function compressedRuntimeOptions(dataDir: string, overrides: Partial<LocalRuntimeOptions> = {}): LocalRuntimeOptions {
  return {
    port: 0,
    dataDir,
    inMemoryDynamo: true,
    sweepIntervalMs: 0,
    rolesIntervalMs: 0,
    verifyIntervalMs: 0,
    retryIntervalMs: 50,
    log: () => undefined,
    ...overrides,
    env: { POLL_INITIAL_SECONDS: '1', POLL_MAX_SECONDS: '2', KORE_BUDGET_TIME_SCALE: String(COMPRESSED_KORE_TIME_SCALE), ...(overrides.env ?? {}) },
    simulator: { jobDurationMs: 500, ...(overrides.simulator ?? {}) },
  };
}

/** What CloudWatch would have received, from the functions, the workflow, the API and PutMetricData. */
export interface LocalMetrics {
  /** Per function: Invocations and Errors. */
  lambda: Partial<Record<FunctionName, LambdaMetrics>>;
  /** Executions by how they ended (ExecutionsSucceeded, ExecutionsFailed, ExecutionsTimedOut, ExecutionsAborted). */
  executions: Record<string, number>;
  /** HTTP API answers with a 5xx status (the `5xx` metric). */
  api5xx: number;
  /** PutMetricData calls of the functions (OverdueRequests, CanaryFailed). */
  custom: RecordedMetric[];
}

export interface LocalRuntime {
  url: string;
  port: number;
  workflow: LocalWorkflow;
  mailer: OutboxMailer;
  devIssuer: DevIssuer;
  simulator?: KoreSimulator;
  /** The template the runtime runs (local context). */
  template: CfnTemplate;
  lambdas: LocalLambdaService;
  aws: AwsStandIns;
  dynamo: LocalDynamo;
  /** Invokes a deployed function's bundle. @throws LambdaInvocationError as the function reports it. */
  invoke<T = unknown>(name: FunctionName, event?: unknown): Promise<T>;
  /** Runs the sweeper now (`stuckAfterSeconds` 0: everything without a running execution is stuck). */
  sweep(stuckAfterSeconds?: number): Promise<SweepReport>;
  /** Runs the deployed canary once. @throws Error when the stack has no canary. */
  runCanary(): Promise<CanaryReport>;
  /** Runs verify-erasures now: every read-back that is due. */
  verify(): Promise<VerifyReport>;
  metrics(): LocalMetrics;
  /** Tests only (`controllableClock`): moves the functions' clock by `ms` (0 resets it). @throws Error otherwise. */
  advanceClock(ms: number): void;
  /** Resolves when no execution is running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** A scheduled event as EventBridge delivers it to a function. */
function scheduledEvent(name: string): Record<string, unknown> {
  return { version: '0', id: crypto.randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', account: '000000000000', time: new Date().toISOString(), region: 'eu-west-1', resources: [`local-schedule-${name}`], detail: {} };
}

/** Starts everything; resolves once the server listens, with a sweep picking up the requests left mid-flight. */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const dataDir = resolve(options.dataDir ?? '.data');
  // The stand-in for CloudWatch Logs: every function's lines and the runtime's own, one JSON line each.
  const log = options.log ?? ((entry) => process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`));
  const logger = loggerOver(log);
  const settings: Record<string, string | undefined> = { ...LOCAL_WORKFLOW_DEFAULTS, ...(options.koreTimeoutMs ? { KORE_TIMEOUT_MS: String(options.koreTimeoutMs) } : {}), ...(options.env ?? {}) };
  const clockOffset = options.controllableClock ? new SharedArrayBuffer(8) : undefined;

  const bundles = ensureLambdaBundles({ logger });
  const secrets = await loadOrCreateLocalSecrets(join(dataDir, 'secrets.json'));
  const dynamo: LocalDynamo = await startLocalDynamo(options.inMemoryDynamo ? {} : { path: join(dataDir, 'dynamodb') });
  await ensureAuditTable(dynamo.client, LOCAL_TABLE_NAME);
  // A marker that only a clean stop removes: found at start, the last process was killed, and
  // dynalite may have been cut between an item's index entries and the item (see healIndexes).
  const runningMarker = join(dataDir, 'dynamodb.running');
  if (!options.inMemoryDynamo) {
    if (existsSync(runningMarker)) {
      const healing = await healIndexes(dynamo.client, LOCAL_TABLE_NAME);
      logger.info('indexes checked after an unclean stop', { ...healing });
    }
    writeFileSync(runningMarker, `${process.pid}\n`);
  }

  let simulator: KoreSimulator | undefined;
  let kore = options.kore;
  if (!kore) {
    // The simulator enforces the account's limits over the windows the call budget counts
    // (compressed alike under a time scale), unless a test turns them off or sets its own.
    const scale = Number(settings.KORE_BUDGET_TIME_SCALE ?? 1);
    const limits = options.simulator?.rateLimits;
    const rateLimits = limits === false ? false : { minuteMs: Math.round(60_000 * scale), hourMs: Math.round(3_600_000 * scale), ...(typeof limits === 'object' ? limits : {}) };
    simulator = await startKoreSimulator({ firstJobNumber: Date.now(), ...(options.simulator ?? {}), rateLimits });
    kore = { baseUrl: simulator.url, clientId: simulator.config.clientId ?? DEV_KORE_CLIENT_ID, clientSecret: simulator.config.clientSecret ?? DEV_KORE_CLIENT_SECRET };
  }

  const devIssuer = await createDevIssuer({ dir: join(dataDir, 'dev-issuer') });
  const mailer = new OutboxMailer(join(dataDir, 'outbox'));
  const server: Server = createServer();
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, '127.0.0.1', () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const template = synthesizeTemplate({ context: localContext(settings, options.canary) });

  // The tasks invoke the bundles, which start executions through the stand-ins: bound once both exist.
  let lambdas: LocalLambdaService | undefined;
  const definition = stateMachineDefinitionFrom(template);
  const handlers = Object.fromEntries(
    Object.entries(definition.States)
      .filter(([, state]) => state.Type === 'Task')
      .map(([stateName, state]) => {
        const fn = String(state.Resource);
        return [stateName, (input: unknown) => {
          const target = lambdas!.byLogicalId(fn);
          if (!target) throw new Error(`Task ${stateName} invokes ${fn}, which the template does not deploy`);
          return lambdas!.invoke(target.name, input);
        }];
      }),
  );
  const workflow = new LocalWorkflow({
    definition,
    handlers,
    journalPath: join(dataDir, 'executions.jsonl'),
    retryIntervalMs: options.retryIntervalMs ?? 200,
    logger,
  });

  const aws = new AwsStandIns({
    dataDir,
    dynamodb: dynamo.endpoint,
    sendMail: (mail) => mailer.send(mail),
    invoke: (name, event) => {
      const target = lambdas?.byLogicalId(name);
      if (!target) throw Object.assign(new Error(`Function not found: ${name}`), { name: 'ResourceNotFoundException' });
      return lambdas!.invoke(target.name, event);
    },
    executions: {
      start: (name, input) => workflow.start(name, input),
      describe: (name) => workflow.describe(name),
      list: () => workflow.list(),
      redrive: (name) => workflow.redriveExecution(name),
      stop: (name) => workflow.stopExecution(name),
    },
  });
  await aws.start();

  const functions = templateFunctions(template, url, {
    [ENV.KORE_BASE_URL]: kore.baseUrl,
    [ENV.STAFF_ISSUER]: devIssuer.issuer,
    [ENV.STAFF_AUDIENCE]: devIssuer.audience,
    [ENV.STAFF_JWKS_URL]: `${url}/dev-issuer/jwks.json`,
  });
  for (const fn of functions) {
    const appSecret = fn.environment[ENV.APP_SECRET_ARN];
    if (appSecret) aws.putSecret(appSecret, { subjectKey: secrets.subjectSecret, linkKey: secrets.linkKey });
    const koreSecret = fn.environment.KORE_CREDENTIALS_SECRET_ARN;
    if (koreSecret) aws.putSecret(koreSecret, { clientId: kore.clientId, clientSecret: kore.clientSecret });
  }
  lambdas = new LocalLambdaService({
    functions,
    bundles,
    endpoints: aws.endpoints({ dynamoThroughStandIns: options.dynamoThroughStandIns === true }),
    ...(clockOffset ? { clockOffset } : {}),
    output: (name, line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = { level: 'info', message: line };
      }
      log({ function: name, ...entry });
    },
  });
  const service = lambdas;
  const routes = httpApiRoutes(template);
  let api5xx = 0;

  server.on('request', (req, res) =>
    void route({ service, routes, mailer, devIssuer, req, res, logger, on5xx: () => api5xx++ }),
  );

  const invoke = <T,>(name: FunctionName, event?: unknown) => service.invoke<T>(name, event ?? scheduledEvent(name));
  const sweep = async (stuckAfterSeconds?: number) => invoke<SweepReport>('sweep-requests', { ...scheduledEvent('sweep-requests'), ...(stuckAfterSeconds !== undefined ? { stuckAfterSeconds } : {}) });
  // One scheduled sweep at a time: a tick that comes while one still runs is skipped, as a sweep
  // that outlasts its interval in AWS would have the next one find its work done.
  let sweeping: Promise<void> | undefined;
  const scheduledSweep = (stuckAfterSeconds?: number): Promise<void> =>
    (sweeping ??= (async () => {
      try {
        const report = await sweep(stuckAfterSeconds);
        if (Object.values(report).some((n) => typeof n === 'number' && n > 0)) logger.info('sweep', { ...report });
      } catch (error) {
        logger.error('sweep failed', { error: error instanceof Error ? error.name : 'Error' });
      } finally {
        sweeping = undefined;
      }
    })());
  // The first run of the roles paging: a small account's snapshot is complete before the runtime
  // answers; a run that pages longer (a large account, or a refresh a kill interrupted, waiting for
  // turns the erasures take first) goes on behind a start that waits for it at most 10 s.
  const startupPaging = invoke('refresh-roles-snapshot').catch((error: unknown) => {
    logger.warn('roles snapshot refresh failed; the workflow re-checks at Kore.ai', { error: error instanceof Error ? error.name : 'Error' });
  });
  await Promise.race([startupPaging, new Promise((resolveWait) => setTimeout(resolveWait, 10_000).unref())]);
  // Nothing survived the last process: every active request without a running execution is picked
  // up by a sweep that starts now. The API answers meanwhile, as in AWS, where the sweeper is a
  // schedule of its own: after a crash with many open requests that sweep takes a while.
  void scheduledSweep(0);
  const interval = options.sweepIntervalMs ?? 30_000;
  const timer = interval > 0 ? setInterval(() => void scheduledSweep(), interval) : undefined;
  timer?.unref();
  const checkpoint = async () => {
    try {
      await invoke('sign-checkpoints');
    } catch (error) {
      logger.error('checkpoint failed', { error: error instanceof Error ? error.name : 'Error' });
    }
  };
  const pageRoles = async () => {
    try {
      await invoke('refresh-roles-snapshot');
    } catch (error) {
      logger.error('roles snapshot paging failed', { error: error instanceof Error ? error.name : 'Error' });
    }
  };
  const rolesInterval = options.rolesIntervalMs ?? 300_000;
  const rolesTimer = rolesInterval > 0 ? setInterval(() => void pageRoles(), rolesInterval) : undefined;
  rolesTimer?.unref();
  const verify = () => invoke<VerifyReport>('verify-erasures');
  const scheduledVerify = async () => {
    try {
      const report = await verify();
      if (report.due > 0) logger.info('verification run', { ...report });
    } catch (error) {
      logger.error('verification run failed', { error: error instanceof Error ? error.name : 'Error' });
    }
  };
  const verifyInterval = options.verifyIntervalMs ?? 30_000;
  const verifyTimer = verifyInterval > 0 ? setInterval(() => void scheduledVerify(), verifyInterval) : undefined;
  verifyTimer?.unref();
  const checkpointInterval = options.checkpointIntervalMs ?? 600_000;
  const checkpointTimer = checkpointInterval > 0 ? setInterval(() => void checkpoint(), checkpointInterval) : undefined;
  checkpointTimer?.unref();

  return {
    url,
    port,
    workflow,
    mailer,
    devIssuer,
    simulator,
    template,
    lambdas: service,
    aws,
    dynamo,
    invoke,
    sweep,
    verify,
    runCanary: () => {
      if (!service.has('run-canary')) throw new Error('This runtime deploys no canary (start it with the canary option)');
      return invoke<CanaryReport>('run-canary');
    },
    metrics: () => {
      const executions: Record<string, number> = {};
      for (const e of workflow.list()) {
        const metric = { SUCCEEDED: 'ExecutionsSucceeded', FAILED: 'ExecutionsFailed', TIMED_OUT: 'ExecutionsTimedOut', ABORTED: 'ExecutionsAborted' }[e.state as string];
        if (metric) executions[metric] = (executions[metric] ?? 0) + 1;
      }
      return { lambda: service.metrics(), executions, api5xx, custom: aws.metrics() };
    },
    advanceClock: (ms) => {
      if (!clockOffset) throw new Error('Start the runtime with controllableClock to move its clock');
      const offset = new BigInt64Array(clockOffset);
      Atomics.store(offset, 0, ms === 0 ? 0n : Atomics.load(offset, 0) + BigInt(Math.round(ms)));
    },
    idle: () => workflow.idle(),
    stop: async () => {
      if (timer) clearInterval(timer);
      if (rolesTimer) clearInterval(rolesTimer);
      if (verifyTimer) clearInterval(verifyTimer);
      if (checkpointTimer) clearInterval(checkpointTimer);
      await sweeping;
      await workflow.stop();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await service.stop();
      await aws.stop();
      await simulator?.stop();
      await dynamo.stop();
      if (!options.inMemoryDynamo) rmSync(runningMarker, { force: true });
    },
  };
}

function send(res: ServerResponse, status: number, contentType: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'x-content-type-options': 'nosniff', ...extra });
  res.end(body);
}

interface RouteContext {
  service: LocalLambdaService;
  routes: ReturnType<typeof httpApiRoutes>;
  mailer: OutboxMailer;
  devIssuer: DevIssuer;
  req: IncomingMessage;
  res: ServerResponse;
  logger: Logger;
  on5xx: () => void;
}

/** Local-only routes first (outbox, dev issuer keys), then the HTTP API's routes from the template. */
async function route({ service, routes, mailer, devIssuer, req, res, logger, on5xx }: RouteContext): Promise<void> {
  if (refuseForeignHost(req, res)) return; // DNS rebinding: only requests naming this server (host-check.ts)
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  try {
    if (path === '/dev/outbox' && req.method === 'GET') {
      return send(res, 200, 'text/html; charset=utf-8', renderOutboxPage(mailer.list()), {
        ...HTML_SECURITY_HEADERS,
      });
    }
    // `?to=<address>`: the mails of one address, as that person's inbox would show them.
    if (path === '/dev/outbox.json' && req.method === 'GET') return send(res, 200, 'application/json', JSON.stringify(mailer.list(url.searchParams.get('to') ?? undefined)));
    if (path === '/dev-issuer/jwks.json' && req.method === 'GET') return send(res, 200, 'application/json', JSON.stringify(devIssuer.jwks()));

    const body = await readBody(req);
    const event = toApiGatewayEvent(req, body);
    const match = matchRoute(routes, event.requestContext.http.method, event.rawPath);
    if (!match) return writeResult(res, NO_ROUTE);
    const fn = service.byLogicalId(match.route.functionLogicalId);
    if (!fn) throw new Error(`Route ${match.route.routeKey} has no local function`);
    event.routeKey = match.route.routeKey;
    event.requestContext.routeKey = match.route.routeKey;
    if (match.pathParameters) event.pathParameters = match.pathParameters;
    let result: APIGatewayProxyStructuredResultV2;
    try {
      result = await service.invoke<APIGatewayProxyStructuredResultV2>(fn.name, event);
    } catch (error) {
      // A function error reaches the client as API Gateway's own 500, never the error itself.
      logger.error('function failed behind the HTTP API', { function: fn.name, error: error instanceof Error ? error.name : 'Error' });
      result = INTEGRATION_FAILED;
    }
    if ((result.statusCode ?? 200) >= 500) on5xx();
    writeResult(res, result);
  } catch (error) {
    if (error instanceof BodyTooLargeError) return sendGatewayProblem(res, error);
    if (req.destroyed || (error as NodeJS.ErrnoException).code === 'ECONNRESET' || (error instanceof Error && error.message === 'aborted')) {
      // The client went away mid-request: nothing to answer, and nothing wrong on our side.
      logger.info('client aborted the request', { path });
      res.destroy();
      return;
    }
    logger.error('unhandled error in local route', { error: error instanceof Error ? error.name : 'Error' });
    on5xx();
    if (!res.headersSent) sendGatewayProblem(res, error);
    else res.destroy();
  }
}
