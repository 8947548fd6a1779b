/** Schedule: reads completed erasures back from Kore.ai's Sessions History and records verified, data-found or not-verified; publishes ErasureDataFound. */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { verifyErasuresOnAws } from './composition/verify-erasures';
import { METRIC_NAMESPACE, publishMetric } from './adapters/aws/metrics';
import { applicationLogger, powertoolsLogger } from './adapters/aws/logger';

const cloudWatch = new CloudWatchClient({});

export const handler = middy(async () => {
  const report = await (await verifyErasuresOnAws.get())();
  applicationLogger.info('verification run', { ...report });
  // One data point every run, 0 included, so the alarm sees a metric that exists.
  await publishMetric(cloudWatch, METRIC_NAMESPACE, 'ErasureDataFound', report.dataFound);
  return report;
}).use(injectLambdaContext(powertoolsLogger));
