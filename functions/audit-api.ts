/** Lambda entry: the read-only auditor API. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { auditApiOnAws } from './composition/audit-api';
import { powertoolsLogger } from './adapters/aws/logger';

export const handler = middy(async (event: APIGatewayProxyEventV2) => (await auditApiOnAws.get())(event)).use(injectLambdaContext(powertoolsLogger));
