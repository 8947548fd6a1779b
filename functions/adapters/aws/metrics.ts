/**
 * Custom CloudWatch metrics that alarms watch: `OverdueRequests` (the sweeper) and `CanaryFailed`
 * (the canary). Published with PutMetricData so the alarm sees the value even when it is 0.
 */
import { PutMetricDataCommand, type CloudWatchClient, type Dimension, type StandardUnit } from '@aws-sdk/client-cloudwatch';
import { awsCall } from './errors';

export const METRIC_NAMESPACE = 'ErasureDesk';

export interface PublishMetricOptions {
  /** Dimensions of the datum, e.g. `{ Stage: 'prod' }`. Never personal data. */
  dimensions?: Record<string, string>;
  /** When the value was measured, default now (CloudWatch's receipt time). */
  timestamp?: Date;
}

/**
 * Publishes one datum.
 * @throws RangeError when `value` is not a finite number or `name` is empty;
 *   AwsServiceUnavailableError (throttled, 5xx) or AwsServiceError when CloudWatch refuses it.
 */
export async function publishMetric(
  client: CloudWatchClient,
  namespace: typeof METRIC_NAMESPACE | (string & {}),
  name: string,
  value: number,
  unit: StandardUnit = 'Count',
  options: PublishMetricOptions = {},
): Promise<void> {
  if (!Number.isFinite(value)) throw new RangeError('A metric value must be a finite number');
  if (!name.trim() || !namespace.trim()) throw new RangeError('A metric needs a namespace and a name');
  const dimensions: Dimension[] = Object.entries(options.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value }));
  await awsCall('CloudWatch', 'PutMetricData', () =>
    client.send(
      new PutMetricDataCommand({
        Namespace: namespace,
        MetricData: [
          {
            MetricName: name,
            Value: value,
            Unit: unit,
            ...(dimensions.length > 0 ? { Dimensions: dimensions } : {}),
            ...(options.timestamp ? { Timestamp: options.timestamp } : {}),
          },
        ],
      }),
    ),
  );
}
