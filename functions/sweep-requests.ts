/** Schedule: restarts stuck requests, expires unverified ones, publishes the overdue count. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { awsApplication } from './commons/aws-application';
import { METRIC_NAMESPACE, publishMetric } from './commons/aws/metrics';
import { logger } from './commons/logger';

const cloudWatch = new CloudWatchClient({});

export const handler = middy(async () => {
  const report = await (await awsApplication('sweep-requests')).sweep();
  logger.info('sweep', { ...report });
  await publishMetric(cloudWatch, METRIC_NAMESPACE, 'OverdueRequests', report.overdue);
  return report;
}).use(injectLambdaContext(logger));
