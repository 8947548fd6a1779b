/** What the staff functions (audit API, ops API, console) share: auth with revocations, the checkpoint reader, the logger, the ops deps. */
import type { ErasureRequest } from '../domain/model';
import { withSessionRevocations, type StaffAuthenticator } from '../adapters/http/staff/auth';
import type { AuditDeps } from '../staff/audit-deps';
import { createCheckpointReader } from '../staff/checkpoints';
import type { OpsDeps } from '../staff/ops-deps';
import { refreshRolesSnapshot } from '../workflow/refresh-roles-snapshot';
import type { ApplicationAdapters } from './adapters';
import { noticesOf, type IntakeAdapters } from './intake';

export type AuditAdapters = Pick<ApplicationAdapters, 'store' | 'clock' | 'subjectKeys' | 'checkpointWriter' | 'checkpointSigner' | 'logger'>;

/** The audit use cases' deps; the chain is checked against the signed checkpoints where a store is configured. */
export function auditDepsOf(a: AuditAdapters): AuditDeps {
  const reader = a.checkpointWriter
    ? createCheckpointReader({ store: a.checkpointWriter, verifier: a.checkpointSigner, clock: a.clock, logger: a.logger })
    : undefined;
  return { store: a.store, clock: a.clock, subjectHashKey: a.subjectKeys.hmacKey, ...(reader ? { checkpoints: reader } : {}) };
}

/** Every staff route refuses a signed-out session. */
export function staffAuthOf(a: Pick<ApplicationAdapters, 'staffAuth' | 'sessionRevocations'>): StaffAuthenticator {
  return withSessionRevocations(a.staffAuth, a.sessionRevocations);
}

export type OpsAdapters = AuditAdapters & IntakeAdapters & Pick<ApplicationAdapters, 'staffAuth' | 'sessionRevocations' | 'kore' | 'rolesRefresh'>;

export function opsDepsOf(a: OpsAdapters): OpsDeps & { auth: StaffAuthenticator } {
  const notices = noticesOf(a);
  return {
    ...auditDepsOf(a),
    auth: staffAuthOf(a),
    workflow: a.workflow,
    snapshots: a.snapshots,
    refreshRolesSnapshot: a.rolesRefresh ?? (() => refreshRolesSnapshot({ kore: a.kore, snapshots: a.snapshots, subjectKeys: a.subjectKeys, clock: a.clock })),
    notifySubject: (request: ErasureRequest, _kind: 'extended', details: { reason: string }) => notices.notifyExtension(request, details.reason),
    stuckAfterMs: a.settings.stuckAfterSeconds * 1000,
  };
}
