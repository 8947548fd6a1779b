import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_TABLE_SCHEMA } from '../../infra/constructs/audit-table';
import { ROUTES } from '../../infra/constructs/api';
import { FUNCTION_NAMES } from '../../infra/constructs/functions';
import { actionsOf, envOf, joinToString, lambdaOf, resourcesOfType, statementsOf, removeAssemblies, synth, type Synthesized } from './support';

// One synth per configuration, shared read-only by the tests of this file.
let base: Synthesized;
let configured: Synthesized;

afterAll(removeAssemblies);

beforeAll(() => {
  base = synth();
  configured = synth({
    context: {
      staffIssuer: 'https://login.example.com',
      staffAudience: 'erasure-desk-staff',
      staffJwksUrl: 'https://login.example.com/jwks.json',
      rolesClaim: 'roles',
      mailFrom: 'privacy@example.com',
      alarmEmail: 'oncall@example.com',
      canaryBotIds: 'st-canary-1',
      canaryUserId: 'canary@example.com',
      publicBaseUrl: 'https://erasure.example.com',
      apiThrottleRate: '5',
      apiThrottleBurst: '10',
      reserveConcurrency: 'false',
    },
  });
});

/** Logical ids a resource refers to (Ref, Fn::GetAtt, DependsOn), pseudo parameters excluded. */
function dependencies(resource: Record<string, unknown>, ids: Set<string>): string[] {
  const found = new Set<string>();
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      for (const [k, inner] of Object.entries(v)) {
        if (k === 'Ref' && typeof inner === 'string' && ids.has(inner)) found.add(inner);
        else if (k === 'Fn::GetAtt' && Array.isArray(inner) && ids.has(inner[0] as string)) found.add(inner[0] as string);
        else if (k === 'Fn::Sub' && typeof inner === 'string') {
          for (const m of inner.matchAll(/\$\{([A-Za-z0-9]+)/g)) if (ids.has(m[1]!)) found.add(m[1]!);
        } else visit(inner);
      }
    }
  };
  visit(resource.Properties);
  for (const d of ([] as string[]).concat((resource.DependsOn as string[] | string | undefined) ?? [])) found.add(d);
  return [...found];
}

describe('template', () => {
  it.each([
    ['default', () => base],
    ['fully configured', () => configured],
  ])('has no dependency cycle CloudFormation would refuse (%s)', (_name, get) => {
    const { json } = get();
    const ids = new Set(Object.keys(json.Resources));
    const graph = new Map([...ids].map((id) => [id, dependencies(json.Resources[id]!, ids)]));
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const walk = (id: string, trail: string[]) => {
      if (state.get(id) === 'done') return;
      if (state.get(id) === 'visiting') {
        cycles.push([...trail.slice(trail.indexOf(id)), id].join(' -> '));
        return;
      }
      state.set(id, 'visiting');
      for (const dep of graph.get(id)!) walk(dep, [...trail, id]);
      state.set(id, 'done');
    };
    for (const id of ids) walk(id, []);
    expect(cycles).toEqual([]);
    expect([...graph.values()].flat().length).toBeGreaterThan(ids.size);
  });
});

