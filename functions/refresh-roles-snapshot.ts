/** Schedule: rebuilds the privileged-identity snapshot from Kore.ai's user roles. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { awsApplication } from './composition/aws-application';
import { logger } from './adapters/aws/logger';

export const handler = middy(async () => {
  const info = await (await awsApplication('refresh-roles-snapshot')).refreshRolesSnapshot();
  logger.info('roles snapshot refreshed', { version: info.version, users: info.userCount, identities: info.identityCount });
  return info;
}).use(injectLambdaContext(logger));
