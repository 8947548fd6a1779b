/**
 * Refresh of the privileged-identity snapshot from Kore.ai's user roles. On its schedule (every
 * 5 minutes) one run of the paced refresh: it continues the refresh under way or starts one when
 * due, within the call budget. Invoked on demand (the ops API and console), it starts a refresh
 * now and answers the snapshot current after the run.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { refreshRolesSnapshotOnAws } from './composition/refresh-roles-snapshot';
import { applicationLogger, powertoolsLogger } from './adapters/aws/logger';

const isScheduled = (event: unknown) => (event as { source?: unknown } | null)?.source === 'aws.events';

export const handler = middy(async (event: unknown) => {
  const roles = await refreshRolesSnapshotOnAws.get();
  if (isScheduled(event)) {
    const report = await roles.page();
    applicationLogger.info('roles snapshot paging', {
      outcome: report.outcome,
      pages: report.pagesThisRun,
      ...(report.cursor ? { offset: report.cursor.offset, total: report.cursor.total } : {}),
      ...(report.current ? { version: report.current.version, users: report.current.userCount } : {}),
      ...(report.stoppedBy ? { stoppedBy: report.stoppedBy } : {}),
    });
    return report;
  }
  const info = await roles.refresh();
  applicationLogger.info('roles snapshot refreshed', { version: info.version, users: info.userCount, identities: info.identityCount });
  return info;
}).use(injectLambdaContext(powertoolsLogger));