describe('audit table', () => {
  it('is one pay-per-request table keyed pk/sk with both GSIs, TTL, PITR, deletion protection and a rotated CMK', () => {
    base.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    base.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: AUDIT_TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
        { AttributeName: AUDIT_TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: 'byStatus',
          KeySchema: [
            { AttributeName: 'status', KeyType: 'HASH' },
            { AttributeName: 'listKey', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: 'bySubject',
          KeySchema: [
            { AttributeName: 'subjectHash', KeyType: 'HASH' },
            { AttributeName: 'receivedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ]),
    });
    base.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    const [, table] = resourcesOfType(base.json, 'AWS::DynamoDB::Table')[0]!;
    const keyId = (table.Properties as { SSESpecification: { KMSMasterKeyId: { 'Fn::GetAtt': string[] } } })
      .SSESpecification.KMSMasterKeyId['Fn::GetAtt'][0]!;
    expect(base.json.Resources[keyId]).toMatchObject({
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'Retain',
      Properties: { EnableKeyRotation: true },
    });
  });
});

describe('secrets and keys', () => {
  it('keeps the Kore.ai credentials and the app secret in Secrets Manager under a CMK', () => {
    base.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('Kore.ai app credentials'),
      KmsKeyId: Match.anyValue(),
      GenerateSecretString: Match.objectLike({ GenerateStringKey: 'clientSecret' }),
    });
    base.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('subjectKey'),
      KmsKeyId: Match.anyValue(),
      SecretString: Match.objectLike({
        'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('"subjectKey":"\\{\\{resolve:secretsmanager:')])]),
      }),
    });
  });

  it('assembles the app secret from generated values only (no secret in the template)', () => {
    const assembled = resourcesOfType(base.json, 'AWS::SecretsManager::Secret').filter(
      ([, s]) => (s.Properties as { SecretString?: unknown }).SecretString !== undefined,
    );
    expect(assembled).toHaveLength(1);
    const value = JSON.parse(joinToString((assembled[0]![1].Properties as { SecretString: unknown }).SecretString));
    expect(value).toEqual({
      subjectKey: expect.stringMatching(/^\{\{resolve:secretsmanager:\$\{SecretsSubjectKeySeed\w+\}:SecretString:::\}\}$/),
      linkKey: expect.stringMatching(/^\{\{resolve:secretsmanager:\$\{SecretsLinkKeySeed\w+\}:SecretString:::\}\}$/),
    });
  });

  it('has an ECC P-256 signing key for receipts and another for checkpoints', () => {
    const signingKeys = resourcesOfType(base.json, 'AWS::KMS::Key').filter(([, k]) => (k.Properties as { KeyUsage?: string }).KeyUsage === 'SIGN_VERIFY');
    expect(signingKeys.map(([, k]) => (k.Properties as { KeySpec: string }).KeySpec)).toEqual(['ECC_NIST_P256', 'ECC_NIST_P256']);
  });
});

describe('checkpoint bucket', () => {
  it('is versioned, encrypted, private, TLS-only, logged and locked in COMPLIANCE mode for the record retention', () => {
    base.template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2190 } },
      },
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: Match.objectLike({ ServerSideEncryptionConfiguration: Match.anyValue() }),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
    });
    const policies = resourcesOfType(base.json, 'AWS::S3::BucketPolicy').map(([, p]) => JSON.stringify(p.Properties));
    expect(policies).toHaveLength(2);
    for (const policy of policies) expect(policy).toContain('"aws:SecureTransport":"false"');
  });
});

