import { CloudWatchClient, CloudWatchServiceException, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsServiceError, AwsServiceUnavailableError } from '../../../../functions/adapters/aws/errors';
import { METRIC_NAMESPACE, publishMetric } from '../../../../functions/adapters/aws/metrics';

const cw = mockClient(CloudWatchClient);
const newClient = () => new CloudWatchClient({ region: 'eu-west-1' });

afterEach(() => {
  cw.reset();
});

describe('publishMetric', () => {
  it('publishes one Count datum in the ErasureDesk namespace', async () => {
    // Prepare
    cw.on(PutMetricDataCommand).resolves({});

    // Act
    await publishMetric(newClient(), METRIC_NAMESPACE, 'OverdueRequests', 3);

    // Assess
    const calls = cw.commandCalls(PutMetricDataCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      Namespace: 'ErasureDesk',
      MetricData: [{ MetricName: 'OverdueRequests', Value: 3, Unit: 'Count' }],
    });
  });

  it('publishes a zero, so an alarm sees the metric recover', async () => {
    // Prepare
    cw.on(PutMetricDataCommand).resolves({});

    // Act
    await publishMetric(newClient(), 'ErasureDesk', 'CanaryFailed', 0);

    // Assess
    expect(cw.commandCalls(PutMetricDataCommand)[0]!.args[0].input.MetricData).toEqual([{ MetricName: 'CanaryFailed', Value: 0, Unit: 'Count' }]);
  });

  it('passes another unit, dimensions and a timestamp when given', async () => {
    // Prepare
    cw.on(PutMetricDataCommand).resolves({});
    const at = new Date('2025-06-01T12:00:00Z');

    // Act
    await publishMetric(newClient(), 'ErasureDesk', 'SweepDuration', 1250, 'Milliseconds', { dimensions: { Stage: 'prod' }, timestamp: at });

    // Assess
    expect(cw.commandCalls(PutMetricDataCommand)[0]!.args[0].input.MetricData).toEqual([
      { MetricName: 'SweepDuration', Value: 1250, Unit: 'Milliseconds', Dimensions: [{ Name: 'Stage', Value: 'prod' }], Timestamp: at },
    ]);
  });

  it.each([NaN, Infinity, -Infinity])('refuses the value %s without calling CloudWatch', async (value) => {
    // Act
    const outcome = publishMetric(newClient(), 'ErasureDesk', 'OverdueRequests', value);

    // Assess
    await expect(outcome).rejects.toThrow(RangeError);
    expect(cw.commandCalls(PutMetricDataCommand)).toHaveLength(0);
  });

  it('refuses an empty metric name', async () => {
    await expect(publishMetric(newClient(), 'ErasureDesk', ' ', 1)).rejects.toThrow(RangeError);
  });

  it.each([
    { code: 'Throttling', sdk: () => new CloudWatchServiceException({ name: 'Throttling', $fault: 'client', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }), expected: AwsServiceUnavailableError },
    { code: 'InternalServiceFault', sdk: () => new CloudWatchServiceException({ name: 'InternalServiceFault', $fault: 'server', message: 'oops', $metadata: { httpStatusCode: 500 } }), expected: AwsServiceUnavailableError },
    { code: 'InvalidParameterValueException', sdk: () => new CloudWatchServiceException({ name: 'InvalidParameterValueException', $fault: 'client', message: 'bad', $metadata: { httpStatusCode: 400 } }), expected: AwsServiceError },
  ])('translates $code into $expected.name', async ({ sdk, expected }) => {
    // Prepare
    cw.on(PutMetricDataCommand).rejects(sdk());

    // Act
    const outcome = publishMetric(newClient(), 'ErasureDesk', 'OverdueRequests', 1);

    // Assess
    await expect(outcome).rejects.toThrow(expected);
    await expect(outcome).rejects.toMatchObject({ message: expect.stringContaining('CloudWatch PutMetricData failed') });
  });
});
