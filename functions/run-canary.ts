/** Schedule: judges the last canary erasure, publishes CanaryFailed, starts the next one. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { runCanaryOnAws } from './composition/run-canary';
import { METRIC_NAMESPACE, publishMetric } from './adapters/aws/metrics';
import { applicationLogger, powertoolsLogger } from './adapters/aws/logger';

const cloudWatch = new CloudWatchClient({});

export const handler = middy(async () => {
  const report = await (await runCanaryOnAws.get())();
  for (const canary of report.canaries) applicationLogger.info('canary', { ...canary });
  await publishMetric(cloudWatch, METRIC_NAMESPACE, 'CanaryFailed', report.failed);
  return report;
}).use(injectLambdaContext(powertoolsLogger));