describe('functions', () => {
  it.each(FUNCTION_NAMES.filter((n) => n !== 'run-canary'))('%s runs Node.js 22 on ARM64 with tracing and its own log group', (name) => {
    const [, fn] = lambdaOf(base.json, name);
    expect(fn.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
    });
    expect(envOf(fn)).toMatchObject({ LOG_LEVEL: 'INFO', TABLE_NAME: expect.anything() });
  });


  it('deploys run-canary only when the canary is configured', () => {
    expect(() => lambdaOf(base.json, 'run-canary')).toThrow();
    const [, fn] = lambdaOf(configured.json, 'run-canary');
    expect(envOf(fn)).toMatchObject({ CANARY_BOT_IDS: 'st-canary-1', CANARY_USER_ID: 'canary@example.com' });
  });


  it('gives every log group a retention period', () => {
    for (const [, group] of resourcesOfType(base.json, 'AWS::Logs::LogGroup')) {
      expect(group.Properties).toHaveProperty('RetentionInDays');
    }
  });

  it.each([
    ['public-api', ['TABLE_NAME', 'STATE_MACHINE_ARN', 'APP_SECRET_ARN', 'RECEIPT_SIGNING_KEY_ID', 'SNAPSHOT_MAX_AGE_SECONDS', 'RECORD_RETENTION_DAYS', 'PUBLIC_BASE_URL']],
    ['audit-api', ['TABLE_NAME', 'APP_SECRET_ARN', 'CHECKPOINT_SIGNING_KEY_ID', 'CHECKPOINT_BUCKET', 'STAFF_ISSUER', 'STAFF_AUDIENCE', 'STAFF_JWKS_URL', 'STAFF_ROLES_CLAIM']],
    ['ops-api', ['TABLE_NAME', 'STATE_MACHINE_ARN', 'ROLES_REFRESH_FUNCTION_NAME', 'APP_SECRET_ARN', 'CHECKPOINT_SIGNING_KEY_ID', 'CHECKPOINT_BUCKET', 'STAFF_ISSUER', 'STAFF_AUDIENCE', 'STAFF_JWKS_URL', 'STAFF_ROLES_CLAIM', 'SNAPSHOT_MAX_AGE_SECONDS', 'RECORD_RETENTION_DAYS', 'PUBLIC_BASE_URL']],
    ['console', ['TABLE_NAME', 'STATE_MACHINE_ARN', 'ROLES_REFRESH_FUNCTION_NAME', 'APP_SECRET_ARN', 'CHECKPOINT_SIGNING_KEY_ID', 'CHECKPOINT_BUCKET', 'STAFF_ISSUER', 'STAFF_AUDIENCE', 'STAFF_JWKS_URL', 'STAFF_ROLES_CLAIM', 'SNAPSHOT_MAX_AGE_SECONDS', 'RECORD_RETENTION_DAYS', 'PUBLIC_BASE_URL']],
    ['submit-erasure', ['TABLE_NAME', 'KORE_BASE_URL', 'KORE_CREDENTIALS_SECRET_ARN', 'KORE_BUDGET_PER_MINUTE', 'KORE_BUDGET_PER_HOUR', 'KORE_BUDGET_MARGIN', 'KORE_BUDGET_TIME_SCALE', 'APP_SECRET_ARN', 'POLL_INITIAL_SECONDS', 'POLL_MAX_SECONDS', 'POLL_DEADLINE_SECONDS', 'SNAPSHOT_MAX_AGE_SECONDS', 'ERASURE_BATCH_SIZE', 'ERASURE_BATCH_GATHER_SECONDS']],
    ['check-erasure-status', ['TABLE_NAME', 'KORE_BASE_URL', 'KORE_CREDENTIALS_SECRET_ARN', 'KORE_BUDGET_PER_MINUTE', 'KORE_BUDGET_PER_HOUR', 'KORE_BUDGET_MARGIN', 'KORE_BUDGET_TIME_SCALE', 'APP_SECRET_ARN', 'POLL_INITIAL_SECONDS', 'POLL_MAX_SECONDS', 'POLL_DEADLINE_SECONDS', 'ERASURE_BATCH_SIZE', 'ERASURE_BATCH_GATHER_SECONDS']],
    ['record-outcome', ['TABLE_NAME', 'APP_SECRET_ARN', 'PUBLIC_BASE_URL', 'RECORD_RETENTION_DAYS', 'VERIFY_LOOK_BACK_DAYS', 'VERIFY_LAG_SECONDS', 'VERIFY_SAMPLE_SHARE']],
    ['refresh-roles-snapshot', ['TABLE_NAME', 'KORE_BASE_URL', 'KORE_CREDENTIALS_SECRET_ARN', 'KORE_BUDGET_PER_MINUTE', 'KORE_BUDGET_PER_HOUR', 'KORE_BUDGET_MARGIN', 'KORE_BUDGET_TIME_SCALE', 'APP_SECRET_ARN', 'SNAPSHOT_MAX_AGE_SECONDS', 'ROLES_REFRESH_SHARE', 'ROLES_REFRESH_INTERVAL_SECONDS']],
    ['sweep-requests', ['TABLE_NAME', 'APP_SECRET_ARN', 'STATE_MACHINE_ARN', 'POLL_INITIAL_SECONDS', 'POLL_MAX_SECONDS', 'POLL_DEADLINE_SECONDS', 'SNAPSHOT_MAX_AGE_SECONDS', 'PUBLIC_BASE_URL', 'RECORD_RETENTION_DAYS']],
    ['sign-checkpoints', ['TABLE_NAME', 'CHECKPOINT_SIGNING_KEY_ID', 'CHECKPOINT_BUCKET']],
    ['verify-erasures', ['TABLE_NAME', 'KORE_BASE_URL', 'KORE_CREDENTIALS_SECRET_ARN', 'KORE_BUDGET_PER_MINUTE', 'KORE_BUDGET_PER_HOUR', 'KORE_BUDGET_MARGIN', 'KORE_BUDGET_TIME_SCALE', 'APP_SECRET_ARN', 'VERIFY_LOOK_BACK_DAYS', 'VERIFY_LAG_SECONDS', 'VERIFY_SAMPLE_SHARE']],
  ])('%s gets exactly the application variables it needs', (name, expected) => {
    const env = envOf(lambdaOf(base.json, name)[1]);
    const appVars = Object.keys(env).filter((k) => !['POWERTOOLS_SERVICE_NAME', 'LOG_LEVEL', 'NODE_OPTIONS'].includes(k));
    expect(appVars.sort()).toEqual([...expected].sort());
  });

  it('passes the configured values through unchanged', () => {
    expect(envOf(lambdaOf(configured.json, 'submit-erasure')[1])).toMatchObject({ KORE_BASE_URL: 'https://bots.kore.ai' });
    const env = envOf(lambdaOf(configured.json, 'ops-api')[1]);
    expect(env).toMatchObject({
      MAIL_FROM: 'privacy@example.com',
      STAFF_ISSUER: 'https://login.example.com',
      STAFF_AUDIENCE: 'erasure-desk-staff',
      STAFF_JWKS_URL: 'https://login.example.com/jwks.json',
      STAFF_ROLES_CLAIM: 'roles',
      PUBLIC_BASE_URL: 'https://erasure.example.com',
    });
    expect(envOf(lambdaOf(configured.json, 'submit-erasure')[1])).toMatchObject({
      POLL_INITIAL_SECONDS: '10',
      POLL_MAX_SECONDS: '1800',
      POLL_DEADLINE_SECONDS: '604800',
    });
  });

  it('points the staff variables at the Cognito pool when no issuer is configured', () => {
    const env = envOf(lambdaOf(base.json, 'audit-api')[1]);
    expect(JSON.stringify(env.STAFF_ISSUER)).toContain('cognito-idp.');
    expect(JSON.stringify(env.STAFF_JWKS_URL)).toContain('/.well-known/jwks.json');
    expect(env.STAFF_AUDIENCE).toEqual({ Ref: expect.stringMatching(/^StaffUserPoolConsoleClient/) });
    expect(env.STAFF_ROLES_CLAIM).toBe('cognito:groups');
  });
});

