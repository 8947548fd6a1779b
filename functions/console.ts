/** Lambda entry: the auditor and ops console (server-rendered HTML; authenticates the staff token itself). */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { consoleOnAws } from './composition/console';
import { powertoolsLogger } from './adapters/aws/logger';

export const handler = middy(async (event: APIGatewayProxyEventV2) => (await consoleOnAws.get())(event)).use(injectLambdaContext(powertoolsLogger));
