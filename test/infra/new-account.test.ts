/**
 * `npx cdk deploy -c mailFrom=…` on a brand-new account: nothing in the template may need a quota
 * or a resource such an account does not have, a test stack can be torn down, and each Lambda
 * outlives the Kore.ai calls it makes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_CAPABILITIES, FUNCTION_NAMES, type FunctionName } from '../../functions/adapters/env/capabilities';
import { DEFAULT_KORE_TIMEOUT_MS } from '../../functions/adapters/kore/kore-client';
import { MAX_INLINE_RETRY_AFTER_MS } from '../../functions/workflow/task-deps';
import { TASK_HANDLERS } from '../../infra/constructs/erasure-workflow';
import { TASK_STORE_ALLOWANCE_SECONDS } from '../../infra/constructs/functions';
import { lambdaOf, removeAssemblies, resourcesOfType, stateMachineDefinition, synth, type Synthesized } from './support';

let newAccount: Synthesized;

beforeAll(() => {
  newAccount = synth({ context: { mailFrom: 'privacy@example.com', canaryBotIds: 'st-canary-1', canaryUserId: 'canary@example.com' } });
});

afterAll(removeAssemblies);

describe('reserved concurrency', () => {
  it('reserves nothing by default: a new account (limit 10) refuses any reservation', () => {
    for (const [, fn] of resourcesOfType(newAccount.json, 'AWS::Lambda::Function')) {
      expect(fn.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    }
  });

  it('reserves one run for each scheduled job, and none for the API, when opted in', () => {
    const { json } = synth({ context: { reserveConcurrency: 'true' } });
    for (const name of ['refresh-roles-snapshot', 'sweep-requests', 'sign-checkpoints']) {
      expect(lambdaOf(json, name)[1].Properties).toMatchObject({ ReservedConcurrentExecutions: 1 });
    }
    for (const name of ['public-api', 'audit-api', 'ops-api', 'console', 'submit-erasure']) {
      expect(lambdaOf(json, name)[1].Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    }
  });
});

describe('SES identity', () => {
  it('creates the email identity of an address given as mailFrom', () => {
    newAccount.template.resourceCountIs('AWS::SES::EmailIdentity', 1);
    newAccount.template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'privacy@example.com' });
  });

  it('creates a domain identity for a domain, and prints its DKIM records', () => {
    const { template, json } = synth({ context: { mailFrom: 'mail.example.com' } });
    template.hasResourceProperties('AWS::SES::EmailIdentity', { EmailIdentity: 'mail.example.com' });
    expect(Object.keys((json as { Outputs?: Record<string, unknown> }).Outputs ?? {}).filter((o) => /DkimRecord\d/.test(o))).toHaveLength(3);
  });

  it('creates none without mailFrom, or when the identity exists already', () => {
    synth().template.resourceCountIs('AWS::SES::EmailIdentity', 0);
    synth({ context: { mailFrom: 'privacy@example.com', mailIdentity: 'existing' } }).template.resourceCountIs('AWS::SES::EmailIdentity', 0);
  });
});

describe('checkpoint bucket lock mode', () => {
  it('locks in COMPLIANCE mode by default', () => {
    newAccount.template.hasResourceProperties('AWS::S3::Bucket', { ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2190 } } } });
  });

  it('locks in GOVERNANCE mode for a test stack, and keeps the bucket when the stack is destroyed', () => {
    const { template, json } = synth({ context: { checkpointLockMode: 'GOVERNANCE', recordRetentionDays: '1' } });
    template.hasResourceProperties('AWS::S3::Bucket', { ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } } });
    const locked = resourcesOfType(json, 'AWS::S3::Bucket').filter(([, b]) => (b.Properties as { ObjectLockEnabled?: boolean }).ObjectLockEnabled);
    expect(locked).toHaveLength(1);
    // CloudFormation cannot delete a bucket with objects: retained, it never fails `cdk destroy`.
    expect(locked[0]![1]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('workflow logs', () => {
  it('writes the state machine log to a log group under /aws/vendedlogs/states/', () => {
    const groups = resourcesOfType(newAccount.json, 'AWS::Logs::LogGroup').filter(([, g]) => String((g.Properties as { LogGroupName?: unknown }).LogGroupName ?? '').startsWith('/aws/vendedlogs/states/'));
    expect(groups).toHaveLength(1);
    const [groupId] = groups[0]!;
    newAccount.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: { Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [groupId, 'Arn'] } } }] },
    });
  });
});

describe('Lambda timeouts', () => {
  /** The longest Retry-After each Kore.ai caller waits out itself (only SubmitErasure does; see workflow/submit-erasure.ts). */
  const retryAfterWaitSeconds = (name: FunctionName) => (name === 'submit-erasure' ? MAX_INLINE_RETRY_AFTER_MS / 1000 : 0);
  const timeoutOf = (name: FunctionName) => (lambdaOf(newAccount.json, name)[1].Properties as { Timeout: number }).Timeout;

  it('knows the figures it checks: a 10 s Kore.ai call and a 20 s Retry-After wait', () => {
    expect(DEFAULT_KORE_TIMEOUT_MS).toBe(10_000);
    expect(MAX_INLINE_RETRY_AFTER_MS).toBe(20_000);
  });

  it.each(FUNCTION_NAMES.filter((n) => FUNCTION_CAPABILITIES[n].includes('kore')))(
    'gives %s a timeout covering the Kore.ai client timeout, its longest Retry-After wait and its DynamoDB calls',
    (name) => {
      const needed = DEFAULT_KORE_TIMEOUT_MS / 1000 + retryAfterWaitSeconds(name) + TASK_STORE_ALLOWANCE_SECONDS;
      expect({ name, timeout: timeoutOf(name), covers: timeoutOf(name) >= needed }).toEqual({ name, timeout: timeoutOf(name), covers: true });
    },
  );

  it('gives SubmitErasure 40 s: 10 s call + 20 s Retry-After + 10 s for the store', () => {
    expect(timeoutOf('submit-erasure')).toBe(40);
  });

  it('lets every task state wait longer (heartbeat and timeout) than the Lambda it invokes may run', () => {
    const definition = stateMachineDefinition(newAccount.json);
    for (const [state, task] of Object.entries(definition.States).filter(([, s]) => s.Type === 'Task')) {
      const timeout = timeoutOf(TASK_HANDLERS[state]!);
      const { HeartbeatSeconds, TimeoutSeconds } = task as unknown as { HeartbeatSeconds: number; TimeoutSeconds: number };
      expect({ state, heartbeatLonger: HeartbeatSeconds > timeout, timeoutLonger: TimeoutSeconds > HeartbeatSeconds }).toEqual({ state, heartbeatLonger: true, timeoutLonger: true });
    }
  });
});
