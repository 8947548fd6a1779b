/**
 * Takes the erasure state machine's definition out of the synthesized CloudFormation template,
 * so the local runtime executes the very definition `cdk deploy` would deploy.
 */

type CfnValue = string | { 'Fn::GetAtt'?: [string, string]; Ref?: string; 'Fn::Join'?: [string, CfnValue[]] } | CfnValue[];

interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/** The ARN a Lambda's logical id stands for locally; Task states are mapped to handlers by state name anyway. */
export function localFunctionArn(logicalId: string): string {
  return `arn:aws:lambda:eu-west-1:000000000000:function:${logicalId}`;
}

function resolve(value: CfnValue): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(resolve).join('');
  if (value['Fn::Join']) {
    const [separator, parts] = value['Fn::Join'];
    return parts.map(resolve).join(separator);
  }
  if (value['Fn::GetAtt']) return localFunctionArn(value['Fn::GetAtt'][0]);
  if (value.Ref === 'AWS::Partition') return 'aws';
  if (value.Ref === 'AWS::Region') return 'eu-west-1';
  if (value.Ref === 'AWS::AccountId') return '000000000000';
  if (value.Ref) return value.Ref;
  throw new Error(`Unsupported CloudFormation expression in the state machine definition: ${Object.keys(value).join(',')}`);
}

/**
 * The parsed definition of the template's (single) Step Functions state machine, tokens resolved.
 * @throws Error when the template has no state machine, or more than one.
 */
export function stateMachineDefinitionFrom(template: CfnTemplate): Record<string, unknown> & { States: Record<string, Record<string, unknown>> } {
  const machines = Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`Expected one state machine in the template, found ${machines.length}`);
  const props = machines[0]!.Properties ?? {};
  const source = (props.DefinitionString ?? JSON.stringify(props.Definition)) as CfnValue;
  return JSON.parse(resolve(source));
}
