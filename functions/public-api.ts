/** Lambda entry: the public intake (form, submissions, verification link, status page). */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { awsApplication } from './composition/aws-application';
import { logger } from './adapters/aws/logger';

export const handler = middy(async (event: APIGatewayProxyEventV2) => (await awsApplication('public-api')).publicApi(event)).use(injectLambdaContext(logger));