describe('least privilege', () => {
  const writes = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

  it('gives audit-api no table writes, no Kore.ai secret and no mail', () => {
    for (const name of ['audit-api']) {
      const actions = actionsOf(base.json, name);
      for (const write of writes) expect(actions).not.toContain(write);
      expect(actions.some((a) => a.startsWith('ses:'))).toBe(false);
      expect(actions).toContain('dynamodb:Query');
      const koreSecret = JSON.stringify(statementsOf(base.json, name)).includes('SecretsKoreCredentials');
      expect(koreSecret).toBe(false);
    }
  });

  it('lets sign-checkpoints read the table, write checkpoints and sign, without the app secret', () => {
    const actions = actionsOf(base.json, 'sign-checkpoints');
    expect(actions.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
    expect(actions).toContain('s3:PutObject');
    expect(actions).toContain('kms:Sign');
    expect(JSON.stringify(statementsOf(base.json, 'sign-checkpoints'))).not.toContain('SecretsAppSecret');
  });

  it.each(['ops-api', 'console'])('lets %s read checkpoints, so its chain check compares against them', (name) => {
    const reads = statementsOf(base.json, name).filter((s) => ([] as string[]).concat(s.Action).includes('s3:GetObject'));
    expect(reads).toHaveLength(1);
    expect(JSON.stringify(reads[0]!.Resource)).toContain('/checkpoints/*');
    expect(actionsOf(base.json, name)).not.toContain('s3:PutObject');
  });

  it.each(['ops-api', 'console'])('lets %s invoke refresh-roles-snapshot (the unqualified function only) instead of refreshing itself', (name) => {
    const invoke = statementsOf(base.json, name).filter((s) => ([] as string[]).concat(s.Action).includes('lambda:InvokeFunction'));
    const [refreshId] = lambdaOf(base.json, 'refresh-roles-snapshot');
    expect(invoke).toEqual([expect.objectContaining({ Resource: { 'Fn::GetAtt': [refreshId, 'Arn'] } })]);
    expect(envOf(lambdaOf(base.json, name)[1]).ROLES_REFRESH_FUNCTION_NAME).toEqual({ Ref: refreshId });
  });

  it.each(['submit-erasure', 'check-erasure-status'])('gives the workflow task %s no SES and no workflow control', (name) => {
    const actions = actionsOf(configured.json, name);
    expect(actions.some((a) => a.startsWith('ses:'))).toBe(false);
    expect(actions.some((a) => a.startsWith('states:'))).toBe(false);
  });

  it('lets record-outcome mail the subject (scoped to the identity) but not control the workflow', () => {
    const actions = actionsOf(configured.json, 'record-outcome');
    expect(actions.some((a) => a.startsWith('states:'))).toBe(false);
    const ses = statementsOf(configured.json, 'record-outcome').filter((s) => ([] as string[]).concat(s.Action).includes('ses:SendEmail'));
    expect(ses).toHaveLength(1);
    expect(JSON.stringify(ses[0]!.Resource)).not.toContain('"*"');
  });

  it('scopes ses:SendEmail of public-api to the configured identity and its domain', () => {
    const ses = statementsOf(configured.json, 'public-api').filter((s) => ([] as string[]).concat(s.Action).includes('ses:SendEmail'));
    expect(ses).toHaveLength(1);
    const resources = JSON.stringify(ses[0]!.Resource);
    expect(resources).toContain(':identity/privacy@example.com');
    expect(resources).toContain(':identity/example.com');
    expect(resources).not.toContain('"*"');
  });

  it('grants no SES at all when no mail identity is configured', () => {
    for (const name of FUNCTION_NAMES.filter((n) => n !== 'run-canary')) {
      expect(actionsOf(base.json, name).some((a) => a.startsWith('ses:'))).toBe(false);
    }
  });

  it('lets public-api start executions of the erasure state machine only', () => {
    const start = statementsOf(base.json, 'public-api').filter((s) => ([] as string[]).concat(s.Action).includes('states:StartExecution'));
    expect(start).toHaveLength(1);
    expect(start[0]!.Resource).toEqual({ Ref: expect.stringMatching(/^ErasureWorkflowStateMachine/) });
    expect(actionsOf(base.json, 'public-api')).not.toContain('states:StopExecution');
  });

  it('lets only the sweeper and the canary publish metrics, and only in the ErasureDesk namespace', () => {
    for (const [name, json] of [
      ['sweep-requests', base.json],
      ['run-canary', configured.json],
    ] as const) {
      const put = statementsOf(json, name).filter((s) => ([] as string[]).concat(s.Action).includes('cloudwatch:PutMetricData'));
      expect(put).toEqual([
        expect.objectContaining({ Condition: { StringEquals: { 'cloudwatch:namespace': 'ErasureDesk' } } }),
      ]);
    }
    for (const name of ['public-api', 'audit-api', 'ops-api', 'submit-erasure', 'record-outcome']) {
      expect(actionsOf(base.json, name)).not.toContain('cloudwatch:PutMetricData');
    }
  });

  it('reads the Kore.ai credentials only where Kore.ai is called', () => {
    const withKore = FUNCTION_NAMES.filter((n) => n !== 'run-canary').filter((name) =>
      JSON.stringify(statementsOf(base.json, name)).includes('SecretsKoreCredentials'),
    );
    expect(withKore.sort()).toEqual(['check-erasure-status', 'refresh-roles-snapshot', 'submit-erasure', 'verify-erasures']);
  });
});

describe('workflow resources', () => {
  it('is a STANDARD state machine logging errors without execution data to CloudWatch, with X-Ray tracing', () => {
    base.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      // Inputs, outputs and Causes stay out of the log: it must never hold personal data.
      LoggingConfiguration: {
        Level: 'ERROR',
        IncludeExecutionData: false,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
      },
      TracingConfiguration: { Enabled: true },
    });
  });
});

