/** Step Functions task SubmitErasure: sends the DELETE once for the attempt (errors reach Retry/Catch by name). */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { awsApplication } from './composition/aws-application';
import { logger } from './adapters/aws/logger';

export const handler = middy(async (input: unknown) => (await awsApplication('submit-erasure')).tasks.submitErasure(input)).use(injectLambdaContext(logger));
