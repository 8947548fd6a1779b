/** Wiring of the refresh-roles-snapshot function. */
import type { SnapshotInfo } from '../domain/model';
import { refreshRolesSnapshot } from '../workflow/refresh-roles-snapshot';
import type { ApplicationAdapters } from './adapters';
import { awsFunction } from './aws/environment';
import { koreFrom } from './aws/kore';
import { appKeysFrom } from './aws/secrets';

export function composeRefreshRolesSnapshot(a: Pick<ApplicationAdapters, 'kore' | 'snapshots' | 'subjectKeys' | 'clock'>): () => Promise<SnapshotInfo> {
  return () => refreshRolesSnapshot({ kore: a.kore, snapshots: a.snapshots, subjectKeys: a.subjectKeys, clock: a.clock });
}

/** The function in AWS: table, app keys (subject hashes), Kore.ai. */
export const refreshRolesSnapshotOnAws = awsFunction('refresh-roles-snapshot', async (base, env) => composeRefreshRolesSnapshot({ ...base, ...(await appKeysFrom(env)), kore: await koreFrom(env) }));
