/** Lambda entry: the public intake (form, submissions, verification link, status page). */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { publicApiOnAws } from './composition/public-api';
import { powertoolsLogger } from './adapters/aws/logger';

export const handler = middy(async (event: APIGatewayProxyEventV2) => (await publicApiOnAws.get())(event)).use(injectLambdaContext(powertoolsLogger));
