import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from './functions';

export interface AlarmsProps {
  readonly alarmEmail?: string;
  readonly stateMachine: sfn.StateMachine;
  readonly httpApi: apigwv2.HttpApi;
  readonly functions: ReadonlyArray<readonly [string, lambda.IFunction]>;
  /** Whether run-canary is deployed (then CanaryFailed is alarmed). */
  readonly canary: boolean;
}

/**
 * What pages a human: failed or timed-out workflow executions, API 5xx, errors of any function,
 * requests past their legal deadline, data found after an erasure said SUCCESS, and canary failures. All alarms notify one KMS-encrypted,
 * TLS-only SNS topic (with an e-mail subscription when configured).
 */
export class Alarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Erasure desk alarm topic encryption',
      enableKeyRotation: true,
    });
    // CloudWatch must be able to use the key to publish alarm notifications to the topic.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Erasure desk alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const add = (id: string, metric: cloudwatch.IMetric, description: string, threshold = 1) => {
      const alarm = new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      alarm.addAlarmAction(new actions.SnsAction(this.topic));
      this.alarms.push(alarm);
      return alarm;
    };
    const fiveMinutes = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };

    add('ExecutionsFailed', props.stateMachine.metricFailed(fiveMinutes), 'Erasure workflow executions failed (see the execution history; ops can retry)');
    add('ExecutionsTimedOut', props.stateMachine.metricTimedOut(fiveMinutes), 'Erasure workflow executions hit the state machine timeout');
    add('Api5xx', props.httpApi.metricServerError(fiveMinutes), 'The HTTP API returned 5xx responses');
    for (const [name, fn] of props.functions) {
      add(`${name}Errors`, fn.metricErrors(fiveMinutes), `Lambda ${name} reported errors`);
    }
    add(
      'OverdueRequests',
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'OverdueRequests',
        period: Duration.minutes(15),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      'Erasure requests are past their Art. 12(3) deadline (published by sweep-requests)',
    );
    add(
      'ErasureDataFound',
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'ErasureDataFound',
        period: Duration.minutes(15),
        statistic: cloudwatch.Stats.SUM,
      }),
      'Kore.ai said an erasure succeeded but its data was read back still there, twice (published by verify-erasures; ops retry it)',
    );
    if (props.canary) {
      add(
        'CanaryFailed',
        new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: 'CanaryFailed',
          period: Duration.hours(6),
          statistic: cloudwatch.Stats.SUM,
        }),
        'The end-to-end canary erasure failed (published by run-canary)',
      );
    }
  }
}
