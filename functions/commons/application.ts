/**
 * The composition root: from the adapters of one runtime (AWS or local) to every handler of the
 * system. Lambda entries and the local runtime both call this, so they run the same wiring and
 * differ only in the adapters they pass in.
 */
import { createHmac } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { CallBudget } from '../domain/call-budget';
import type { KorePlatform } from '../domain/kore';
import type { RolePagingPolicy } from '../domain/role-paging';
import type { ErasureRequest, SnapshotInfo } from '../domain/model';
import type { Clock, Mailer, Signer, WorkflowStarter } from '../domain/ports';
import type { SubjectKeys } from '../domain/subject';
import { continueVerified, createNoticeSender, remindUnverified, submitOnBehalf, type IntakeDeps } from '../intake/use-cases';
import { createPublicApi } from '../intake/public-api-app';
import { createAuditApi, type AuditApi } from '../staff/audit-api-app';
import { withSessionRevocations, type StaffAuthenticator } from '../staff/auth';
import { createCheckpointReader, signCheckpoints, type CheckpointWriter } from '../staff/checkpoints';
import { ConfigurationError } from './config';
import { RETENTION_MARGIN_DAYS } from './dynamo/audit-store';
import { createConsole } from '../staff/console-app';
import { createOpsApi } from '../staff/ops-api-app';
import { silentLogger, staffLoggerOver } from '../staff/http';
import { checkErasureStatus, recordOutcome, submitErasure, type ErasureTaskDeps } from '../workflow/erasure-tasks';
import { refreshRolesSnapshot } from '../workflow/refresh-roles-snapshot';
import { pageRolesSnapshot, type RolePagingReport } from '../workflow/page-roles-snapshot';
import { SnapshotPendingError } from '../workflow/errors';
import { runCanary, type CanaryReport } from '../workflow/run-canary';
import { sweepRequests, type SweepReport } from '../workflow/sweep-requests';
import { runTask, type TaskFailureLog } from '../workflow/task-errors';
import { parseWorkflowState, type RecordOutcomeInput, type WorkflowState } from '../workflow/workflow-state';
import type { WorkflowSettings } from './config';
import type { DynamoAdapters } from './dynamo/adapters';
import { staffApiPaths } from './openapi';
import type { SiteInfo } from '../intake/notices';

export interface ApplicationAdapters extends DynamoAdapters {
  kore: KorePlatform;
  /** The deployment's shared Kore.ai call budget; absent where nothing calls Kore.ai (or in tests: unlimited). */
  budget?: CallBudget;
  /** The paced roles refresh (cadence and run length); absent: the snapshot is refreshed in one go. */
  rolePaging?: { policy: RolePagingPolicy; runMs: number };
  mailer: Mailer;
  /** Signs erasure receipts (typ `erasure-receipt+jws`) with the receipt key, and only those. */
  receiptSigner: Signer;
  /**
   * The checkpoint key (typ `audit-checkpoint+jws`): signs checkpoints where this runtime may, and
   * verifies them everywhere the chain is checked.
   */
  checkpointSigner: Signer;
  workflow: WorkflowStarter;
  /** The checkpoint store; absent where none is configured (chain checks then say so). */
  checkpointWriter?: CheckpointWriter;
  /** Record retention (days) of the store's TTL: chains past it are no longer checkpointed. */
  recordRetentionDays?: number;
  staffAuth: StaffAuthenticator;
  clock: Clock;
  subjectKeys: SubjectKeys;
  linkKey: Uint8Array;
  publicBaseUrl: string;
  settings: WorkflowSettings;
  site?: Partial<SiteInfo>;
  log?: (entry: Record<string, unknown>) => void;
  /**
   * Rebuilds the roles snapshot for the ops actions (API and console) somewhere else than in this
   * process. In AWS the refresh-roles-snapshot function does it, so the internet-facing functions
   * hold neither the Kore.ai credentials nor batch writes; absent (locally), they refresh in-process.
   */
  rolesRefresh?: () => Promise<SnapshotInfo>;
}

