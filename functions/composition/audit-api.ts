/** Wiring of the audit-api function: the read-only auditor routes. */
import { createAuditApi, type AuditApi } from '../adapters/http/staff/audit-api';
import type { ApplicationAdapters } from './adapters';
import { auditDepsOf, staffAuthOf, type AuditAdapters } from './staff';
import { checkpointsFrom } from './aws/checkpoints';
import { awsFunction } from './aws/environment';
import { appKeysFrom } from './aws/secrets';
import { staffAuthFrom } from './aws/staff';

export function composeAuditApi(a: AuditAdapters & Pick<ApplicationAdapters, 'staffAuth' | 'sessionRevocations'>): AuditApi {
  return createAuditApi({ ...auditDepsOf(a), auth: staffAuthOf(a), logger: a.logger });
}

/** The function in AWS: table, app keys (subject hashes), checkpoints, staff tokens. */
export const auditApiOnAws = awsFunction('audit-api', async (base, env) =>
  composeAuditApi({ ...base, ...(await appKeysFrom(env)), ...(await checkpointsFrom(env)), staffAuth: staffAuthFrom(env) }),
);
