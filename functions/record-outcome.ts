/** Step Functions tasks Record*: the single place where an attempt ends. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { recordOutcomeOnAws } from './composition/record-outcome';
import { powertoolsLogger } from './adapters/aws/logger';

export const handler = middy(async (input: unknown) => (await recordOutcomeOnAws.get())(input)).use(injectLambdaContext(powertoolsLogger));