export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export interface Application {
  publicApi: HttpHandler;
  auditApi: AuditApi;
  opsApi: HttpHandler;
  console: HttpHandler;
  tasks: {
    submitErasure(input: unknown): Promise<WorkflowState>;
    checkErasureStatus(input: unknown): Promise<WorkflowState>;
    recordOutcome(input: unknown): Promise<{ recorded: boolean; status?: string }>;
  };
  sweep(stuckAfterSeconds?: number): Promise<SweepReport>;
  refreshRolesSnapshot: () => ReturnType<typeof refreshRolesSnapshot>;
  /** One scheduled run of the paced refresh: continues the refresh under way, or starts one when due. */
  pageRolesSnapshot(options?: { onDemand?: boolean }): Promise<RolePagingReport>;
  signCheckpoints: () => ReturnType<typeof signCheckpoints>;
  runCanary(canary: { userId: string; botIds: string[] }): Promise<CanaryReport>;
}

export function composeApplication(a: ApplicationAdapters): Application {
  const intake: IntakeDeps = {
    store: a.store,
    claims: a.claims,
    tokens: a.tokens,
    rateLimiter: a.rateLimiter,
    mailer: a.mailer,
    signer: a.receiptSigner,
    snapshots: a.snapshots,
    workflow: a.workflow,
    clock: a.clock,
    subjectKeys: a.subjectKeys,
    linkKey: a.linkKey,
    publicBaseUrl: a.publicBaseUrl,
    limits: {
      ...(a.settings.intakeStaleClaimSeconds !== undefined ? { staleClaimSeconds: a.settings.intakeStaleClaimSeconds } : {}),
      ...(a.settings.verificationResendSeconds !== undefined ? { resendAfterSeconds: a.settings.verificationResendSeconds } : {}),
    },
    ...(a.site ? { site: a.site } : {}),
    ...(a.log ? { log: a.log } : {}),
    extraOpenApiPaths: staffApiPaths(),
  };
  const notices = createNoticeSender(intake);
  const taskLog: TaskFailureLog | undefined = a.log ? (entry) => a.log!(entry) : undefined;
  const taskDeps: ErasureTaskDeps = {
    store: a.store,
    snapshots: a.snapshots,
    kore: a.kore,
    claims: a.claims,
    notices,
    clock: a.clock,
    subjectKeys: a.subjectKeys,
    poll: a.settings.poll,
    snapshotMaxAgeSeconds: a.settings.snapshotMaxAgeSeconds,
    ...(a.budget ? { budget: a.budget } : {}),
  };
  const rolePaging = a.rolePaging;
  const page = (options: { onDemand?: boolean } = {}): Promise<RolePagingReport> => {
    if (!rolePaging) return refreshRolesSnapshot({ kore: a.kore, snapshots: a.snapshots, subjectKeys: a.subjectKeys, clock: a.clock }).then((info) => ({ outcome: 'published', current: info, pagesThisRun: 0 }));
    return pageRolesSnapshot(
      { kore: a.kore, snapshots: a.snapshots, cursors: a.refreshCursors, ...(a.budget ? { budget: a.budget } : {}), subjectKeys: a.subjectKeys, clock: a.clock, ...rolePaging },
      options,
    );
  };
  // On demand: a refresh starts now (or the one under way goes on) and pages for one run; the
  // answer is the snapshot current after it (the new one when the run finished the paging).
  const refresh = async () => {
    const report = await page({ onDemand: true });
    if (!report.current) throw new SnapshotPendingError('The first roles snapshot is still being paged');
    return report.current;
  };
  // The HTTP parts are built on first use: a function only touches the keys and adapters of what
  // it serves (sign-checkpoints, which holds no app secret, never builds the staff apps).
  const checkpointWriter = a.checkpointWriter;
  const checkpoints = once(() =>
    checkpointWriter ? createCheckpointReader({ store: checkpointWriter, verifier: a.checkpointSigner, clock: a.clock, ...(a.log ? { log: a.log } : {}) }) : undefined,
  );
  const auditDeps = once(() => {
    const reader = checkpoints();
    return { store: a.store, clock: a.clock, subjectHashKey: a.subjectKeys.hmacKey, ...(reader ? { checkpoints: reader } : {}) };
  });
  // Every staff route refuses a signed-out session, and logs its failures and actions.
  const staffAuth = once(() => withSessionRevocations(a.staffAuth, a.sessionRevocations));
  const staffLogger = a.log ? staffLoggerOver(a.log) : silentLogger;
  const opsDeps = once(() => ({
    ...auditDeps(),
    auth: staffAuth(),
    workflow: a.workflow,
    snapshots: a.snapshots,
    refreshRolesSnapshot: a.rolesRefresh ?? refresh,
    notifySubject: (request: ErasureRequest, _kind: 'extended', details: { reason: string }) => notices.notifyExtension(request, details.reason),
    stuckAfterMs: a.settings.stuckAfterSeconds * 1000,
  }));
  const publicApi = once(() => createPublicApi(intake));
  const auditApi = once(() => createAuditApi({ ...auditDeps(), auth: staffAuth(), logger: staffLogger }));
  const opsApi = once(() =>
    createOpsApi({
      ...opsDeps(),
      logger: staffLogger,
      submitOnBehalf: async (body, actor) => ({ ...(await submitOnBehalf(intake, body, actor as `staff:${string}`)) }),
    }),
  );
  const staffConsole = once(() =>
    createConsole({
      ...opsDeps(),
      // Its own key, derived from the link key, so console and form CSRF tokens never stand in for each other.
      csrfKey: createHmac('sha256', a.linkKey).update('erasure-desk console csrf v1').digest(),
      sessions: a.sessionRevocations,
      logger: staffLogger,
    }),
  );

  return {
    get publicApi() {
      return publicApi();
    },
    get auditApi() {
      return auditApi();
    },
    get opsApi() {
      return opsApi();
    },
    get console() {
      return staffConsole();
    },
    // Whatever a task throws reaches Step Functions as its name only (see workflow/task-errors).
    tasks: {
      submitErasure: (input) => runTask('SubmitErasure', input, async () => submitErasure(taskDeps, parseWorkflowState(input)), taskLog),
      checkErasureStatus: (input) => runTask('CheckStatus', input, async () => checkErasureStatus(taskDeps, parseWorkflowState(input)), taskLog),
      recordOutcome: (input) =>
        runTask(
          'RecordOutcome',
          input,
          async () => {
            const i = input as RecordOutcomeInput;
            return recordOutcome(taskDeps, { ...i, state: parseWorkflowState(i.state ?? { requestId: i.requestId, attempt: i.attempt }) });
          },
          taskLog,
        ),
    },
    sweep: (stuckAfterSeconds = a.settings.stuckAfterSeconds) =>
      sweepRequests({
        store: a.store,
        workflow: a.workflow,
        claims: a.claims,
        clock: a.clock,
        continueVerified: (requestId) => continueVerified(intake, requestId),
        remindUnverified: (requestId) => remindUnverified(intake, requestId),
        stuckAfterSeconds,
        verificationTtlSeconds: a.settings.verificationTtlSeconds,
        receivedStaleSeconds: a.settings.receivedStaleSeconds,
        // Failed sweep steps are logged by request id, status and error name (never personal data).
        ...(a.log ? { log: (message: string, fields: Record<string, unknown>) => a.log!({ level: 'warn', message, ...fields }) } : {}),
      }),
    refreshRolesSnapshot: refresh,
    pageRolesSnapshot: page,
    signCheckpoints: async () => {
      if (!checkpointWriter || !checkpoints()) throw new ConfigurationError('This function is not configured for checkpoints (CHECKPOINT_BUCKET)');
      return signCheckpoints(
        {
          store: a.store,
          signer: a.checkpointSigner,
          writer: checkpointWriter,
          reader: checkpoints()!,
          ...(a.recordRetentionDays !== undefined ? { expireAfterDays: a.recordRetentionDays + RETENTION_MARGIN_DAYS } : {}),
          ...(a.log ? { log: a.log } : {}),
        },
        a.clock.now(),
      );
    },
    runCanary: (canary) =>
      runCanary({ store: a.store, claims: a.claims, workflow: a.workflow, clock: a.clock, subjectKeys: a.subjectKeys, canaryUserId: canary.userId, canaryBotIds: canary.botIds }),
  };
}

/** `build` run on the first call only; later calls return its result. */
function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}
