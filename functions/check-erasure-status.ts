/** Step Functions task CheckStatus: polls the Kore.ai job and decides the next wait. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { awsApplication } from './composition/aws-application';
import { logger } from './adapters/aws/logger';

export const handler = middy(async (input: unknown) => (await awsApplication('check-erasure-status')).tasks.checkErasureStatus(input)).use(injectLambdaContext(logger));
