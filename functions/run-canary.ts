/** Schedule: judges the last canary erasure, publishes CanaryFailed, starts the next one. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { runCanaryOnAws } from './composition/run-canary';
import { METRIC_NAMESPACE, publishMetric } from './adapters/aws/metrics';
import { getStringFromEnv } from './adapters/env/settings';
import { logger } from './adapters/aws/logger';
import { ENV } from './adapters/env/variables';

const cloudWatch = new CloudWatchClient({});

export const handler = middy(async () => {
  const report = await (await runCanaryOnAws.get())({
    userId: getStringFromEnv(ENV.CANARY_USER_ID),
    botIds: getStringFromEnv(ENV.CANARY_BOT_IDS).split(',').map((id) => id.trim()).filter(Boolean),
  });
  for (const canary of report.canaries) logger.info('canary', { ...canary });
  await publishMetric(cloudWatch, METRIC_NAMESPACE, 'CanaryFailed', report.failed);
  return report;
}).use(injectLambdaContext(logger));
