import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ErasureDeskConfig } from '../config';
import { acknowledge, acknowledgeWildcards, arnRef, resourceIs, type WildcardAllowance } from './nag';
import type { StaffIdentitySettings } from './staff-identity';

/** Every Lambda handler, by its file name under `functions/` (each exports `handler`). */
export const FUNCTION_NAMES = [
  'public-api',
  'audit-api',
  'ops-api',
  'console',
  'submit-erasure',
  'check-erasure-status',
  'record-outcome',
  'refresh-roles-snapshot',
  'sweep-requests',
  'run-canary',
  'sign-checkpoints',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** CloudWatch namespace of the application's own metrics (OverdueRequests, CanaryFailed). */
export const METRICS_NAMESPACE = 'ErasureDesk';

/**
 * What one function may touch. Each capability adds both the environment variables the handler
 * reads and the matching IAM grant, so a variable can never be present without its permission
 * (or the other way round).
 */
interface FunctionSpec {
  readonly description: string;
  /** `read` = no writes at all; `readPut` = read + PutItem only; `readWrite` = full item access. */
  readonly table: 'read' | 'readPut' | 'readWrite';
  /** KORE_BASE_URL + KORE_CREDENTIALS_SECRET_ARN (read). */
  readonly kore?: boolean;
  /** APP_SECRET_ARN (read): subject HMAC/encryption key, signed-link key. */
  readonly appSecret?: boolean;
  /** RECEIPT_SIGNING_KEY_ID: kms:Sign and kms:GetPublicKey on the receipt key (never the checkpoint key). */
  readonly receipts?: 'sign';
  /**
   * CHECKPOINT_BUCKET + CHECKPOINT_SIGNING_KEY_ID: `read` = GetObject/ListBucket and
   * kms:GetPublicKey/kms:Verify on the checkpoint key; `write` = also PutObject and kms:Sign on it.
   */
  readonly checkpoints?: 'read' | 'write';
  /** MAIL_FROM + ses:SendEmail scoped to that identity (only when mailFrom is configured). */
  readonly mail?: boolean;
  /** STATE_MACHINE_ARN: `start` = start + describe; `manage` = also list, redrive and stop. */
  readonly workflow?: 'start' | 'manage';
  /** STAFF_ISSUER, STAFF_AUDIENCE, STAFF_JWKS_URL, STAFF_ROLES_CLAIM. */
  readonly staff?: boolean;
  /** POLL_INITIAL_SECONDS, POLL_MAX_SECONDS, POLL_DEADLINE_SECONDS. */
  readonly poll?: boolean;
  /** SNAPSHOT_MAX_AGE_SECONDS. */
  readonly snapshot?: boolean;
  /** RECORD_RETENTION_DAYS (TTL of the records it creates). */
  readonly retention?: boolean;
  /** PUBLIC_BASE_URL (links in pages and mails). */
  readonly publicUrl?: boolean;
  /** CANARY_BOT_IDS, CANARY_USER_ID. */
  readonly canary?: boolean;
  /** cloudwatch:PutMetricData, only in the ErasureDesk namespace. */
  readonly metrics?: boolean;
  readonly timeout: Duration;
  readonly memorySize: number;
  /** Scheduled jobs run one at a time: overlapping sweeps could double-start a workflow. */
  readonly singleton?: boolean;
}

const API_TIMEOUT = Duration.seconds(29); // HTTP API integrations time out at 30 s
// Below the Task state's HeartbeatSeconds (30) and TimeoutSeconds (60): a task Lambda never
// outlives either, so Step Functions never times out an invocation that is still running.
const TASK_TIMEOUT = Duration.seconds(25);

/** The least-privilege matrix: what each handler needs, and nothing else. */
export const FUNCTION_SPECS: Readonly<Record<FunctionName, FunctionSpec>> = {
  'public-api': {
    description: 'Public intake form, verification link and status page',
    table: 'readWrite',
    appSecret: true,
    receipts: 'sign',
    mail: true,
    workflow: 'start',
    snapshot: true,
    retention: true,
    publicUrl: true,
    timeout: API_TIMEOUT,
    memorySize: 512,
  },
  'audit-api': {
    description: 'Read-only auditor API: list, timeline with chain check, export, report',
    table: 'read',
    appSecret: true,
    checkpoints: 'read',
    staff: true,
    timeout: API_TIMEOUT,
    memorySize: 1024,
  },
  'ops-api': {
    description: 'Ops API: submit on behalf, retry, cancel, re-check, extend, roles refresh',
    table: 'readWrite',
    kore: true,
    appSecret: true,
    mail: true,
    workflow: 'manage',
    staff: true,
    snapshot: true,
    retention: true,
    publicUrl: true,
    timeout: API_TIMEOUT,
    memorySize: 512,
  },
  console: {
    // The console's buttons run the same ops actions as ops-api, in-process: the same grants.
    description: 'Auditor and ops console (HTML); verifies the staff token itself, runs ops actions',
    table: 'readWrite',
    kore: true,
    appSecret: true,
    checkpoints: 'read',
    mail: true,
    workflow: 'manage',
    staff: true,
    snapshot: true,
    retention: true,
    publicUrl: true,
    timeout: API_TIMEOUT,
    memorySize: 512,
  },
  'submit-erasure': {
    description: 'Workflow task: sends the erase request to Kore.ai for one attempt',
    table: 'readWrite',
    kore: true,
    appSecret: true,
    poll: true,
    snapshot: true,
    timeout: TASK_TIMEOUT,
    memorySize: 256,
  },
  'check-erasure-status': {
    description: 'Workflow task: polls the Kore.ai erase job and decides the next wait',
    table: 'readWrite',
    kore: true,
    appSecret: true,
    poll: true,
    timeout: TASK_TIMEOUT,
    memorySize: 256,
  },
  'record-outcome': {
    description: 'Workflow task: records the final outcome of an attempt and tells the subject',
    table: 'readWrite',
    appSecret: true,
    mail: true,
    publicUrl: true,
    retention: true,
    timeout: TASK_TIMEOUT,
    memorySize: 256,
  },
  'refresh-roles-snapshot': {
    description: 'Schedule: rebuilds the privileged-identities snapshot from Kore.ai user roles',
    table: 'readWrite',
    kore: true,
    appSecret: true,
    snapshot: true,
    timeout: Duration.minutes(15),
    memorySize: 1024,
    singleton: true,
  },
  'sweep-requests': {
    description: 'Schedule: restarts stuck requests, expires unverified ones, publishes overdue counts',
    table: 'readWrite',
    // Continuing a request left VERIFIED is the intake's second half: eligibility and a notice.
    appSecret: true,
    mail: true,
    publicUrl: true,
    snapshot: true,
    workflow: 'manage',
    poll: true,
    retention: true,
    metrics: true,
    timeout: Duration.minutes(4),
    memorySize: 512,
    singleton: true,
  },
  'run-canary': {
    description: 'Schedule: end-to-end canary erasure of a test user',
    table: 'readWrite',
    appSecret: true,
    workflow: 'start',
    snapshot: true,
    retention: true,
    canary: true,
    metrics: true,
    timeout: Duration.minutes(2),
    memorySize: 256,
    singleton: true,
  },
  'sign-checkpoints': {
    description: 'Schedule: signs audit-chain checkpoints into the Object Lock bucket',
    table: 'readPut',
    checkpoints: 'write',
    retention: true,
    timeout: Duration.minutes(5),
    memorySize: 512,
    singleton: true,
  },
};

export interface FunctionsProps {
  readonly config: ErasureDeskConfig;
  /**
   * Directory holding `package-lock.json` and `functions/<name>.ts`. Used when the stack is
   * bundled; when bundling is skipped (`aws:cdk:bundling-stacks` excludes the stack) the code is
   * never read, so the functions point at a generated directory of empty entry files instead and
   * synthesis works before (or without) the handler sources.
   */
  readonly projectRoot: string;
  readonly table: dynamodb.ITable;
  readonly tableKey: kms.IKey;
  readonly koreCredentials: secretsmanager.ISecret;
  readonly appSecret: secretsmanager.ISecret;
  /** Signs erasure receipts only. */
  readonly receiptSigningKey: kms.IKey;
  /** Signs audit-chain checkpoints only (sign-checkpoints alone may use it to sign). */
  readonly checkpointSigningKey: kms.IKey;
  readonly checkpointBucket: s3.IBucket;
  readonly staff: StaffIdentitySettings;
  /** Reserve one concurrent execution for each scheduled job (needs an account limit above 10). */
  readonly reserveConcurrency: boolean;
}

/**
 * Every Lambda function of the app: Node.js 22 on ARM64, ESM bundles built by esbuild with the
 * AWS SDK v3 left to the runtime, active tracing, its own log group and its own role.
 */
export class Functions extends Construct {
  readonly functions: Partial<Record<FunctionName, nodejs.NodejsFunction>> = {};
  private readonly config: ErasureDeskConfig;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    this.config = props.config;
    const bundled = Stack.of(this).bundlingRequired;
    const names = FUNCTION_NAMES.filter((n) => n !== 'run-canary' || props.config.canary !== undefined);
    const root = bundled ? props.projectRoot : placeholderProjectRoot();
    for (const name of names) this.functions[name] = this.createFunction(name, FUNCTION_SPECS[name], root, props);
  }

  /** The function of a handler; throws when it is not part of this deployment (run-canary without canary config). */
  fn(name: FunctionName): nodejs.NodejsFunction {
    const f = this.functions[name];
    if (!f) throw new Error(`Function ${name} is not deployed with this configuration`);
    return f;
  }

  /** All deployed functions with their names. */
  entries(): Array<[FunctionName, nodejs.NodejsFunction]> {
    return Object.entries(this.functions) as Array<[FunctionName, nodejs.NodejsFunction]>;
  }

  /** Gives the functions that start or manage workflows the state machine ARN and their grants. */
  connectWorkflow(stateMachine: sfn.StateMachine): void {
    for (const [name, fn] of this.entries()) {
      const access = FUNCTION_SPECS[name].workflow;
      if (!access) continue;
      fn.addEnvironment('STATE_MACHINE_ARN', stateMachine.stateMachineArn);
      stateMachine.grantStartExecution(fn);
      const executionActions = ['states:DescribeExecution'];
      if (access === 'manage') {
        executionActions.push('states:RedriveExecution', 'states:StopExecution');
        stateMachine.grant(fn, 'states:ListExecutions');
      }
      stateMachine.grantExecution(fn, ...executionActions);
    }
    const machine = () => Stack.of(stateMachine).getLogicalId(stateMachine.node.defaultChild as CfnElement);
    for (const [name, fn] of this.entries()) {
      if (!FUNCTION_SPECS[name].workflow || !fn.role) continue;
      acknowledgeWildcards(fn.role, [
        {
          finding: (f) => f.startsWith('Resource::') && f.includes(':execution:') && f.includes(`"${machine()}"`) && f.endsWith(':*'),
          reason: 'Executions are named <requestId>-<attempt> at run time; the wildcard covers only executions of the erasure state machine.',
        },
      ]);
    }
  }

  /** Sets PUBLIC_BASE_URL (configured origin, else the API's own URL) where links are built. */
  connectPublicUrl(apiUrl: string): void {
    const url = this.config.publicBaseUrl ?? apiUrl;
    for (const [name, fn] of this.entries()) {
      if (FUNCTION_SPECS[name].publicUrl) fn.addEnvironment('PUBLIC_BASE_URL', url);
    }
  }

  /** The wildcards each capability brings with it, and why each is acceptable. */
  private wildcardAllowances(spec: FunctionSpec, props: FunctionsProps): WildcardAllowance[] {
    const table = arnRef(props.table);
    const allowances: WildcardAllowance[] = [
      {
        finding: /^Resource::\*$/,
        reason: spec.metrics
          ? 'xray:PutTraceSegments/PutTelemetryRecords (active tracing) and cloudwatch:PutMetricData support no resource-level permissions; PutMetricData is limited to the ErasureDesk namespace by an IAM condition.'
          : 'xray:PutTraceSegments and xray:PutTelemetryRecords, needed for active X-Ray tracing, support no resource-level permissions in IAM, so their resource must be "*".',
      },
      {
        finding: resourceIs(() => `${table()}/index/*`),
        reason: 'Queries the byStatus and bySubject GSIs of the audit table; the wildcard covers only the indexes of this one table.',
      },
    ];
    if (spec.table === 'readWrite') {
      allowances.push({
        finding: /^Action::kms:(GenerateDataKey|ReEncrypt)\*$/,
        reason: 'Table.grantReadWriteData on the audit table\'s customer-managed key: DynamoDB needs these to encrypt items; the grant is on that one key only.',
      });
    }
    if (spec.checkpoints) {
      const bucket = arnRef(props.checkpointBucket);
      allowances.push({
        finding: resourceIs(() => `${bucket()}/checkpoints/*`),
        reason: 'Checkpoint objects are keyed by time under checkpoints/ in the Object Lock bucket; the wildcard covers that prefix of that one bucket.',
      });
    }
    return allowances;
  }

  private createFunction(
    name: FunctionName,
    spec: FunctionSpec,
    root: string,
    props: FunctionsProps,
  ): nodejs.NodejsFunction {
    const { config } = props;
    const id = pascal(name);
    const stack = Stack.of(this);
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: logs.RetentionDays.SIX_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An own role per function instead of the AWSLambdaBasicExecutionRole managed policy: it
    // may write to its own log group only.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `erasure desk ${name}`,
    });
    logGroup.grantWrite(role);

    const env: Record<string, string> = {
      POWERTOOLS_SERVICE_NAME: `erasure-desk-${name}`,
      LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
      TABLE_NAME: props.table.tableName,
    };
    if (spec.table === 'read') props.table.grantReadData(role);
    else if (spec.table === 'readWrite') props.table.grantReadWriteData(role);
    else {
      props.table.grantReadData(role);
      props.table.grant(role, 'dynamodb:PutItem');
      props.tableKey.grant(role, 'kms:Encrypt', 'kms:GenerateDataKey');
    }
    if (spec.kore) {
      env.KORE_BASE_URL = config.koreBaseUrl;
      env.KORE_CREDENTIALS_SECRET_ARN = props.koreCredentials.secretArn;
      props.koreCredentials.grantRead(role);
    }
    if (spec.appSecret) {
      env.APP_SECRET_ARN = props.appSecret.secretArn;
      props.appSecret.grantRead(role);
    }
    if (spec.receipts) {
      env.RECEIPT_SIGNING_KEY_ID = props.receiptSigningKey.keyId;
      props.receiptSigningKey.grant(role, 'kms:Sign', 'kms:GetPublicKey');
    }
    if (spec.checkpoints) {
      // Reading checkpoints means verifying them (the signer reads the previous ones too); only a
      // writer may sign with the checkpoint key.
      env.CHECKPOINT_BUCKET = props.checkpointBucket.bucketName;
      env.CHECKPOINT_SIGNING_KEY_ID = props.checkpointSigningKey.keyId;
      props.checkpointSigningKey.grant(role, 'kms:GetPublicKey', 'kms:Verify', ...(spec.checkpoints === 'write' ? ['kms:Sign'] : []));
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject', 's3:GetObjectVersion', ...(spec.checkpoints === 'write' ? ['s3:PutObject'] : [])],
          resources: [props.checkpointBucket.arnForObjects('checkpoints/*')],
        }),
      );
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.checkpointBucket.bucketArn] }));
    }
    if (spec.mail && config.mailFrom) {
      env.MAIL_FROM = config.mailFrom;
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['ses:SendEmail', 'ses:SendRawEmail'],
          resources: sesIdentities(config.mailFrom).map((identity) =>
            stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity }),
          ),
        }),
      );
    }
    if (spec.staff) {
      env.STAFF_ISSUER = props.staff.issuer;
      env.STAFF_AUDIENCE = props.staff.audience;
      env.STAFF_JWKS_URL = props.staff.jwksUrl;
      env.STAFF_ROLES_CLAIM = config.rolesClaim;
    }
    if (spec.poll) {
      env.POLL_INITIAL_SECONDS = String(config.pollInitialSeconds);
      env.POLL_MAX_SECONDS = String(config.pollMaxSeconds);
      env.POLL_DEADLINE_SECONDS = String(config.pollDeadlineSeconds);
    }
    if (spec.snapshot) env.SNAPSHOT_MAX_AGE_SECONDS = String(config.snapshotMaxAgeSeconds);
    if (spec.retention) env.RECORD_RETENTION_DAYS = String(config.recordRetentionDays);
    if (spec.canary && config.canary) {
      env.CANARY_BOT_IDS = config.canary.botIds.join(',');
      env.CANARY_USER_ID = config.canary.userId;
    }
    if (spec.metrics) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': METRICS_NAMESPACE } },
        }),
      );
    }

    acknowledgeWildcards(role, this.wildcardAllowances(spec, props));

    const fn = new nodejs.NodejsFunction(this, id, {
      entry: join(root, 'functions', `${name}.ts`),
      handler: 'handler',
      projectRoot: root,
      depsLockFilePath: join(root, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      description: spec.description,
      memorySize: spec.memorySize,
      timeout: spec.timeout,
      tracing: lambda.Tracing.ACTIVE,
      logGroup,
      role,
      environment: env,
      reservedConcurrentExecutions: spec.singleton && props.reserveConcurrency ? 1 : undefined,
      bundling: BUNDLING,
    });
    acknowledge(
      fn,
      'AwsSolutions-L1',
      'Node.js 22 is the project\'s pinned runtime (DESIGN.md: handlers, tests and the local runtime all run on Node 22); moving to a newer runtime is a deliberate, tested upgrade.',
    );
    return fn;
  }
}

