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
import { FUNCTION_NAMES, requiredVariables, type FunctionName } from '../../functions/adapters/env/capabilities';
import { ENV } from '../../functions/adapters/env/variables';
import { PARTITION_PREFIXES, type ItemKind } from '../../functions/adapters/dynamo/keys';
import { DEFAULT_KORE_TIMEOUT_MS } from '../../functions/adapters/kore/kore-client';
import { METRIC_NAMESPACE } from '../../functions/adapters/aws/metrics';
import { MAX_INLINE_RETRY_AFTER_MS } from '../../functions/workflow/task-deps';
import type { ErasureDeskConfig } from '../config';
import { acknowledge, acknowledgeWildcards, arnRef, resourceIs, type WildcardAllowance } from './nag';
import type { StaffIdentitySettings } from './staff-identity';

// The handler list and the capabilities each handler's code declares live with the code
// (functions/adapters/env/capabilities.ts); the stack checks its grants against them at synthesis.
export { FUNCTION_NAMES, type FunctionName };

/** CloudWatch namespace of the application's own metrics (OverdueRequests, CanaryFailed). */
export const METRICS_NAMESPACE = METRIC_NAMESPACE;

/**
 * The DynamoDB actions on the audit table that every function has: consistent GetItem and Query
 * on the table and its indexes. Nothing reads with BatchGetItem or Scan.
 */
export const TABLE_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query'] as const;

/**
 * What a function may write to the audit table, by action, each limited to the item kinds listed
 * (their partition-key prefixes, with the IAM condition `dynamodb:LeadingKeys`). Absent: the
 * function only reads.
 *
 * IAM cannot tell an event item (`REQ#<id>`/`EVT#…`) from the META item of the same request: they
 * share the partition key, and no IAM condition looks at the sort key or at a write's
 * ConditionExpression. Whoever appends events can therefore, in principle, overwrite one; the code
 * never does (every put is conditional, the only update of a request partition is META's
 * projection on `#lastSeq < :seq`, which no event item satisfies: see the conditional-writes
 * tests), and the hash chain with its signed checkpoints detects it if anyone else does.
 */
export interface TableWrites {
  readonly put?: readonly ItemKind[];
  readonly update?: readonly ItemKind[];
  readonly delete?: readonly ItemKind[];
  readonly batchWrite?: readonly ItemKind[];
}

/** The IAM action of each kind of write. */
const WRITE_ACTIONS: Record<keyof TableWrites, string> = {
  put: 'dynamodb:PutItem',
  update: 'dynamodb:UpdateItem',
  delete: 'dynamodb:DeleteItem',
  batchWrite: 'dynamodb:BatchWriteItem',
};

/** The `dynamodb:LeadingKeys` pattern of an item kind (`REQ#*`; `SNAPSHOT` is a whole key). */
export function leadingKeyPattern(kind: ItemKind): string {
  const prefix = PARTITION_PREFIXES[kind];
  return prefix.endsWith('#') ? `${prefix}*` : prefix;
}

/**
 * What one function may touch. Each capability adds both the environment variables the handler
 * reads and the matching IAM grant, so a variable can never be present without its permission
 * (or the other way round). The stack refuses to synthesize a function whose environment lacks a
 * variable its code declares (functions/adapters/env/capabilities.ts).
 */
