/** Schedule: judges the last canary erasure, publishes CanaryFailed, starts the next one. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { awsApplication } from './commons/aws-application';
import { METRIC_NAMESPACE, publishMetric } from './commons/aws/metrics';
import { getStringFromEnv } from './commons/config';
import { logger } from './commons/logger';

const cloudWatch = new CloudWatchClient({});

export const handler = middy(async () => {
  const report = await (await awsApplication()).runCanary({
    userId: getStringFromEnv('CANARY_USER_ID'),
    botIds: getStringFromEnv('CANARY_BOT_IDS').split(',').map((id) => id.trim()).filter(Boolean),
  });
  logger.info('canary', { previous: report.previous, previousRequestId: report.previousRequestId, startedRequestId: report.startedRequestId });
  await publishMetric(cloudWatch, METRIC_NAMESPACE, 'CanaryFailed', report.previous === 'failed' ? 1 : 0);
  return report;
}).use(injectLambdaContext(logger));
