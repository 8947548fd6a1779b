/**
 * Wiring of the refresh-roles-snapshot function: on its schedule one run of the paced refresh
 * (within the call budget, resumed across runs); on demand a refresh that starts now and answers
 * the snapshot current after its run.
 */
import { SnapshotPendingError } from '../domain/errors';
import type { SnapshotInfo } from '../domain/model';
import { pageRolesSnapshot, type RolePagingReport } from '../workflow/page-roles-snapshot';
import { refreshRolesSnapshot } from '../workflow/refresh-roles-snapshot';
import type { ApplicationAdapters } from './adapters';
import { awsFunction } from './aws/environment';
import { koreWithBudgetFrom } from './aws/kore';
import { appKeysFrom } from './aws/secrets';

export type RolesRefreshAdapters = Pick<ApplicationAdapters, 'kore' | 'snapshots' | 'subjectKeys' | 'clock' | 'refreshCursors' | 'budget' | 'rolePaging'>;

export interface RolesRefresh {
  /** One scheduled run: continues the refresh under way, or starts one when due. */
  page(options?: { onDemand?: boolean }): Promise<RolePagingReport>;
  /** On demand: a refresh starts now (or the one under way goes on) for one run. @throws SnapshotPendingError when no complete snapshot exists after it. */
  refresh(): Promise<SnapshotInfo>;
}

export function composeRolesRefresh(a: RolesRefreshAdapters): RolesRefresh {
  const rolePaging = a.rolePaging;
  const page = (options: { onDemand?: boolean } = {}): Promise<RolePagingReport> => {
    // Without a paging policy (tests, tools) the snapshot is refreshed in one go.
    if (!rolePaging) return refreshRolesSnapshot({ kore: a.kore, snapshots: a.snapshots, subjectKeys: a.subjectKeys, clock: a.clock }).then((info) => ({ outcome: 'published', current: info, pagesThisRun: 0 }));
    return pageRolesSnapshot({ kore: a.kore, snapshots: a.snapshots, cursors: a.refreshCursors, ...(a.budget ? { budget: a.budget } : {}), subjectKeys: a.subjectKeys, clock: a.clock, ...rolePaging }, options);
  };
  return {
    page,
    async refresh() {
      const report = await page({ onDemand: true });
      if (!report.current) throw new SnapshotPendingError('The first roles snapshot is still being paged');
      return report.current;
    },
  };
}

/** The on-demand refresh alone (the whole-system composition and the ops fallback use it). */
export function composeRefreshRolesSnapshot(a: RolesRefreshAdapters): () => Promise<SnapshotInfo> {
  const roles = composeRolesRefresh(a);
  return () => roles.refresh();
}

/** The function in AWS: table, app keys (subject hashes), Kore.ai with the call budget. */
export const refreshRolesSnapshotOnAws = awsFunction('refresh-roles-snapshot', async (base, env) => composeRolesRefresh({ ...base, ...(await appKeysFrom(env)), ...(await koreWithBudgetFrom(env, base)) }));