interface FunctionSpec {
  readonly description: string;
  /** Writes to the audit table beyond reading; absent = read only. */
  readonly writes?: TableWrites;
  /**
   * KORE_BASE_URL + KORE_CREDENTIALS_SECRET_ARN (read), and the shared call budget every Kore.ai
   * call takes its turn from: KORE_BUDGET_* and UpdateItem on the `budget` item (added here, so a
   * function that calls Kore.ai can never do it outside the budget).
   */
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
  /** ROLES_REFRESH_FUNCTION_NAME + lambda:InvokeFunction on refresh-roles-snapshot (on-demand refresh). */
  readonly rolesRefresh?: boolean;
  /** STAFF_ISSUER, STAFF_AUDIENCE, STAFF_JWKS_URL, STAFF_ROLES_CLAIM. */
  readonly staff?: boolean;
  /** POLL_INITIAL_SECONDS, POLL_MAX_SECONDS, POLL_DEADLINE_SECONDS. */
  readonly poll?: boolean;
  /** SNAPSHOT_MAX_AGE_SECONDS. */
  readonly snapshot?: boolean;
  /** ERASURE_BATCH_SIZE, ERASURE_BATCH_GATHER_SECONDS (batched erasures). */
  readonly batching?: boolean;
  /** ROLES_REFRESH_SHARE, ROLES_REFRESH_INTERVAL_SECONDS (the paced roles refresh). */
  readonly rolePaging?: boolean;
  /** RECORD_RETENTION_DAYS (TTL of the records it creates). */
  readonly retention?: boolean;
  /** PUBLIC_BASE_URL (links in pages and mails). */
  readonly publicUrl?: boolean;
  /** STUCK_AFTER_SECONDS, RECEIVED_STALE_SECONDS, VERIFICATION_* and INTAKE_STALE_CLAIM_SECONDS, when configured. */
  readonly lifecycle?: boolean;
  /** VERIFY_LOOK_BACK_DAYS, VERIFY_LAG_SECONDS, VERIFY_SAMPLE_SHARE (the read-back of completed erasures). */
  readonly verification?: boolean;
  /** CANARY_BOT_IDS, CANARY_USER_ID. */
  readonly canary?: boolean;
  /** cloudwatch:PutMetricData, only in the ErasureDesk namespace. */
  readonly metrics?: boolean;
  readonly timeout: Duration;
  readonly memorySize: number;
  /**
   * A scheduled job that gets one reserved run when `reserveConcurrency` is on, so two runs never
   * overlap. Without it an overlap is harmless: a second start of an execution does nothing.
   */
  readonly singleton?: boolean;
}

const API_TIMEOUT = Duration.seconds(29); // HTTP API integrations time out at 30 s

/**
 * A bound on the DynamoDB calls around the one Kore.ai call of a task (repair the projection, read
 * the timeline and the snapshot, record the intent, the answer or the failure), each a few
 * milliseconds normally and retried by the SDK when throttled.
 */
export const TASK_STORE_ALLOWANCE_SECONDS = 10;

/**
 * Workflow tasks: the Kore.ai client's whole-call timeout, plus the longest `Retry-After` that
 * SubmitErasure waits out before it throws, plus the DynamoDB calls around them: 10 + 20 + 10 =
 * 40 s. The task states' heartbeat and timeout are longer still (erasure-workflow.ts), so Step
 * Functions never gives up on an invocation that is still running (a States.Timeout retry of a
 * SubmitErasure still sending its DELETE could send a second one).
 */
export const TASK_TIMEOUT = Duration.seconds(
  DEFAULT_KORE_TIMEOUT_MS / 1000 + MAX_INLINE_RETRY_AFTER_MS / 1000 + TASK_STORE_ALLOWANCE_SECONDS,
);

