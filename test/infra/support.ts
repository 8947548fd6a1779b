/**
 * Shared helpers of the infra tests: one in-process synth (bundling skipped, no network) and
 * small readers over the resulting CloudFormation template.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { ErasureDeskStack } from '../../infra/erasure-desk-stack';
import { createApp, type CfnTemplate } from '../../infra/synth';

export interface Synthesized {
  app: App;
  stack: ErasureDeskStack;
  template: Template;
  json: CfnTemplate;
}

/** Builds and synthesizes the app without bundling; `nag` registers the cdk-nag plugin like the CLI does. */
export function synth(options: { context?: Record<string, unknown>; nag?: boolean } = {}): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'erasure-desk-test-'));
  outdirs.push(outdir);
  const { app, stack } = createApp({
    bundle: false,
    nag: options.nag ?? false,
    cfnValidation: false,
    context: options.context,
    outdir,
  });
  const template = Template.fromStack(stack);
  return { app, stack, template, json: template.toJSON() as CfnTemplate };
}

const outdirs: string[] = [];

/** Removes the cloud assemblies of this file's synths (call from afterAll: assertions read them). */
export function removeAssemblies(): void {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

type Resource = CfnTemplate['Resources'][string];

export function resourcesOfType(json: CfnTemplate, type: string): Array<[string, Resource]> {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}

/** The Lambda function of a handler, found by its POWERTOOLS_SERVICE_NAME (erasure-desk-<name>). */
export function lambdaOf(json: CfnTemplate, name: string): [string, Resource] {
  const found = resourcesOfType(json, 'AWS::Lambda::Function').filter(
    ([, r]) => envOf(r).POWERTOOLS_SERVICE_NAME === `erasure-desk-${name}`,
  );
  if (found.length !== 1) throw new Error(`expected one function ${name}, found ${found.length}`);
  return found[0]!;
}

export function envOf(fn: Resource): Record<string, unknown> {
  const props = fn.Properties as { Environment?: { Variables?: Record<string, unknown> } };
  return props.Environment?.Variables ?? {};
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

/** Every Allow statement of the inline policies attached to the function's role. */
export function statementsOf(json: CfnTemplate, name: string): Statement[] {
  const [, fn] = lambdaOf(json, name);
  const roleId = ((fn.Properties as { Role: { 'Fn::GetAtt': [string, string] } }).Role['Fn::GetAtt'])[0];
  const role = json.Resources[roleId]!;
  if ((role.Properties as { ManagedPolicyArns?: unknown[] }).ManagedPolicyArns?.length) {
    throw new Error(`role of ${name} has managed policies`);
  }
  return resourcesOfType(json, 'AWS::IAM::Policy')
    .filter(([, p]) => ((p.Properties as { Roles: Array<{ Ref: string }> }).Roles ?? []).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => (p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement)
    .filter((s) => s.Effect === 'Allow');
}

/** The actions a function may perform (flattened). */
export function actionsOf(json: CfnTemplate, name: string): string[] {
  return statementsOf(json, name).flatMap((s) => ([] as string[]).concat(s.Action));
}

/** Resolves `Fn::Join` of literal strings and references into one string (references as `${Id}`). */
export function joinToString(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (v['Fn::Join']) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(joinToString).join(sep);
  }
  if (v['Fn::GetAtt']) return `\${${(v['Fn::GetAtt'] as string[]).join('.')}}`;
  if (v.Ref) return `\${${String(v.Ref)}}`;
  return JSON.stringify(value);
}

/** The state machine definition as an object (ARNs replaced by `${LogicalId.Arn}` placeholders). */
export function stateMachineDefinition(json: CfnTemplate): StateMachineDefinition {
  const machines = resourcesOfType(json, 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`expected one state machine, found ${machines.length}`);
  const raw = (machines[0]![1].Properties as { DefinitionString: unknown }).DefinitionString;
  return JSON.parse(joinToString(raw)) as StateMachineDefinition;
}

export interface StateMachineDefinition {
  StartAt: string;
  QueryLanguage?: string;
  TimeoutSeconds?: number;
  States: Record<string, Record<string, unknown> & { Type: string }>;
}