/**
 * esbuild settings of every function: one minified ESM file per handler with a source map,
 * the AWS SDK v3 left to the Node.js 22 runtime, and a `require` for bundled CommonJS code.
 */
export const BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.ESM,
  target: 'node22',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  externalModules: ['@aws-sdk/*'],
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
};

/** SES authorises a send against the address identity or, when only the domain is verified, the domain. */
function sesIdentities(mailFrom: string): string[] {
  const at = mailFrom.lastIndexOf('@');
  return at < 0 ? [mailFrom] : [mailFrom, mailFrom.slice(at + 1)];
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
}

/**
 * A project root with an empty `package-lock.json` and one empty entry per handler, for
 * synthesis without bundling (NodejsFunction insists that the entry exists even then; the
 * content is never read). It lives at a fixed path under the OS temp directory and is created
 * idempotently, so concurrent test workers share it and nothing is left per process.
 */
export function placeholderProjectRoot(): string {
  const root = join(tmpdir(), 'erasure-desk-unbundled');
  mkdirSync(join(root, 'functions'), { recursive: true });
  const ensure = (file: string, content: string) => {
    if (!existsSync(file)) writeFileSync(file, content);
  };
  ensure(join(root, 'package-lock.json'), '{}\n');
  for (const name of FUNCTION_NAMES) {
    ensure(join(root, 'functions', `${name}.ts`), 'export const handler = async () => undefined;\n');
  }
  return root;
}
