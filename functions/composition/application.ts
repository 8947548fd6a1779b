/**
 * The whole system in one process, from the adapters of one runtime: every function's wiring
 * (the per-function modules of this folder) behind one object. Tests and the bench use it; a
 * Lambda entry never does (it builds its own function only, see `aws/`).
 */
import type { refreshRolesSnapshot } from '../workflow/refresh-roles-snapshot';
import type { RolePagingReport } from '../workflow/page-roles-snapshot';
import type { CanaryReport } from '../workflow/run-canary';
import type { SweepReport } from '../workflow/sweep-requests';
import type { WorkflowState } from '../workflow/workflow-state';
import type { AuditApi } from '../adapters/http/staff/audit-api';
import type { signCheckpoints } from '../staff/checkpoints';
import { once, type ApplicationAdapters, type HttpHandler } from './adapters';
import { composeAuditApi } from './audit-api';
import { composeConsole } from './console';
import { composeCheckErasureStatus } from './check-erasure-status';
import { composeRecordOutcome } from './record-outcome';
import { composeSubmitErasure } from './submit-erasure';
import { composeOpsApi } from './ops-api';
import { composePublicApi } from './public-api';
import { composeRolesRefresh } from './refresh-roles-snapshot';
import { composeRunCanary } from './run-canary';
import { composeSignCheckpoints } from './sign-checkpoints';
import { composeSweep } from './sweep-requests';

export type { ApplicationAdapters, HttpHandler } from './adapters';

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
  // Each part is built on first use: a runtime only touches the keys and adapters of what it serves.
  const publicApi = once(() => composePublicApi(a));
  const auditApi = once(() => composeAuditApi(a));
  const opsApi = once(() => composeOpsApi(a));
  const staffConsole = once(() => composeConsole(a));
  const submit = once(() => composeSubmitErasure(a));
  const check = once(() => composeCheckErasureStatus(a));
  const record = once(() => composeRecordOutcome(a));
  const sweep = once(() => composeSweep(a));
  const sign = once(() => composeSignCheckpoints(a));
  const roles = composeRolesRefresh(a);
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
    tasks: {
      submitErasure: (input) => submit()(input),
      checkErasureStatus: (input) => check()(input),
      recordOutcome: (input) => record()(input),
    },
    sweep: (stuckAfterSeconds) => sweep()(stuckAfterSeconds),
    refreshRolesSnapshot: () => roles.refresh(),
    pageRolesSnapshot: (options) => roles.page(options),
    signCheckpoints: () => sign()(),
    runCanary: composeRunCanary(a),
  };
}
