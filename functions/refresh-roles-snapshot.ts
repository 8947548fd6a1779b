/** Schedule: rebuilds the privileged-identity snapshot from Kore.ai's user roles. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { refreshRolesSnapshotOnAws } from './composition/refresh-roles-snapshot';
import { logger } from './adapters/aws/logger';

export const handler = middy(async () => {
  const info = await (await refreshRolesSnapshotOnAws.get())();
  logger.info('roles snapshot refreshed', { version: info.version, users: info.userCount, identities: info.identityCount });
  return info;
}).use(injectLambdaContext(logger));
