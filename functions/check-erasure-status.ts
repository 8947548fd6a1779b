/** Step Functions task CheckStatus: polls the Kore.ai job and decides the next wait. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { checkErasureStatusOnAws } from './composition/check-erasure-status';
import { powertoolsLogger } from './adapters/aws/logger';

export const handler = middy(async (input: unknown) => (await checkErasureStatusOnAws.get())(input)).use(injectLambdaContext(powertoolsLogger));
