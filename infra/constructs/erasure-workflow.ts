import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledge, acknowledgeWildcards, arnRef } from './nag';

/**
 * State names are an interface: the local runtime maps Task states to handlers by these names,
 * and audit events / alarms refer to them.
 */
export const WORKFLOW_STATES = {
  submit: 'SubmitErasure',
  wait: 'WaitBeforeCheck',
  waitForBudget: 'WaitForBudget',
  check: 'CheckStatus',
  routeSubmission: 'RouteOnSubmission',
  route: 'RouteOnStatus',
  recordCompleted: 'RecordCompleted',
  recordFailed: 'RecordFailed',
  recordTimedOut: 'RecordTimedOut',
  recordRejected: 'RecordRejected',
  recordError: 'RecordError',
  erased: 'Erased',
  failed: 'ErasureFailed',
  timedOut: 'ErasureTimedOut',
  rejected: 'ErasureRejected',
  workflowError: 'WorkflowError',
} as const;

/** Which handler runs each Task state (for the local runtime). */
export const TASK_HANDLERS: Readonly<Record<string, 'submit-erasure' | 'check-erasure-status' | 'record-outcome'>> = {
  SubmitErasure: 'submit-erasure',
  CheckStatus: 'check-erasure-status',
  RecordCompleted: 'record-outcome',
  RecordFailed: 'record-outcome',
  RecordTimedOut: 'record-outcome',
  RecordRejected: 'record-outcome',
  RecordError: 'record-outcome',
};

/**
 * Transient faults of what the tasks stand on, safe to retry: DynamoDB throttling or outage
 * (the store's `StoreUnavailableError`) and the Lambda service's own errors.
 */
export const TRANSIENT_TASK_ERRORS = [
  'StoreUnavailableError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/**
 * A task Lambda that ended without answering: `Sandbox.Timedout` when it ran past its timeout,
 * `Lambda.Unknown` when its runtime died (out of memory, a crash). Either way the invocation is
 * over, so a retry never runs beside it. Retried where a second run is safe:
 * - CheckStatus and the Record* tasks are idempotent (a status check records one more poll, a
 *   record finds the outcome in place and does nothing).
 * - SubmitErasure records its intent (ERASURE_SUBMITTING) before it sends the DELETE, and a run
 *   that finds an intent without an answer throws SubmissionOutcomeUnknownError instead of sending
 *   again (workflow/submit-erasure.ts). A run that died before the intent was written never sent anything;
 *   one that died after it cannot send a second DELETE. So the retry is safe: it either sends the
 *   first DELETE or ends the attempt FAILED with the outcome unknown, never a second DELETE.
 */
export const CRASHED_TASK_ERRORS = ['Lambda.Unknown', 'Sandbox.Timedout'] as const;

/** The log group name prefix Step Functions log delivery is meant for (keeps the account's CloudWatch Logs resource policy small). */
export const VENDED_LOGS_PREFIX = '/aws/vendedlogs/states/';

export interface ErasureWorkflowProps {
  readonly submitErasure: lambda.IFunction;
  readonly checkErasureStatus: lambda.IFunction;
  readonly recordOutcome: lambda.IFunction;
  /**
   * The longest timeout of the three task functions. The task states' heartbeat and timeout are
   * longer, so Step Functions never abandons an invocation that is still running.
   */
  readonly taskFunctionTimeout: Duration;
  /** After this the check task reports TIMED_OUT; the execution gets one more day to record it. */
  readonly pollDeadlineSeconds: number;
}

/**
 * The erasure workflow, one execution per attempt (`<requestId>-<attempt>`, named by the caller).
 *
 * Written in JSONPath only — no JSONata, no Variables (Assign/Arguments/Output) — because the
 * local emulator (aws-local-stepfunctions) silently ignores those. Every Lambda task uses the
 * plain function ARN as its Resource (`payloadResponseOnly`), which is what the emulator invokes,
 * and retries are explicit rather than CDK's implicit service-exception retrier.
 */
export class ErasureWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ErasureWorkflowProps) {
    super(scope, id);
    const S = WORKFLOW_STATES;
    // Lambda tasks send no heartbeats: the heartbeat is a second timeout, both above the function's.
    const functionSeconds = props.taskFunctionTimeout.toSeconds();
    const taskTimeouts = {
      taskTimeout: sfn.Timeout.duration(Duration.seconds(functionSeconds + 20)),
      heartbeatTimeout: sfn.Timeout.duration(Duration.seconds(functionSeconds + 10)),
    };
    const crashRetry: sfn.RetryProps = {
      errors: [...CRASHED_TASK_ERRORS],
      interval: Duration.seconds(5),
      backoffRate: 2,
      maxAttempts: 2,
      jitterStrategy: sfn.JitterType.FULL,
    };
    const workRetry = (errors: string[]): sfn.RetryProps => ({
      errors,
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 6,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    });

