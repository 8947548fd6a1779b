/**
 * Refreshing the privileged-identity snapshot in one go (tools, benchmarks, compositions without
 * a cursor store; the deployed refresh pages within the call budget: page-roles-snapshot.ts):
 * page through the account's user-roles once,
 * keep only the HMACs of privileged identities with their rules and bots, and the ids of the
 * account's bots, and publish it as the new current snapshot. Runs on a schedule and on demand — never inside a subject's request.
 */
import type { KorePlatform } from '../domain/kore';
import type { PrivilegedIdentity, SnapshotInfo } from '../domain/model';
import type { Clock } from '../domain/ports';
import { PrivilegedIdentityIndex } from '../domain/privileged-identities';
import { hashSubject, type SubjectKeys } from '../domain/subject';
import { pageUserRoles } from '../domain/user-roles-pager';

/** Where a finished snapshot goes (the store's write side): the identities and the account's bot ids. */
export interface SnapshotWriter {
  writeSnapshot(version: string, info: SnapshotInfo, identities: Iterable<PrivilegedIdentity>, botIds?: Iterable<string>, options?: { publish?: boolean }): Promise<unknown>;
}

export interface RefreshSnapshotDeps {
  kore: KorePlatform;
  snapshots: SnapshotWriter;
  subjectKeys: SubjectKeys;
  clock: Clock;
}

/**
 * Builds and publishes a new snapshot; returns what it published.
 * @throws whatever the Kore.ai client or the store throws (the current snapshot stays in place).
 */
export async function refreshRolesSnapshot(deps: RefreshSnapshotDeps): Promise<SnapshotInfo> {
  const takenAt = deps.clock.now();
  const index = new PrivilegedIdentityIndex((id) => hashSubject(id, deps.subjectKeys.hmacKey));
  for await (const page of pageUserRoles(deps.kore)) index.add(page.users);
  const info: SnapshotInfo = {
    version: `${takenAt.toISOString().replace(/[-:.]/g, '')}-${Math.random().toString(36).slice(2, 8)}`,
    takenAt: takenAt.toISOString(),
    userCount: index.userCount,
    identityCount: index.size,
    botCount: index.botCount,
  };
  await deps.snapshots.writeSnapshot(info.version, info, index.values(), index.botIds());
  return info;
}
