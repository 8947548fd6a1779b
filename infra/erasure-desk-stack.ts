import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ErasureDeskConfig } from './config';
import { Alarms } from './constructs/alarms';
import { Api } from './constructs/api';
import { AuditTable } from './constructs/audit-table';
import { CheckpointBucket } from './constructs/checkpoint-bucket';
import { ErasureWorkflow } from './constructs/erasure-workflow';
import { Functions, TASK_TIMEOUT } from './constructs/functions';
import { MailIdentity } from './constructs/mail-identity';
import { Schedules } from './constructs/schedules';
import { AppSecrets } from './constructs/secrets';
import { StaffUserPool, type StaffIdentitySettings } from './constructs/staff-identity';

export interface ErasureDeskStackProps extends StackProps {
  readonly config: ErasureDeskConfig;
  /** Directory with `package-lock.json` and `functions/` (the repository root). */
  readonly projectRoot: string;
}

/**
 * The whole erasure desk in one stack: the stateful parts (audit table, secrets and keys,
 * checkpoint bucket, staff user pool) are built first and handed as props to the parts that can be
 * redeployed freely (functions, workflow, API, schedules, alarms). Every stateful resource is
 * retained when the stack is deleted.
 */
export class ErasureDeskStack extends Stack {
  readonly auditTable: AuditTable;
  readonly secrets: AppSecrets;
  readonly checkpoints: CheckpointBucket;
  /** The SES identity of `mailFrom`, unless it exists in the account already (`mailIdentity=existing`). */
  readonly mailIdentity?: MailIdentity;
  readonly staffUserPool?: StaffUserPool;
  readonly functions: Functions;
  readonly workflow: ErasureWorkflow;
  readonly api: Api;
  readonly schedules: Schedules;
  readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: ErasureDeskStackProps) {
    super(scope, id, {
      description: 'Erasure desk: GDPR right-to-erasure requests for the Kore.ai XO Platform',
      ...props,
    });
    const { config } = props;

    // Stateful
    this.auditTable = new AuditTable(this, 'AuditTable');
    this.secrets = new AppSecrets(this, 'Secrets');
    this.checkpoints = new CheckpointBucket(this, 'Checkpoints', { retentionDays: config.recordRetentionDays, lockMode: config.checkpointLockMode });
    if (config.mailFrom && config.createMailIdentity) this.mailIdentity = new MailIdentity(this, 'Mail', { mailFrom: config.mailFrom });
    let staff: StaffIdentitySettings;
    if (config.staffIdentity) {
      staff = config.staffIdentity;
    } else {
      this.staffUserPool = new StaffUserPool(this, 'Staff');
      staff = this.staffUserPool.settings;
    }

    // Stateless
    this.functions = new Functions(this, 'Functions', {
      config,
      projectRoot: props.projectRoot,
      table: this.auditTable.table,
      tableKey: this.auditTable.key,
      koreCredentials: this.secrets.koreCredentials,
      appSecret: this.secrets.appSecret,
      receiptSigningKey: this.secrets.receiptSigningKey,
      checkpointSigningKey: this.secrets.checkpointSigningKey,
      checkpointBucket: this.checkpoints.bucket,
      staff,
      reserveConcurrency: config.reserveConcurrency,
    });
    const fn = (name: Parameters<Functions['fn']>[0]) => this.functions.fn(name);

    this.workflow = new ErasureWorkflow(this, 'ErasureWorkflow', {
      submitErasure: fn('submit-erasure'),
      checkErasureStatus: fn('check-erasure-status'),
      recordOutcome: fn('record-outcome'),
      taskFunctionTimeout: TASK_TIMEOUT,
      pollDeadlineSeconds: config.pollDeadlineSeconds,
    });
    this.functions.connectWorkflow(this.workflow.stateMachine);

    this.api = new Api(this, 'Api', {
      handlers: {
        'public-api': fn('public-api'),
        'audit-api': fn('audit-api'),
        'ops-api': fn('ops-api'),
        console: fn('console'),
      },
      staff,
      throttle: config.apiThrottle,
    });
    this.functions.connectPublicUrl(this.api.url);
    this.staffUserPool?.setConsoleOrigin(config.publicBaseUrl ?? this.api.url);

    this.schedules = new Schedules(this, 'Schedules', {
      refreshRolesSnapshot: fn('refresh-roles-snapshot'),
      sweepRequests: fn('sweep-requests'),
      signCheckpoints: fn('sign-checkpoints'),
      verifyErasures: fn('verify-erasures'),
      runCanary: config.canary ? fn('run-canary') : undefined,
    });

    this.alarms = new Alarms(this, 'Alarms', {
      alarmEmail: config.alarmEmail,
      stateMachine: this.workflow.stateMachine,
      httpApi: this.api.httpApi,
      functions: this.functions.entries(),
      canary: config.canary !== undefined,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Public form: <ApiUrl>/ ; console: <ApiUrl>/console' });
    new CfnOutput(this, 'KoreCredentialsSecretArn', {
      value: this.secrets.koreCredentials.secretArn,
      description: 'Put {"clientId","clientSecret"} of the Kore.ai app here after the first deploy',
    });
    new CfnOutput(this, 'StateMachineArn', { value: this.workflow.stateMachine.stateMachineArn });
    new CfnOutput(this, 'TableName', { value: this.auditTable.table.tableName });
    new CfnOutput(this, 'CheckpointBucketName', { value: this.checkpoints.bucket.bucketName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
    if (this.staffUserPool) {
      new CfnOutput(this, 'StaffUserPoolId', { value: this.staffUserPool.userPool.userPoolId });
      new CfnOutput(this, 'StaffClientId', { value: this.staffUserPool.client.userPoolClientId });
      new CfnOutput(this, 'StaffSignInDomain', { value: this.staffUserPool.domain.baseUrl() });
    }
  }
}
