/**
 * Schedule: restarts stuck requests, expires unverified ones, publishes the overdue count.
 *
 * The scheduled event carries nothing the sweep reads. Invoked by hand with
 * `{"stuckAfterSeconds": 0}` (e.g. after an outage), it treats every active request without a
 * running execution as stuck at once instead of after STUCK_AFTER_SECONDS.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { sweepOnAws } from './composition/sweep-requests';
import { METRIC_NAMESPACE, publishMetric } from './adapters/aws/metrics';
import { applicationLogger, powertoolsLogger } from './adapters/aws/logger';

const cloudWatch = new CloudWatchClient({});

/** The manual override, when the event has a valid one (anything else is the scheduled sweep). */
function stuckAfterOverride(event: unknown): number | undefined {
  const value = (event as { stuckAfterSeconds?: unknown } | null)?.stuckAfterSeconds;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 86_400 ? value : undefined;
}

export const handler = middy(async (event: unknown) => {
  const report = await (await sweepOnAws.get())(stuckAfterOverride(event));
  applicationLogger.info('sweep', { ...report });
  await publishMetric(cloudWatch, METRIC_NAMESPACE, 'OverdueRequests', report.overdue);
  return report;
}).use(injectLambdaContext(powertoolsLogger));