describe('HTTP API', () => {
  it('has exactly the documented routes, each with a payload v2 Lambda integration', () => {
    const routes = resourcesOfType(base.json, 'AWS::ApiGatewayV2::Route').map(
      ([, r]) => (r.Properties as { RouteKey: string }).RouteKey,
    );
    // Plus `$default`: unknown paths and methods reach the public function's own 404/405 pages.
    expect(routes.sort()).toEqual(['$default', ...ROUTES.map((r) => `${r.method} ${r.path}`)].sort());
    expect(routes).toHaveLength(27);
    for (const [, integration] of resourcesOfType(base.json, 'AWS::ApiGatewayV2::Integration')) {
      expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
    }
  });

  it('puts the JWT authorizer on every /audit and /ops route and on no other', () => {
    for (const [, route] of resourcesOfType(base.json, 'AWS::ApiGatewayV2::Route')) {
      const { RouteKey, AuthorizationType } = route.Properties as { RouteKey: string; AuthorizationType?: string };
      const staff = /^(GET|POST) \/(audit|ops)\//.test(RouteKey);
      expect({ RouteKey, AuthorizationType: AuthorizationType ?? 'NONE' }).toEqual({
        RouteKey,
        AuthorizationType: staff ? 'JWT' : 'NONE',
      });
    }
  });

  it('checks issuer and audience of the configured identity provider', () => {
    configured.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://login.example.com', Audience: ['erasure-desk-staff'] },
    });
    configured.template.resourceCountIs('AWS::Cognito::UserPool', 0);
  });

  it('throttles the default stage and writes JSON access logs without query strings', () => {
    base.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 50 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"routeKey":"\\$context.routeKey"') },
    });
    const [, stage] = resourcesOfType(base.json, 'AWS::ApiGatewayV2::Stage')[0]!;
    const format = (stage.Properties as { AccessLogSettings: { Format: string } }).AccessLogSettings.Format;
    expect(() => JSON.parse(format)).not.toThrow();
    expect(format).not.toMatch(/\$context\.(path|identity\.sourceIp)/);
    configured.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
  });

  it('configures no CORS', () => {
    base.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent() });
  });
});

