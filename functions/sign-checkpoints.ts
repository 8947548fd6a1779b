/** Schedule: signs the heads of all audit chains into the Object Lock bucket. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { awsApplication } from './commons/aws-application';
import { logger } from './commons/logger';

export const handler = middy(async () => {
  const written = await (await awsApplication('sign-checkpoints')).signCheckpoints();
  logger.info('checkpoint signed', { key: written.key, chains: written.count });
  return written;
}).use(injectLambdaContext(logger));
