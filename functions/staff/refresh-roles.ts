/** Use case: ops ask for a new roles snapshot now. */
import type { Actor, SnapshotInfo } from '../domain/model';
import { silentLogger } from '../domain/ports';
import { OpsDeps } from './ops-deps';

/**
 * Rebuilds the roles snapshot now. Not tied to one request, so it is logged (actor, snapshot
 * version) rather than chained. The reason is free text staff type — it may name a person — so the
 * log says only whether one was given.
 * @throws whatever the refresh throws (→ 500/503 at the edge).
 */
export async function refreshRoles(deps: OpsDeps, actor: Actor, reason: string | undefined): Promise<{ snapshot: SnapshotInfo; snapshotAgeSeconds: number }> {
  const why = (reason ?? '').trim() || 'on demand';
  const snapshot = await deps.refreshRolesSnapshot();
  (deps.logger ?? silentLogger).info('roles snapshot refreshed', { actor, reasonGiven: why !== 'on demand', version: snapshot.version, identityCount: snapshot.identityCount });
  const age = Math.max(0, Math.floor((deps.clock.now().getTime() - Date.parse(snapshot.takenAt)) / 1000));
  return { snapshot, snapshotAgeSeconds: age };
}
