/** Step Functions tasks Record*: the single place where an attempt ends. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { awsApplication } from './composition/aws-application';
import { logger } from './adapters/aws/logger';

export const handler = middy(async (input: unknown) => (await awsApplication('record-outcome')).tasks.recordOutcome(input)).use(injectLambdaContext(logger));
