/**
 * The erasure workflow on AWS Step Functions (Standard): the `WorkflowStarter` port.
 *
 * One execution per attempt, named `<requestId>-<attempt>`. Step Functions keeps execution names
 * unique per state machine (for 90 days after an execution closes), so starting the same attempt
 * twice cannot run the erase call twice; the execution ARN follows from the name, so the state of
 * an attempt is looked up without storing anything.
 */
import {
  DescribeExecutionCommand,
  RedriveExecutionCommand,
  StartExecutionCommand,
  type ExecutionStatus,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { ExecutionState, WorkflowStarter } from '../../domain/ports';
import {
  ConfigurationError,
  ExecutionNotFoundError,
  ExecutionNotRedrivableError,
  UnknownExecutionStatusError,
  awsCall,
  awsErrorName,
  translateAwsError,
} from './errors';

export interface StepFunctionsWorkflowOptions {
  /** Created once per container by the caller. */
  client: SFNClient;
  /** `arn:<partition>:states:<region>:<account>:stateMachine:<name>` */
  stateMachineArn: string;
}

/** What every execution receives: the request and the attempt, nothing personal. */
export interface ErasureExecutionInput {
  requestId: string;
  attempt: number;
}

const STATE_MACHINE_ARN = /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]{1,80})$/;

/** Step Functions' execution-name rules: 1–80 characters, none of whitespace, `<>{}[]?*"#%\^|~\`$&,;:/` or controls. */
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;

const STATES: Record<ExecutionStatus, ExecutionState> = {
  RUNNING: 'RUNNING',
  // Redrive accepted, not yet running again: it is on its way, so nobody should start or redrive it.
  PENDING_REDRIVE: 'RUNNING',
  SUCCEEDED: 'SUCCEEDED',
  FAILED: 'FAILED',
  TIMED_OUT: 'TIMED_OUT',
  ABORTED: 'ABORTED',
};

/** The execution name of an attempt: `<requestId>-<attempt>`. */
export function executionNameFor(requestId: string, attempt: number): string {
  if (!Number.isSafeInteger(attempt) || attempt < 0) throw new RangeError('The attempt must be a non-negative integer');
  const name = `${requestId}-${attempt}`;
  if (!EXECUTION_NAME.test(name)) throw new RangeError('The request id cannot form a Step Functions execution name');
  return name;
}

export class StepFunctionsWorkflow implements WorkflowStarter {
  private readonly client: SFNClient;
  private readonly stateMachineArn: string;
  /** `arn:<partition>:states:<region>:<account>:execution:<machine>:` — append the execution name. */
  private readonly executionArnPrefix: string;

  /** @throws ConfigurationError when `stateMachineArn` is not a state machine ARN. */
  constructor(options: StepFunctionsWorkflowOptions) {
    const match = STATE_MACHINE_ARN.exec(options.stateMachineArn);
    if (!match) throw new ConfigurationError('The state machine ARN is not of the form arn:<partition>:states:<region>:<account>:stateMachine:<name>');
    const [, partition, region, account, machine] = match;
    this.client = options.client;
    this.stateMachineArn = options.stateMachineArn;
    this.executionArnPrefix = `arn:${partition}:states:${region}:${account}:execution:${machine}:`;
  }

  /** The ARN the attempt's execution has (or will have). */
  executionArnFor(requestId: string, attempt: number): string {
    return this.executionArnPrefix + executionNameFor(requestId, attempt);
  }

  /**
   * Starts the attempt's execution. When an execution of that name exists already (running or
   * closed) it resolves `{ started: false }`: the attempt is, or was, under way. Note that Step
   * Functions itself answers a repeated start with the *same input* while the execution still runs
   * with success, so `started: true` means "this attempt's execution is running", not always
   * "this call created it".
   * @throws RangeError for an id/attempt that cannot form an execution name;
   *   AwsServiceUnavailableError (throttled, 5xx) or AwsServiceError (e.g. the machine is gone).
   */
  async startErasure(requestId: string, attempt: number): Promise<{ started: boolean; executionId: string }> {
    const name = executionNameFor(requestId, attempt);
    const input: ErasureExecutionInput = { requestId, attempt };
    try {
      const out = await this.client.send(
        new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return { started: true, executionId: out.executionArn ?? this.executionArnPrefix + name };
    } catch (error) {
      if (awsErrorName(error) === 'ExecutionAlreadyExists') return { started: false, executionId: this.executionArnPrefix + name };
      throw translateAwsError(error, 'StepFunctions', 'StartExecution');
    }
  }

  /**
   * The state of the attempt's execution; `NONE` when it does not exist (never started, or closed
   * longer ago than Step Functions keeps executions). A pending redrive counts as running.
   * @throws UnknownExecutionStatusError for a status this code does not know;
   *   AwsServiceUnavailableError or AwsServiceError when Step Functions fails.
   */
  async executionState(requestId: string, attempt: number): Promise<ExecutionState> {
    const executionArn = this.executionArnFor(requestId, attempt);
    let status: string | undefined;
    try {
      ({ status } = await this.client.send(new DescribeExecutionCommand({ executionArn })));
    } catch (error) {
      if (awsErrorName(error) === 'ExecutionDoesNotExist') return 'NONE';
      throw translateAwsError(error, 'StepFunctions', 'DescribeExecution');
    }
    const state = status !== undefined && Object.hasOwn(STATES, status) ? STATES[status as ExecutionStatus] : undefined;
    if (!state) throw new UnknownExecutionStatusError(String(status));
    return state;
  }

  /** Whether the attempt's execution runs now (or is about to, after a redrive). Throws as `executionState`. */
  async isRunning(requestId: string, attempt: number): Promise<boolean> {
    return (await this.executionState(requestId, attempt)) === 'RUNNING';
  }

  /**
   * Redrives the attempt's stopped execution from the state that failed.
   * @throws ExecutionNotRedrivableError when Step Functions will not redrive it (it succeeded, is
   *   still running, or closed too long ago); ExecutionNotFoundError when it does not exist;
   *   AwsServiceUnavailableError or AwsServiceError otherwise.
   */
  async redrive(requestId: string, attempt: number): Promise<void> {
    const name = executionNameFor(requestId, attempt);
    await awsCall(
      'StepFunctions',
      'RedriveExecution',
      () => this.client.send(new RedriveExecutionCommand({ executionArn: this.executionArnPrefix + name })),
      (error) => {
        const errorName = awsErrorName(error);
        if (errorName === 'ExecutionNotRedrivable') return new ExecutionNotRedrivableError(name, { cause: error });
        if (errorName === 'ExecutionDoesNotExist') return new ExecutionNotFoundError(name, { cause: error });
        return undefined;
      },
    );
  }
}