    const workflowError = new sfn.Fail(this, S.workflowError, {
      error: 'WorkflowError',
      cause: 'The workflow could not complete or record the attempt; the sweeper re-drives it',
    });
    const record = (stateName: string, outcome: string, next: sfn.IChainable) => {
      const task = new tasks.LambdaInvoke(this, stateName, {
        lambdaFunction: props.recordOutcome,
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        payload: sfn.TaskInput.fromObject({
          requestId: sfn.JsonPath.stringAt('$.requestId'),
          attempt: sfn.JsonPath.numberAt('$.attempt'),
          outcome,
          state: sfn.JsonPath.entirePayload,
        }),
        resultPath: '$.recorded',
        ...taskTimeouts,
      });
      task.addRetry({
        errors: [...TRANSIENT_TASK_ERRORS],
        interval: Duration.seconds(1),
        backoffRate: 2,
        maxAttempts: 5,
        jitterStrategy: sfn.JitterType.FULL,
      });
      task.addRetry(crashRetry);
      task.addCatch(workflowError, { errors: ['States.ALL'], resultPath: '$.error' });
      return task.next(next);
    };

    const recordCompleted = record(
      S.recordCompleted,
      'COMPLETED',
      new sfn.Succeed(this, S.erased, { comment: 'Kore.ai confirmed the erasure' }),
    );
    const recordFailed = record(
      S.recordFailed,
      'FAILED',
      new sfn.Fail(this, S.failed, { error: 'ErasureFailed', cause: 'Kore.ai reported the erasure as failed' }),
    );
    const recordTimedOut = record(
      S.recordTimedOut,
      'TIMED_OUT',
      new sfn.Fail(this, S.timedOut, {
        error: 'ErasureTimedOut',
        cause: 'Kore.ai did not finish the erasure before the poll deadline',
      }),
    );
    // A rejection is the process working (the platform's rules protect owners and co-developers):
    // it succeeds, so ExecutionsFailed and the task functions' Errors mean something went wrong.
    const recordRejected = record(
      S.recordRejected,
      'REJECTED',
      new sfn.Succeed(this, S.rejected, { comment: 'The subject is not eligible for erasure or Kore.ai refused it' }),
    );
    const recordError = record(S.recordError, 'ERROR', workflowError);

    const submit = new tasks.LambdaInvoke(this, S.submit, {
      lambdaFunction: props.submitErasure,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      // ResultPath "$" (the result replaces the state) is the ASL default and stays implicit:
      // aws-local-stepfunctions 3.0 stores an explicit "$" result under a key named "$".
      ...taskTimeouts,
    });
    submit.addRetry(workRetry(['KoreRetryableError', ...TRANSIENT_TASK_ERRORS, 'States.Timeout']));
    // Safe after an unknown-outcome DELETE: the intent recorded before it stops a second one (see CRASHED_TASK_ERRORS).
    submit.addRetry(crashRetry);
    submit.addCatch(recordError, { errors: ['States.ALL'], resultPath: '$.error' });

