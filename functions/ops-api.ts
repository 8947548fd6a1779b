/** Lambda entry: the ops API (retry, cancel, re-check, extend, submit on behalf, roles refresh). */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { awsApplication } from './composition/aws-application';
import { logger } from './adapters/aws/logger';

export const handler = middy(async (event: APIGatewayProxyEventV2) => (await awsApplication('ops-api')).opsApi(event)).use(injectLambdaContext(logger));
