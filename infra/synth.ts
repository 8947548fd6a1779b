/**
 * Building the app in-process: used by `infra/bin/app.ts` (the CDK CLI entry), by the infra tests
 * and by the local runtime, which takes the state machine definition from the synthesized
 * template so that `npm start` runs the very workflow that is deployed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations, type Environment } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from './config';
import { ErasureDeskStack } from './erasure-desk-stack';

/** The repository root (holds package-lock.json and functions/). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * CDK feature flags this app relies on, applied under any context given (cdk.json may repeat
 * them). Server access logs are granted by bucket policy, not by the legacy ACL.
 */
export const FEATURE_FLAGS: Readonly<Record<string, unknown>> = {
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
};

/** Name of the one stack of the app. */
export const STACK_NAME = 'ErasureDesk';

export interface CreateAppOptions {
  /** Bundle the Lambda code with esbuild (default true). False sets `aws:cdk:bundling-stacks: []`. */
  readonly bundle?: boolean;
  /** Extra CDK context (configuration keys of infra/config.ts, feature flags). */
  readonly context?: Record<string, unknown>;
  /** Register cdk-nag AwsSolutions checks as a validation plugin (default true). */
  readonly nag?: boolean;
  /**
   * Run aws-cdk-lib's built-in CloudFormation template validation at synth (default true). It
   * costs several CPU seconds; in-process callers that only need the template turn it off.
   */
  readonly cfnValidation?: boolean;
  /** Cloud assembly directory (default: CDK's, i.e. CDK_OUTDIR or a temp dir). */
  readonly outdir?: string;
  readonly env?: Environment;
  /** Repository root (default {@link PROJECT_ROOT}). */
  readonly projectRoot?: string;
}

/**
 * Creates the CDK app with the ErasureDesk stack.
 * @throws ConfigError when the context holds invalid configuration.
 */
export function createApp(options: CreateAppOptions = {}): { app: App; stack: ErasureDeskStack } {
  const context: Record<string, unknown> = { ...FEATURE_FLAGS, ...(options.context ?? {}) };
  if (options.bundle === false) context['aws:cdk:bundling-stacks'] = [];
  const app = new App({ context, outdir: options.outdir, builtinCloudFormationValidation: options.cfnValidation ?? true });
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const config = readConfig((key) => app.node.tryGetContext(key));
  const stack = new ErasureDeskStack(app, STACK_NAME, {
    config,
    projectRoot: options.projectRoot ?? PROJECT_ROOT,
    env: options.env,
  });
  return { app, stack };
}

/** A CloudFormation template as JSON. */
export type CfnTemplate = {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; [k: string]: unknown }>;
  [k: string]: unknown;
};

/**
 * Synthesizes the ErasureDesk stack and returns its CloudFormation template, offline and
 * in-process. Bundling is skipped unless `bundle: true`, so no handler source is needed and it
 * takes a few seconds. cdk-nag is not run here (the CLI and the infra tests run it).
 * @throws ConfigError on invalid context; CDK validation errors on an inconsistent stack.
 */
export function synthesizeTemplate(options: { bundle?: boolean; context?: Record<string, unknown> } = {}): CfnTemplate {
  const outdir = mkdtempSync(join(tmpdir(), 'erasure-desk-synth-'));
  try {
    const { app, stack } = createApp({
      bundle: options.bundle ?? false,
      context: options.context,
      nag: false,
      cfnValidation: false,
      outdir,
    });
    const assembly = app.synth();
    return assembly.getStackByName(stack.stackName).template as CfnTemplate;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** An Amazon States Language definition (JSONPath). */
export interface AslDefinition {
  StartAt: string;
  TimeoutSeconds?: number;
  States: Record<string, { Type: string; Resource?: string; [k: string]: unknown }>;
  [k: string]: unknown;
}

/**
 * The erasure state machine's ASL definition from a synthesized template, with every
 * CloudFormation reference replaced: a Lambda function ARN becomes
 * `arn:aws:lambda:us-east-1:000000000000:function:<LogicalId>`, anything else `<LogicalId>`.
 * The local runtime runs this object with aws-local-stepfunctions and maps Task states to
 * handlers by state name (see TASK_HANDLERS in infra/constructs/erasure-workflow.ts).
 * @throws Error when the template does not hold exactly one state machine.
 */
export function workflowDefinition(template: CfnTemplate = synthesizeTemplate()): AslDefinition {
  const machines = Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`Expected one state machine in the template, found ${machines.length}`);
  const render = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const v = value as Record<string, unknown>;
    if (Array.isArray(v['Fn::Join'])) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
    if (Array.isArray(v['Fn::GetAtt'])) {
      const [logicalId, attribute] = v['Fn::GetAtt'] as [string, string];
      const type = template.Resources[logicalId]?.Type;
      return type === 'AWS::Lambda::Function' && attribute === 'Arn'
        ? `arn:aws:lambda:us-east-1:000000000000:function:${logicalId}`
        : `<${logicalId}.${attribute}>`;
    }
    if (typeof v.Ref === 'string') return `<${v.Ref}>`;
    throw new Error(`Unsupported intrinsic in the state machine definition: ${Object.keys(v).join(',')}`);
  };
  return JSON.parse(render(machines[0]!.Properties?.DefinitionString)) as AslDefinition;
}