    const check = new tasks.LambdaInvoke(this, S.check, {
      lambdaFunction: props.checkErasureStatus,
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      // ResultPath "$" (the result replaces the state) is the ASL default and stays implicit:
      // aws-local-stepfunctions 3.0 stores an explicit "$" result under a key named "$".
      ...taskTimeouts,
    });
    check.addRetry(workRetry(['KoreRetryableError', ...TRANSIENT_TASK_ERRORS, 'States.Timeout']));
    check.addRetry(crashRetry);
    check.addCatch(recordError, { errors: ['States.ALL'], resultPath: '$.error' });

    const wait = new sfn.Wait(this, S.wait, { time: sfn.WaitTime.secondsPath('$.poll.waitSeconds') });
    const route = new sfn.Choice(this, S.route)
      .when(sfn.Condition.stringEquals('$.poll.outcome', 'SUCCESS'), recordCompleted)
      .when(sfn.Condition.stringEquals('$.poll.outcome', 'FAILED'), recordFailed)
      .when(sfn.Condition.stringEquals('$.poll.outcome', 'TIMED_OUT'), recordTimedOut)
      .otherwise(wait);

    // SubmitErasure answers a rejection (re-check or platform refusal) as `$.rejection`, not as an
    // error, and "no turn in the Kore.ai call budget yet" as `$.budgetWait`: the execution waits in
    // a Wait state (no Lambda runs meanwhile) and submits again.
    const waitForBudget = new sfn.Wait(this, S.waitForBudget, { time: sfn.WaitTime.secondsPath('$.budgetWait.waitSeconds') });
    const routeSubmission = new sfn.Choice(this, S.routeSubmission)
      .when(sfn.Condition.isPresent('$.rejection'), recordRejected)
      .when(sfn.Condition.isPresent('$.budgetWait'), waitForBudget)
      .otherwise(wait);
    waitForBudget.next(submit);
    wait.next(check).next(route);
    const definition = submit.next(routeSubmission);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // Vended logs (Step Functions log delivery) belong under /aws/vendedlogs/: there delivery
      // shares one CloudWatch Logs resource-policy statement; elsewhere each log group adds one to
      // a policy of at most 5,120 characters per account and region, which a few stacks use up.
      logGroupName: `${VENDED_LOGS_PREFIX}${Stack.of(this).stackName}-erasure-workflow`,
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.seconds(props.pollDeadlineSeconds + 86_400),
      tracingEnabled: true,
      // Errors only, and without execution data: inputs, outputs and a failed task's `Cause` stay
      // out of the log (the history keeps them 90 days; the tasks put nothing but names in them).
      logs: { destination: this.logGroup, level: sfn.LogLevel.ERROR, includeExecutionData: false },
      comment: 'Erasure of one request attempt on the Kore.ai XO Platform',
    });
    acknowledge(
      this.stateMachine,
      'AwsSolutions-SF1',
      'Logs ERROR without execution data on purpose: ALL would log every state input, output and error cause, and the execution log must never hold personal data. Every transition stays in the execution history and X-Ray traces; failed and timed-out executions raise alarms.',
    );
    const invoked = [props.submitErasure, props.checkErasureStatus, props.recordOutcome].map(arnRef);
    acknowledgeWildcards(this.stateMachine.role, [
      {
        finding: (f) => invoked.some((arn) => f === `Resource::${arn()}:*`),
        reason: 'lambda:InvokeFunction on the versions and aliases (<arn>:*) of the three task functions only, as granted by LambdaInvoke.',
      },
      {
        finding: /^Resource::\*$/,
        reason: 'CloudWatch Logs delivery (logs:CreateLogDelivery, PutResourcePolicy, …) and X-Ray (PutTraceSegments, GetSamplingRules, …) actions support no resource-level permissions.',
      },
    ]);
  }
}
