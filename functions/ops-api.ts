/** Lambda entry: the ops API (retry, cancel, re-check, extend, submit on behalf, roles refresh). */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { opsApiOnAws } from './composition/ops-api';
import { powertoolsLogger } from './adapters/aws/logger';

export const handler = middy(async (event: APIGatewayProxyEventV2) => (await opsApiOnAws.get())(event)).use(injectLambdaContext(powertoolsLogger));
