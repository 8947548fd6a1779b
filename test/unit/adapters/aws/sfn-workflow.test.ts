import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  ExecutionNotRedrivable,
  RedriveExecutionCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AwsServiceError,
  AwsServiceUnavailableError,
  ConfigurationError,
  ExecutionNotFoundError,
  ExecutionNotRedrivableError,
  UnknownExecutionStatusError,
} from '../../../../functions/adapters/aws/errors';
import { StepFunctionsWorkflow, executionNameFor } from '../../../../functions/adapters/aws/sfn-workflow';

const sfn = mockClient(SFNClient);
const MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:ErasureWorkflow';
const EXECUTION_PREFIX = 'arn:aws:states:eu-west-1:123456789012:execution:ErasureWorkflow:';
const REQUEST_ID = '0193a1b2-c3d4-7e5f-8a6b-1c2d3e4f5a6b';

const meta = { $metadata: {} };
const newWorkflow = () => new StepFunctionsWorkflow({ client: new SFNClient({ region: 'eu-west-1' }), stateMachineArn: MACHINE_ARN });
const throttled = () => new SFNServiceException({ name: 'ThrottlingException', $fault: 'client', message: 'Rate exceeded', ...meta });

afterEach(() => {
  sfn.reset();
});

describe('StepFunctionsWorkflow', () => {
  describe('construction', () => {
    it.each([
      ['an empty string', ''],
      ['an execution ARN', `${EXECUTION_PREFIX}x-1`],
      ['a Lambda ARN', 'arn:aws:lambda:eu-west-1:123456789012:function:f'],
      ['an ARN with a short account', 'arn:aws:states:eu-west-1:1234:stateMachine:ErasureWorkflow'],
    ])('refuses %s as the state machine ARN', (_what, arn) => {
      expect(() => new StepFunctionsWorkflow({ client: new SFNClient({}), stateMachineArn: arn })).toThrow(ConfigurationError);
    });

    it('derives execution ARNs in other partitions as well', () => {
      // Prepare
      const workflow = new StepFunctionsWorkflow({
        client: new SFNClient({}),
        stateMachineArn: 'arn:aws-us-gov:states:us-gov-west-1:123456789012:stateMachine:M',
      });

      // Act
      const arn = workflow.executionArnFor(REQUEST_ID, 2);

      // Assess
      expect(arn).toBe(`arn:aws-us-gov:states:us-gov-west-1:123456789012:execution:M:${REQUEST_ID}-2`);
    });
  });

  describe('executionNameFor', () => {
    it('names an execution after the request and the attempt', () => {
      expect(executionNameFor(REQUEST_ID, 3)).toBe(`${REQUEST_ID}-3`);
    });

    it.each([
      ['a negative attempt', REQUEST_ID, -1],
      ['a fractional attempt', REQUEST_ID, 1.5],
      ['a request id with a colon', 'a:b', 1],
      ['a request id with a slash', 'a/b', 1],
      ['a request id with whitespace', 'a b', 1],
      ['a name longer than 80 characters', 'x'.repeat(79), 10],
    ])('refuses %s', (_what, requestId, attempt) => {
      expect(() => executionNameFor(requestId, attempt)).toThrow(RangeError);
    });
  });

  describe('startErasure', () => {
    it('starts an execution named <requestId>-<attempt> with only the request id and attempt as input', async () => {
      // Prepare
      sfn.on(StartExecutionCommand).resolves({ executionArn: `${EXECUTION_PREFIX}${REQUEST_ID}-1`, startDate: new Date() });
      const workflow = newWorkflow();

      // Act
      const result = await workflow.startErasure(REQUEST_ID, 1);

      // Assess
      expect(result).toEqual({ started: true, executionId: `${EXECUTION_PREFIX}${REQUEST_ID}-1` });
      const calls = sfn.commandCalls(StartExecutionCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.args[0].input).toEqual({ stateMachineArn: MACHINE_ARN, name: `${REQUEST_ID}-1`, input: expect.any(String) });
      expect(JSON.parse(calls[0]!.args[0].input.input!)).toEqual({ requestId: REQUEST_ID, attempt: 1 });
    });

    it('reports a duplicate start as not started, with the existing execution ARN', async () => {
      // Prepare
      sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', ...meta }));
      const workflow = newWorkflow();

      // Act
      const result = await workflow.startErasure(REQUEST_ID, 4);

      // Assess
      expect(result).toEqual({ started: false, executionId: `${EXECUTION_PREFIX}${REQUEST_ID}-4` });
    });

    it.each([
      { name: 'throttling', error: throttled, expected: AwsServiceUnavailableError },
      { name: 'a missing state machine', error: () => new StateMachineDoesNotExist({ message: 'gone', ...meta }), expected: AwsServiceError },
    ])('translates $name into $expected.name', async ({ error, expected }) => {
      // Prepare
      sfn.on(StartExecutionCommand).rejects(error());

      // Act
      const outcome = newWorkflow().startErasure(REQUEST_ID, 1);

      // Assess
      await expect(outcome).rejects.toThrow(expected);
      await expect(outcome).rejects.toMatchObject({ cause: expect.any(SFNServiceException) });
    });
  });

  describe('executionState', () => {
    it.each([
      ['RUNNING', 'RUNNING'],
      ['PENDING_REDRIVE', 'RUNNING'],
      ['SUCCEEDED', 'SUCCEEDED'],
      ['FAILED', 'FAILED'],
      ['TIMED_OUT', 'TIMED_OUT'],
      ['ABORTED', 'ABORTED'],
    ] as const)('maps the execution status %s to %s', async (status, expected) => {
      // Prepare
      sfn.on(DescribeExecutionCommand).resolves({ status, executionArn: 'x', stateMachineArn: MACHINE_ARN, startDate: new Date() });

      // Act
      const state = await newWorkflow().executionState(REQUEST_ID, 2);

      // Assess
      expect(state).toBe(expected);
      expect(sfn.commandCalls(DescribeExecutionCommand)[0]!.args[0].input).toEqual({ executionArn: `${EXECUTION_PREFIX}${REQUEST_ID}-2` });
    });

    it('says NONE for an execution that does not exist', async () => {
      // Prepare
      sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', ...meta }));

      // Act
      const state = await newWorkflow().executionState(REQUEST_ID, 1);

      // Assess
      expect(state).toBe('NONE');
    });

    it.each(['PAUSED', 'toString', undefined])('refuses the unknown status %s', async (status) => {
      // Prepare
      sfn.on(DescribeExecutionCommand).resolves({ status: status as never, executionArn: 'x', stateMachineArn: MACHINE_ARN, startDate: new Date() });

      // Act
      const outcome = newWorkflow().executionState(REQUEST_ID, 1);

      // Assess
      await expect(outcome).rejects.toThrow(UnknownExecutionStatusError);
    });

    it('translates throttling into a retryable error', async () => {
      // Prepare
      sfn.on(DescribeExecutionCommand).rejects(throttled());

      // Act
      const outcome = newWorkflow().executionState(REQUEST_ID, 1);

      // Assess
      await expect(outcome).rejects.toMatchObject({ name: 'AwsServiceUnavailableError', retryable: true });
    });
  });

  describe('isRunning', () => {
    it.each([
      ['RUNNING', true],
      ['PENDING_REDRIVE', true],
      ['FAILED', false],
      ['SUCCEEDED', false],
    ] as const)('is %s → %s', async (status, expected) => {
      // Prepare
      sfn.on(DescribeExecutionCommand).resolves({ status, executionArn: 'x', stateMachineArn: MACHINE_ARN, startDate: new Date() });

      // Act
      const running = await newWorkflow().isRunning(REQUEST_ID, 1);

      // Assess
      expect(running).toBe(expected);
    });

    it('is false for an execution that was never started', async () => {
      // Prepare
      sfn.on(DescribeExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', ...meta }));

      // Act
      const running = await newWorkflow().isRunning(REQUEST_ID, 1);

      // Assess
      expect(running).toBe(false);
    });
  });

  describe('redrive', () => {
    it("redrives the attempt's execution by its derived ARN", async () => {
      // Prepare
      sfn.on(RedriveExecutionCommand).resolves({ redriveDate: new Date() });

      // Act
      await newWorkflow().redrive(REQUEST_ID, 3);

      // Assess
      const calls = sfn.commandCalls(RedriveExecutionCommand);
      expect(calls).toHaveLength(1);
      expect(calls[0]!.args[0].input).toMatchObject({ executionArn: `${EXECUTION_PREFIX}${REQUEST_ID}-3` });
    });

    it('throws ExecutionNotRedrivableError when Step Functions will not redrive the execution', async () => {
      // Prepare
      sfn.on(RedriveExecutionCommand).rejects(new ExecutionNotRedrivable({ message: 'Execution succeeded', ...meta }));

      // Act
      const outcome = newWorkflow().redrive(REQUEST_ID, 3);

      // Assess
      await expect(outcome).rejects.toThrow(ExecutionNotRedrivableError);
      await expect(outcome).rejects.toMatchObject({ name: 'ExecutionNotRedrivableError', executionName: `${REQUEST_ID}-3` });
    });

    it('throws ExecutionNotFoundError when there is no such execution', async () => {
      // Prepare
      sfn.on(RedriveExecutionCommand).rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', ...meta }));

      // Act
      const outcome = newWorkflow().redrive(REQUEST_ID, 1);

      // Assess
      await expect(outcome).rejects.toThrow(ExecutionNotFoundError);
    });

    it('translates throttling into a retryable error', async () => {
      // Prepare
      sfn.on(RedriveExecutionCommand).rejects(throttled());

      // Act
      const outcome = newWorkflow().redrive(REQUEST_ID, 1);

      // Assess
      await expect(outcome).rejects.toThrow(AwsServiceUnavailableError);
    });
  });
});
