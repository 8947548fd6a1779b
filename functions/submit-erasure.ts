/** Step Functions task SubmitErasure: sends the DELETE once for the attempt (errors reach Retry/Catch by name). */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { submitErasureOnAws } from './composition/submit-erasure';
import { powertoolsLogger } from './adapters/aws/logger';

export const handler = middy(async (input: unknown) => (await submitErasureOnAws.get())(input)).use(injectLambdaContext(powertoolsLogger));
