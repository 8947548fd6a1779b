/** The Step Functions workflow starter, for the functions that start, describe or redrive executions. */
import type { WorkflowStarter } from '../../domain/ports';
import { getOptionalStringFromEnv } from '../../adapters/env/settings';
import { unavailable, type Env } from './environment';
import { ENV } from '../../adapters/env/variables';

export async function workflowFrom(env: Env): Promise<WorkflowStarter> {
  const stateMachineArn = getOptionalStringFromEnv(ENV.STATE_MACHINE_ARN, env);
  if (!stateMachineArn) return unavailable('Step Functions');
  const [{ SFNClient }, { StepFunctionsWorkflow }] = await Promise.all([import('@aws-sdk/client-sfn'), import('../../adapters/aws/sfn-workflow')]);
  return new StepFunctionsWorkflow({ client: new SFNClient({}), stateMachineArn });
}