/** The least-privilege matrix: what each handler needs, and nothing else. */
export const FUNCTION_SPECS: Readonly<Record<FunctionName, FunctionSpec>> = {
  'public-api': {
    description: 'Public intake form, verification link and status page',
    // Requests and their events, the subject's open-request claim (released by marking it, not
    // deleting it), consumed link tokens, rate-limit windows. No delete, no batch write.
    writes: { put: ['request', 'subject', 'token'], update: ['request', 'subject', 'rate'] },
    appSecret: true,
    receipts: 'sign',
    mail: true,
    workflow: 'start',
    snapshot: true,
    lifecycle: true,
    retention: true,
    publicUrl: true,
    timeout: API_TIMEOUT,
    memorySize: 512,
  },
  'audit-api': {
    description: 'Read-only auditor API: list, timeline with chain check, export, report',
    appSecret: true,
    checkpoints: 'read',
    staff: true,
    timeout: API_TIMEOUT,
    memorySize: 1024,
  },
  'ops-api': {
    description: 'Ops API: submit on behalf, retry, cancel, re-check, extend, roles refresh',
    // Ops actions append events; a submission on behalf claims the subject like the intake.
    writes: { put: ['request', 'subject'], update: ['request', 'subject'] },
    appSecret: true,
    checkpoints: 'read',
    mail: true,
    workflow: 'manage',
    rolesRefresh: true,
    staff: true,
    snapshot: true,
    lifecycle: true,
    retention: true,
    publicUrl: true,
    timeout: API_TIMEOUT,
    memorySize: 512,
  },
  console: {
    // The console's buttons run the same ops actions as ops-api, in-process: the same grants,
    // plus its sign-out, which records the revoked session.
    description: 'Auditor and ops console (HTML); verifies the staff token itself, runs ops actions',
    writes: { put: ['request', 'subject', 'session'], update: ['request', 'subject'] },
    appSecret: true,
    checkpoints: 'read',
    mail: true,
    workflow: 'manage',
    rolesRefresh: true,
    staff: true,
    snapshot: true,
    lifecycle: true,
    retention: true,
    publicUrl: true,
    timeout: API_TIMEOUT,
    memorySize: 512,
  },
  'submit-erasure': {
    description: 'Workflow task: sends the erase request to Kore.ai for one attempt',
    // Joins, claims and answers batches of erasures (BATCH#), and writes each member's events.
    writes: { put: ['request'], update: ['request', 'batch'] },
    kore: true,
    batching: true,
    appSecret: true,
    poll: true,
    snapshot: true,
    timeout: TASK_TIMEOUT,
    memorySize: 256,
  },
  'check-erasure-status': {
    description: 'Workflow task: polls the Kore.ai erase job and decides the next wait',
    // Takes and shares the status check of a batch's job (JOB#).
    writes: { put: ['request'], update: ['request', 'job'] },
    kore: true,
    batching: true,
    appSecret: true,
    poll: true,
    timeout: TASK_TIMEOUT,
    memorySize: 256,
  },
  'record-outcome': {
    description: 'Workflow task: records the final outcome of an attempt and tells the subject',
    // The end of a request releases the subject's claim.
    writes: { put: ['request'], update: ['request', 'subject'] },
    appSecret: true,
    mail: true,
    publicUrl: true,
    retention: true,
    // Marks a completed erasure for read-back (sample share, lag).
    verification: true,
    timeout: TASK_TIMEOUT,
    memorySize: 256,
  },
  'refresh-roles-snapshot': {
    description: 'Schedule: rebuilds the privileged-identities snapshot from Kore.ai user roles',
    // Appends no event: it writes the identities and bots of a new snapshot version, then the pointer.
    writes: { put: ['snapshot'], batchWrite: ['identity', 'bot'] },
    kore: true,
    appSecret: true,
    snapshot: true,
    rolePaging: true,
    timeout: Duration.minutes(15),
    memorySize: 1024,
    singleton: true,
  },
  'sweep-requests': {
    description: 'Schedule: restarts stuck requests, expires unverified ones, publishes overdue counts',
    // The one delete: the META of a creation that died before its first event (it holds an
    // encrypted address nothing else would ever erase); the code deletes only on `lastSeq = 0`.
    writes: { put: ['request'], update: ['request', 'subject'], delete: ['request'] },
    // Continuing a request left VERIFIED is the intake's second half: eligibility and a notice.
    appSecret: true,
    mail: true,
    publicUrl: true,
    snapshot: true,
    workflow: 'manage',
    poll: true,
    lifecycle: true,
    retention: true,
    metrics: true,
    timeout: Duration.minutes(4),
    memorySize: 512,
    singleton: true,
  },
  'run-canary': {
    description: 'Schedule: end-to-end canary erasure of a test user',
    writes: { put: ['request', 'subject'], update: ['request', 'subject'] },
    appSecret: true,
    workflow: 'start',
    snapshot: true,
    lifecycle: true,
    retention: true,
    canary: true,
    metrics: true,
    timeout: Duration.minutes(2),
    memorySize: 256,
    singleton: true,
  },
  'verify-erasures': {
    description: 'Schedule: reads completed erasures back from Kore.ai sessions history (verified, data-found, not-verified)',
    // Appends the read-back's events; an outcome that stands releases the subject's claim (already
    // released at completion: the write is a no-op) and drops the subject id.
    writes: { put: ['request'], update: ['request', 'subject'] },
    kore: true,
    appSecret: true,
    verification: true,
    metrics: true,
    timeout: Duration.minutes(4),
    memorySize: 256,
    singleton: true,
  },
  'sign-checkpoints': {
    // Reads chain heads and signs them: no table write and no app secret (it handles hashes only,
    // never a subject key that could decrypt a plain subject id).
    description: 'Schedule: signs audit-chain checkpoints into the Object Lock bucket',
    checkpoints: 'write',
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
  /**
   * Reserve one concurrent execution for each scheduled job. Opt-in: Lambda keeps 100 executions
   * of the account unreserved, so an account below 100 + the jobs refuses it (a new one has 10).
   */
  readonly reserveConcurrency: boolean;
}

/**
 * Every Lambda function of the app: Node.js 22 on ARM64, ESM bundles built by esbuild with the
 * AWS SDK v3 left to the runtime, active tracing, its own log group and its own role.
 */
export class Functions extends Construct {
  readonly functions: Partial<Record<FunctionName, nodejs.NodejsFunction>> = {};
  private readonly config: ErasureDeskConfig;
  /** The environment given to each function so far (the functions' own copy is not readable back). */
  private readonly environments: Partial<Record<FunctionName, Record<string, string>>> = {};

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    this.config = props.config;
    const bundled = Stack.of(this).bundlingRequired;
    const names = FUNCTION_NAMES.filter((n) => n !== 'run-canary' || props.config.canary !== undefined);
    const root = bundled ? props.projectRoot : placeholderProjectRoot();
    for (const name of names) this.functions[name] = this.createFunction(name, FUNCTION_SPECS[name], root, props);
    this.connectRolesRefresh();
    // Checked at synthesis, after the workflow and the API have added their variables.
    this.node.addValidation({ validate: () => this.missingVariables() });
  }

  /** Sets a variable on a function and remembers it for the synthesis check. */
  private setEnvironment(name: FunctionName, key: string, value: string): void {
    this.fn(name).addEnvironment(key, value);
    (this.environments[name] ??= {})[key] = value;
  }

  /**
   * Every variable a function's code declares it needs (its capabilities) that the stack does not
   * give it: a function that would refuse to start in AWS fails `cdk synth` instead.
   */
  private missingVariables(): string[] {
    return this.entries().flatMap(([name]) =>
      requiredVariables(name)
        .filter((variable) => !(variable in (this.environments[name] ?? {})))
        .map((variable) => `Function ${name} needs ${variable} (declared in functions/adapters/env/capabilities.ts) but the stack does not set it`),
    );
  }

  /**
   * Lets the console and the ops API ask refresh-roles-snapshot for a new snapshot: invoke that
   * one function (its unqualified ARN, no versions or aliases), nothing else.
   */
  private connectRolesRefresh(): void {
    const refresh = this.functions['refresh-roles-snapshot'];
    for (const [name, fn] of this.entries()) {
      if (!FUNCTION_SPECS[name].rolesRefresh || !refresh) continue;
      this.setEnvironment(name, ENV.ROLES_REFRESH_FUNCTION_NAME, refresh.functionName);
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [refresh.functionArn] }));
    }
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
      this.setEnvironment(name, ENV.STATE_MACHINE_ARN, stateMachine.stateMachineArn);
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
    for (const [name] of this.entries()) {
      if (FUNCTION_SPECS[name].publicUrl) this.setEnvironment(name, ENV.PUBLIC_BASE_URL, url);
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
    if (spec.writes) {
      allowances.push({
        finding: /^Action::kms:(GenerateDataKey|ReEncrypt)\*$/,
        reason: 'The write actions CDK grants on the audit table\'s customer-managed key for item writes (as Table.grantWriteData does); the grant is on that one key only.',
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

  /**
   * Reads (GetItem, Query on the table and its indexes) for every function; each write action
   * only where the spec lists it, on the item kinds listed (`dynamodb:LeadingKeys`). The table's
   * customer-managed key: decrypt for readers, also encrypt for writers.
   */
  private grantTable(role: iam.IRole, writes: TableWrites | undefined, props: FunctionsProps): void {
    const { table } = props;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: [...TABLE_READ_ACTIONS], resources: [table.tableArn, `${table.tableArn}/index/*`] }),
    );
    for (const [kind, kinds] of Object.entries(writes ?? {}) as Array<[keyof TableWrites, readonly ItemKind[]]>) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [WRITE_ACTIONS[kind]],
          resources: [table.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': kinds.map(leadingKeyPattern) } },
        }),
      );
    }
    props.tableKey.grant(role, 'kms:Decrypt', 'kms:DescribeKey', ...(writes ? ['kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'] : []));
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
      [ENV.POWERTOOLS_SERVICE_NAME]: `erasure-desk-${name}`,
      [ENV.LOG_LEVEL]: 'INFO',
      [ENV.NODE_OPTIONS]: '--enable-source-maps',
      [ENV.TABLE_NAME]: props.table.tableName,
    };
    this.grantTable(role, spec.kore ? { ...spec.writes, update: [...(spec.writes?.update ?? []), 'budget'] } : spec.writes, props);
    if (spec.kore) {
      env[ENV.KORE_BASE_URL] = config.koreBaseUrl;
      env[ENV.KORE_CREDENTIALS_SECRET_ARN] = props.koreCredentials.secretArn;
      if (config.koreTimeoutMs !== undefined) env[ENV.KORE_TIMEOUT_MS] = String(config.koreTimeoutMs);
      env[ENV.KORE_BUDGET_PER_MINUTE] = String(config.koreBudget.perMinute);
      env[ENV.KORE_BUDGET_PER_HOUR] = String(config.koreBudget.perHour);
      env[ENV.KORE_BUDGET_MARGIN] = String(config.koreBudget.margin);
      env[ENV.KORE_BUDGET_TIME_SCALE] = String(config.koreBudget.timeScale);
      props.koreCredentials.grantRead(role);
    }
    if (spec.appSecret) {
      env[ENV.APP_SECRET_ARN] = props.appSecret.secretArn;
      props.appSecret.grantRead(role);
    }
    if (spec.receipts) {
      env[ENV.RECEIPT_SIGNING_KEY_ID] = props.receiptSigningKey.keyId;
      props.receiptSigningKey.grant(role, 'kms:Sign', 'kms:GetPublicKey');
    }
    if (spec.checkpoints) {
      // Reading checkpoints means verifying them (the signer reads the previous ones too); only a
      // writer may sign with the checkpoint key.
      env[ENV.CHECKPOINT_BUCKET] = props.checkpointBucket.bucketName;
      env[ENV.CHECKPOINT_SIGNING_KEY_ID] = props.checkpointSigningKey.keyId;
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
      env[ENV.MAIL_FROM] = config.mailFrom;
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
      env[ENV.STAFF_ISSUER] = props.staff.issuer;
      env[ENV.STAFF_AUDIENCE] = props.staff.audience;
      env[ENV.STAFF_JWKS_URL] = props.staff.jwksUrl;
      env[ENV.STAFF_ROLES_CLAIM] = config.rolesClaim;
    }
    if (spec.poll) {
      env[ENV.POLL_INITIAL_SECONDS] = String(config.pollInitialSeconds);
      env[ENV.POLL_MAX_SECONDS] = String(config.pollMaxSeconds);
      env[ENV.POLL_DEADLINE_SECONDS] = String(config.pollDeadlineSeconds);
    }
    if (spec.snapshot) env[ENV.SNAPSHOT_MAX_AGE_SECONDS] = String(config.snapshotMaxAgeSeconds);
    if (spec.batching) {
      env[ENV.ERASURE_BATCH_SIZE] = String(config.erasureBatch.size);
      env[ENV.ERASURE_BATCH_GATHER_SECONDS] = String(config.erasureBatch.gatherSeconds);
    }
    if (spec.rolePaging) {
      env[ENV.ROLES_REFRESH_SHARE] = String(config.rolesRefresh.share);
      env[ENV.ROLES_REFRESH_INTERVAL_SECONDS] = String(config.rolesRefresh.intervalSeconds);
    }
    if (spec.verification) {
      env[ENV.VERIFY_LOOK_BACK_DAYS] = String(config.verification.lookBackDays);
      env[ENV.VERIFY_LAG_SECONDS] = String(config.verification.lagSeconds);
      env[ENV.VERIFY_SAMPLE_SHARE] = String(config.verification.sampleShare);
    }
    if (spec.lifecycle) Object.assign(env, Object.fromEntries(Object.entries(config.lifecycle).map(([k, v]) => [k, String(v)])));
    if (spec.retention) env[ENV.RECORD_RETENTION_DAYS] = String(config.recordRetentionDays);
    if (spec.canary && config.canary) {
      env[ENV.CANARY_BOT_IDS] = config.canary.botIds.join(',');
      env[ENV.CANARY_USER_ID] = config.canary.userId;
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
    this.environments[name] = env;

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
