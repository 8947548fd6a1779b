import { RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

/**
 * Secrets and keys of the application.
 *
 * - `koreCredentials`: the Kore.ai app's `{"clientId":"…","clientSecret":"…"}`. Created empty-ish
 *   (a placeholder JSON) and set by an operator after the first deploy:
 *   `aws secretsmanager put-secret-value --secret-id <KoreCredentialsSecretArn output>
 *    --secret-string '{"clientId":"cs-…","clientSecret":"…"}'`.
 *   Until then the Kore.ai calls fail with an auth error and requests wait in FAILED for a retry.
 * - `appSecret`: generated `{"subjectKey":"…","linkKey":"…"}` — the HMAC/encryption key for
 *   subject ids and the key of signed e-mail links.
 * - `receiptSigningKey` and `checkpointSigningKey`: KMS ECC_NIST_P256 SIGN_VERIFY keys, one per kind
 *   of signed object, so a function that may sign receipts can never sign a checkpoint (and the
 *   other way round). The receipt key keeps the construct id of the former shared key, so receipts
 *   already handed out still verify against the published key.
 */
export class AppSecrets extends Construct {
  readonly koreCredentials: secretsmanager.Secret;
  readonly appSecret: secretsmanager.Secret;
  readonly receiptSigningKey: kms.Key;
  readonly checkpointSigningKey: kms.Key;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Erasure desk secrets encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.koreCredentials = new secretsmanager.Secret(this, 'KoreCredentials', {
      description: 'Kore.ai app credentials {"clientId","clientSecret"}: set by operators after deploy',
      encryptionKey: this.key,
      generateSecretString: {
        // A placeholder of the right shape; the real values are put by an operator.
        secretStringTemplate: JSON.stringify({ clientId: 'SET-ME' }),
        generateStringKey: 'clientSecret',
        passwordLength: 32,
        excludePunctuation: true,
      },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.koreCredentials,
      'AwsSolutions-SMG4',
      'The Kore.ai client secret is issued by the Kore.ai Bot Admin Console, not by AWS; it is rotated there and put here by an operator (see docs), so a Secrets Manager rotation Lambda cannot rotate it.',
    );

    // generateSecretString fills one key only, so each key is generated as its own random
    // secret and the app secret is assembled from them with CloudFormation dynamic references,
    // resolved at deploy time: no value ever appears in the template.
    const seeds = (['subjectKey', 'linkKey'] as const).map((name) => {
      const seed = new secretsmanager.Secret(this, `${name[0]!.toUpperCase()}${name.slice(1)}Seed`, {
        description: `Erasure desk random ${name}, copied into AppSecret at creation`,
        encryptionKey: this.key,
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      acknowledge(
        seed,
        'AwsSolutions-SMG4',
        'A one-time random seed read only by CloudFormation when AppSecret is created; no function can read it, and rotating it would change nothing.',
      );
      return [name, SecretValue.secretsManager(seed.secretArn)] as const;
    });
    this.appSecret = new secretsmanager.Secret(this, 'AppSecret', {
      description: 'Erasure desk {"subjectKey","linkKey"}: subject HMAC/encryption key and signed-link key',
      encryptionKey: this.key,
      secretObjectValue: Object.fromEntries(seeds),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.appSecret,
      'AwsSolutions-SMG4',
      'subjectKey keys the HMAC under which subject ids are stored and looked up; rotating it would orphan every stored hash, so it is rotated only by a planned re-keying, not on a schedule.',
    );

    this.receiptSigningKey = new kms.Key(this, 'SigningKey', {
      description: 'Erasure desk receipt signing (ES256, JWS typ erasure-receipt+jws)',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.checkpointSigningKey = new kms.Key(this, 'CheckpointSigningKey', {
      description: 'Erasure desk audit-chain checkpoint signing (ES256, JWS typ audit-checkpoint+jws)',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
