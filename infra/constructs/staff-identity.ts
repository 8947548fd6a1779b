import { Aws, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';

/** Where staff JWTs come from, as the API authorizer and the Lambdas need it. */
export interface StaffIdentitySettings {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
}

/** The role groups staff belong to; the Lambdas check them in the roles claim. */
export const STAFF_GROUPS = ['auditor', 'ops'] as const;

/**
 * A Cognito user pool for auditors and ops, used when no external OIDC issuer is configured.
 * Admin-created users only (no self sign-up), TOTP MFA required, strong passwords, groups
 * `auditor` and `ops` (surfaced in the `cognito:groups` claim), and one public app client
 * (no secret: the console runs in a browser) whose id is the token audience. Staff present the
 * **access token**: it carries `client_id` instead of `aud`, which the API Gateway JWT authorizer
 * accepts and the handlers check (functions/adapters/http/staff/auth.ts); ID tokens are refused there.
 */
export class StaffUserPool extends Construct {
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  readonly settings: StaffIdentitySettings;
  readonly domain: cognito.UserPoolDomain;
  private consoleOrigin?: string;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.userPool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const group of STAFF_GROUPS) {
      new cognito.CfnUserPoolGroup(this, `Group-${group}`, {
        userPoolId: this.userPool.userPoolId,
        groupName: group,
        description: group === 'ops' ? 'Reads and acts (retry, cancel, re-check)' : 'Reads the audit trail',
      });
    }
    // Managed sign-in (with MFA enrolment) on a Cognito domain, so the console can send staff
    // through the OAuth authorization-code flow with PKCE and get tokens back at
    // <origin>/console/callback. The prefix must be unique in the region: stack + account.
    this.domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: `${Stack.of(this).stackName.toLowerCase()}-${Aws.ACCOUNT_ID}` },
    });
    const origin = Lazy.string({
      produce: () => {
        if (!this.consoleOrigin) throw new Error('StaffUserPool.setConsoleOrigin() was never called');
        return this.consoleOrigin;
      },
    });
    this.client = this.userPool.addClient('ConsoleClient', {
      generateSecret: false,
      authFlows: { userSrp: true },
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: [`${origin}/console/callback`],
        logoutUrls: [`${origin}/console`],
      },
    });
    const issuer = `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${this.userPool.userPoolId}`;
    this.settings = {
      issuer,
      audience: this.client.userPoolClientId,
      jwksUrl: `${issuer}/.well-known/jwks.json`,
    };
  }

  /** The https origin the console is served from (callback and logout URLs of the app client). */
  setConsoleOrigin(origin: string): void {
    this.consoleOrigin = origin;
  }
}
