/**
 * The whole system in one process, on embedded defaults (`npm start`, end-to-end tests):
 * dynalite for DynamoDB, the synthesized state machine run by aws-local-stepfunctions with its
 * Lambda tasks mapped to the real handlers, the Kore.ai simulator (unless a real tenant is
 * configured), the outbox for email, a development token issuer, and an HTTP server that turns
 * requests into API Gateway v2 events for the same handlers that run in AWS.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { CHECKPOINT_JWS_TYPE, RECEIPT_JWS_TYPE } from '../../functions/domain/checkpoints';
import { systemClock, type Clock } from '../../functions/domain/ports';
import { deriveKeys } from '../../functions/domain/subject';
import { composeApplication, type Application } from '../../functions/commons/application';
import { readWorkflowSettings, type WorkflowSettings } from '../../functions/commons/config';
import { createDynamoAdapters } from '../../functions/commons/dynamo/adapters';
import { INTERNAL_PROBLEM } from '../../functions/commons/http/problem';
import { HTML_SECURITY_HEADERS } from '../../functions/intake/http';
import { KoreClient } from '../../functions/commons/kore/kore-client';
import { createLocalSigner } from '../../functions/intake/receipts';
import { createStaffAuthenticator } from '../../functions/staff/auth';
import { createDevIssuer, DEV_ISSUER_DEFAULTS, type DevIssuer } from '../../functions/staff/dev-issuer';
import { createFileCheckpointWriter } from '../../functions/staff/file-checkpoint-writer';
import { synthesizeTemplate } from '../synth';
import { BodyTooLargeError, readBody, toApiGatewayEvent, writeResult, type ApiHandler } from './api-gateway-adapter';
import { DEV_KORE_CLIENT_ID, DEV_KORE_CLIENT_SECRET, startKoreSimulator, type KoreSimulator, type KoreSimulatorOptions } from './kore-sim';
import { ensureAuditTable, healIndexes, startLocalDynamo, type LocalDynamo } from './local-dynamo';
import { loadOrCreateLocalSecrets } from './local-secrets';
import { LocalWorkflow } from './local-workflow';
import { OutboxMailer, renderOutboxPage } from './outbox';
import { stateMachineDefinitionFrom } from './state-machine-definition';

/** The Task states of the erasure state machine and the use case behind each. */
const TASK_STATES = {
  SubmitErasure: 'submitErasure',
  CheckStatus: 'checkErasureStatus',
  RecordCompleted: 'recordOutcome',
  RecordFailed: 'recordOutcome',
  RecordTimedOut: 'recordOutcome',
  RecordRejected: 'recordOutcome',
  RecordError: 'recordOutcome',
} as const satisfies Record<string, keyof Application['tasks']>;

/** Local defaults: jobs of the simulator take seconds, so polling and retries are compressed. */
export const LOCAL_WORKFLOW_DEFAULTS: Record<string, string> = {
  POLL_INITIAL_SECONDS: '1',
  POLL_MAX_SECONDS: '5',
  POLL_DEADLINE_SECONDS: '600',
  STUCK_AFTER_SECONDS: '60',
};

export interface LocalRuntimeOptions {
  /** Port of the HTTP server (default 3000; 0 picks a free one). Always bound to 127.0.0.1. */
  port?: number;
  /** Data directory (default `.data`); secrets, DynamoDB, outbox, executions, checkpoints. */
  dataDir?: string;
  /** Keep DynamoDB in memory instead of under the data directory (tests). */
  inMemoryDynamo?: boolean;
  /** A real Kore.ai tenant; the simulator runs when absent. */
  kore?: { baseUrl: string; clientId: string; clientSecret: string };
  /** Timeout of one Kore.ai call in ms (default 5000; AWS uses the client's 10 s). */
  koreTimeoutMs?: number;
  /** Options of the embedded simulator. */
  simulator?: KoreSimulatorOptions;
  /** Environment-style settings overriding the local defaults (POLL_*, STUCK_AFTER_SECONDS, …). */
  env?: Record<string, string | undefined>;
  /** Retry interval of Task states in ms (the definition's seconds compressed), default 200. */
  retryIntervalMs?: number;
  /** How often the sweeper runs (default 30 s; 0 turns the timer off). */
  sweepIntervalMs?: number;
  /** How often the chain heads are signed into `<dataDir>/checkpoints` (default 10 min; 0 off). */
  checkpointIntervalMs?: number;
  /** Public base URL (default the server's own URL). */
  publicBaseUrl?: string;
  clock?: Clock;
  /** Receives one structured line per notable event; default JSON on stdout. */
  log?: (entry: Record<string, unknown>) => void;
}