describe('staff user pool (no external issuer)', () => {
  it('creates a pool with MFA, no self sign-up, groups auditor and ops, and a public client', () => {
    base.template.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'ON',
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
    });
    const groups = resourcesOfType(base.json, 'AWS::Cognito::UserPoolGroup').map(
      ([, g]) => (g.Properties as { GroupName: string }).GroupName,
    );
    expect(groups.sort()).toEqual(['auditor', 'ops']);
    base.template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      CallbackURLs: [{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiHttpApi'), 'ApiEndpoint'] }, '/console/callback']] }],
    });
    base.template.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
    base.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      JwtConfiguration: { Audience: [{ Ref: Match.stringLikeRegexp('^StaffUserPoolConsoleClient') }] },
    });
  });
});

describe('schedules', () => {
  const rates = (s: Synthesized) =>
    resourcesOfType(s.json, 'AWS::Events::Rule')
      .map(([, r]) => (r.Properties as { ScheduleExpression: string; Description: string }))
      .map((r) => `${r.Description}: ${r.ScheduleExpression}`)
      .sort();

  it('runs the snapshot paging, the sweeper and the read-backs every 5 minutes and checkpoint signing hourly', () => {
    expect(rates(base)).toEqual([
      'Page the privileged-identities snapshot within the Kore.ai call budget: rate(5 minutes)',
      'Read completed erasures back from Kore.ai within the call budget: rate(5 minutes)',
      'Restart stuck, expire unverified, count overdue requests: rate(5 minutes)',
      'Sign audit-chain checkpoints: rate(1 hour)',
    ]);
  });

  it('adds the 6-hourly canary only when it is configured', () => {
    expect(rates(configured)).toContain('End-to-end canary erasure: rate(6 hours)');
  });
});

describe('alarms', () => {
  it('notify one KMS-encrypted topic that accepts TLS only', () => {
    base.template.resourceCountIs('AWS::SNS::Topic', 1);
    base.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    base.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      }),
    });
    for (const [, alarm] of resourcesOfType(base.json, 'AWS::CloudWatch::Alarm')) {
      expect((alarm.Properties as { AlarmActions: unknown[] }).AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmsTopic/) }]);
    }
  });

  it('subscribes the alarm e-mail only when configured', () => {
    base.template.resourceCountIs('AWS::SNS::Subscription', 0);
    configured.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  it('watch failed and timed-out executions, API 5xx, overdue requests, data found after an erasure, each function, and the canary when deployed', () => {
    const metrics = (s: Synthesized) =>
      resourcesOfType(s.json, 'AWS::CloudWatch::Alarm').map(([, a]) => {
        const p = a.Properties as { Namespace: string; MetricName: string };
        return `${p.Namespace}/${p.MetricName}`;
      });
    const baseMetrics = metrics(base);
    expect(baseMetrics).toEqual(
      expect.arrayContaining(['AWS/States/ExecutionsFailed', 'AWS/States/ExecutionsTimedOut', 'AWS/ApiGateway/5xx', 'ErasureDesk/OverdueRequests', 'ErasureDesk/ErasureDataFound']),
    );
    expect(baseMetrics.filter((m) => m === 'AWS/Lambda/Errors')).toHaveLength(11);
    expect(baseMetrics).not.toContain('ErasureDesk/CanaryFailed');
    expect(metrics(configured)).toContain('ErasureDesk/CanaryFailed');
    expect(metrics(configured).filter((m) => m === 'AWS/Lambda/Errors')).toHaveLength(12);
  });
});