/**
 * The runtime compressed for tests and benchmarks: an ephemeral port, DynamoDB in memory, no
 * sweeper timer (the caller sweeps), Task retries after 50 ms, no log, status polls every 1–2 s
 * and 500 ms simulator jobs. `overrides` win; their `env` and `simulator` are merged into these.
 */
export function compressedRuntimeOptions(dataDir: string, overrides: Partial<LocalRuntimeOptions> = {}): LocalRuntimeOptions {
  return {
    port: 0,
    dataDir,
    inMemoryDynamo: true,
    sweepIntervalMs: 0,
    retryIntervalMs: 50,
    log: () => undefined,
    ...overrides,
    env: { POLL_INITIAL_SECONDS: '1', POLL_MAX_SECONDS: '2', ...(overrides.env ?? {}) },
    simulator: { jobDurationMs: 500, ...(overrides.simulator ?? {}) },
  };
}

export interface LocalRuntime {
  url: string;
  port: number;
  app: Application;
  workflow: LocalWorkflow;
  mailer: OutboxMailer;
  devIssuer: DevIssuer;
  simulator?: KoreSimulator;
  settings: WorkflowSettings;
  /** The local DynamoDB and the audit table (tests reach into it as an attacker with table access would). */
  dynamo: { endpoint: string; tableName: string };
  /** Resolves when no execution is running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts everything; resolves once the server listens and requests left mid-flight were picked up. */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const dataDir = resolve(options.dataDir ?? '.data');
  const clock = options.clock ?? systemClock;
  const log = options.log ?? ((entry) => process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`));
  const settings = readWorkflowSettings({ ...LOCAL_WORKFLOW_DEFAULTS, ...(options.env ?? {}) });

  const secrets = await loadOrCreateLocalSecrets(join(dataDir, 'secrets.json'));
  const dynamo: LocalDynamo = await startLocalDynamo(options.inMemoryDynamo ? {} : { path: join(dataDir, 'dynamodb') });
  const tableName = 'erasure-desk-audit';
  await ensureAuditTable(dynamo.client, tableName);
  // A marker that only a clean stop removes: found at start, the last process was killed, and
  // dynalite may have been cut between an item's index entries and the item (see healIndexes).
  const runningMarker = join(dataDir, 'dynamodb.running');
  if (!options.inMemoryDynamo) {
    if (existsSync(runningMarker)) {
      const healing = await healIndexes(dynamo.client, tableName);
      log({ level: 'info', message: 'indexes checked after an unclean stop', ...healing });
    }
    writeFileSync(runningMarker, `${process.pid}\n`);
  }

  let simulator: KoreSimulator | undefined;
  let kore = options.kore;
  if (!kore) {
    simulator = await startKoreSimulator({ firstJobNumber: Date.now(), ...(options.simulator ?? {}) });
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

  // The tasks call into the application, which needs the workflow: bound once both exist.
  let app: Application | undefined;
  const handlers = Object.fromEntries(
    Object.entries(TASK_STATES).map(([state, task]) => [state, (input: unknown) => (app!.tasks[task] as (i: unknown) => Promise<unknown>)(input)]),
  );
  const workflow = new LocalWorkflow({
    definition: stateMachineDefinitionFrom(synthesizeTemplate()),
    handlers,
    journalPath: join(dataDir, 'executions.jsonl'),
    retryIntervalMs: options.retryIntervalMs ?? 200,
    log: (message, fields) => log({ level: 'info', message, ...fields }),
  });

  app = composeApplication({
    ...createDynamoAdapters({ client: dynamo.client, tableName, clock, retentionDays: 2190 }),
    kore: new KoreClient({ ...kore, timeoutMs: options.koreTimeoutMs ?? 5000 }),
    mailer,
    receiptSigner: createLocalSigner(secrets.receiptSigningKey, RECEIPT_JWS_TYPE),
    checkpointSigner: createLocalSigner(secrets.checkpointSigningKey, CHECKPOINT_JWS_TYPE),
    workflow,
    checkpointWriter: createFileCheckpointWriter(join(dataDir, 'checkpoints')),
    staffAuth: createStaffAuthenticator({ issuer: devIssuer.issuer, audience: devIssuer.audience, jwks: devIssuer.keyResolver(), rolesClaim: DEV_ISSUER_DEFAULTS.rolesClaim }),
    clock,
    subjectKeys: deriveKeys(secrets.subjectSecret),
    linkKey: new TextEncoder().encode(secrets.linkKey),
    publicBaseUrl: options.publicBaseUrl ?? url,
    settings,
    log,
  });
  const application = app;

  server.on('request', (req, res) => void route(application, mailer, devIssuer, req, res, log));

  const sweep = async (stuckAfterSeconds?: number) => {
    try {
      const report = await application.sweep(stuckAfterSeconds);
      if (Object.values(report).some((n) => n > 0)) log({ level: 'info', message: 'sweep', ...report });
    } catch (error) {
      log({ level: 'error', message: 'sweep failed', error: error instanceof Error ? error.name : 'Error' });
    }
  };
  try {
    const info = await application.refreshRolesSnapshot();
    log({ level: 'info', message: 'roles snapshot refreshed', version: info.version, users: info.userCount, identities: info.identityCount });
  } catch (error) {
    log({ level: 'warn', message: 'roles snapshot refresh failed; the workflow re-checks at Kore.ai', error: error instanceof Error ? error.name : 'Error' });
  }
  // Nothing survived the last process: every active request without a running execution is picked up now.
  await sweep(0);
  const interval = options.sweepIntervalMs ?? 30_000;
  const timer = interval > 0 ? setInterval(() => void sweep(), interval) : undefined;
  timer?.unref();
  const checkpoint = async () => {
    try {
      const written = await application.signCheckpoints();
      log({ level: 'info', message: 'checkpoint signed', key: written.key, chains: written.count });
    } catch (error) {
      log({ level: 'error', message: 'checkpoint failed', error: error instanceof Error ? error.name : 'Error' });
    }
  };
  const checkpointInterval = options.checkpointIntervalMs ?? 600_000;
  const checkpointTimer = checkpointInterval > 0 ? setInterval(() => void checkpoint(), checkpointInterval) : undefined;
  checkpointTimer?.unref();

  return {
    url,
    port,
    app: application,
    workflow,
    mailer,
    devIssuer,
    simulator,
    settings,
    dynamo: { endpoint: dynamo.endpoint, tableName },
    idle: () => workflow.idle(),
    stop: async () => {
      if (timer) clearInterval(timer);
      if (checkpointTimer) clearInterval(checkpointTimer);
      await workflow.stop();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
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

/** The local route table, in the order API Gateway would match it. */
async function route(app: Application, mailer: OutboxMailer, devIssuer: DevIssuer, req: IncomingMessage, res: ServerResponse, log: (e: Record<string, unknown>) => void): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname;
  try {
    // Local-only routes: the outbox and the development issuer's keys.
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
    if (path === '/audit/export' && req.method === 'GET') {
      const streamed = await app.auditApi.streamExport(event);
      res.writeHead(streamed.statusCode, streamed.headers);
      for await (const chunk of streamed.body) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      res.end();
      return;
    }
    const handler: ApiHandler =
      path.startsWith('/audit/') || path === '/audit'
        ? app.auditApi
        : path.startsWith('/ops/') || path === '/ops'
          ? app.opsApi
          : path.startsWith('/console/') || path === '/console'
            ? app.console
            : app.publicApi;
    writeResult(res, await handler(event));
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      return send(res, 413, 'application/problem+json', JSON.stringify({ type: 'about:blank', title: 'Request body too large', status: 413 }), { connection: 'close' });
    }
    if (req.destroyed || (error as NodeJS.ErrnoException).code === 'ECONNRESET' || (error instanceof Error && error.message === 'aborted')) {
      // The client went away mid-request: nothing to answer, and nothing wrong on our side.
      log({ level: 'info', message: 'client aborted the request', path });
      res.destroy();
      return;
    }
    log({ level: 'error', message: 'unhandled error in local route', error: error instanceof Error ? error.name : 'Error' });
    if (!res.headersSent) send(res, 500, 'application/problem+json', JSON.stringify(INTERNAL_PROBLEM));
    else res.destroy();
  }
}
