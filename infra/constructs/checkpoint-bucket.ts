import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** The folder of the checkpoints in the bucket (the writer's default prefix). */
export const CHECKPOINT_PREFIX = 'checkpoints/';

/**
 * The only object keys a checkpoint may be written under: `checkpointKey(at)`, an ISO time made
 * file-name safe (`checkpoint-2026-03-01T12-00-00-000Z.jws`), as an IAM wildcard pattern.
 */
export const CHECKPOINT_KEY_PATTERN = `${CHECKPOINT_PREFIX}checkpoint-????-??-??T??-??-??-???Z.jws`;

export interface CheckpointBucketProps {
  /** How long a checkpoint cannot be deleted or overwritten: as long as the records it attests. */
  readonly retentionDays: number;
  /** Object Lock mode: COMPLIANCE for real deployments, GOVERNANCE for test stacks. */
  readonly lockMode: 'COMPLIANCE' | 'GOVERNANCE';
}

/**
 * Write-once store for signed audit-chain checkpoints (chain heads + counts, signed with the KMS
 * signing key). Together with the chain in DynamoDB they prove that no event was altered or
 * removed after the checkpoint was taken.
 *
 * Object Lock runs in COMPLIANCE mode by default: nobody, not even the account root, can shorten
 * the retention or delete a locked version, which is what makes the checkpoint an anchor outside
 * the control of the people it audits. The objects hold only hashes, counts and signatures — no
 * personal data — so immutability never conflicts with an erasure. The price: the bucket of a
 * COMPLIANCE stack cannot be emptied until its retention ends.
 *
 * A test stack uses GOVERNANCE (`-c checkpointLockMode=GOVERNANCE`): a principal allowed
 * `s3:BypassGovernanceRetention` can then delete the locked versions (and so rewrite history,
 * which is why real deployments must not use it). In both modes the bucket is retained when the
 * stack is destroyed: CloudFormation cannot delete a bucket that still holds objects, and CDK's
 * `autoDeleteObjects` does not bypass a retention, so it would fail the deletion instead. After
 * `cdk destroy` of a GOVERNANCE stack, delete the object versions with
 * `--bypass-governance-retention` and then the bucket (README, Deploying to AWS).
 *
 * Because nothing put here can ever be removed, the bucket policy refuses, for every principal,
 * a put under any key but the checkpoint pattern, and any put without `If-None-Match` (which would
 * stack a new current version over a locked checkpoint). Readers still trust objects only by their
 * signed content; the policy keeps the clutter an intruder could leave for years small.
 */
export class CheckpointBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: CheckpointBucketProps) {
    super(scope, id);
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      // Server access log delivery supports SSE-S3 only on the target bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(400), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // No AwsSolutions-S1 finding here: cdk-nag accepts a bucket that is itself a log target.

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        props.lockMode === 'GOVERNANCE'
          ? s3.ObjectLockRetention.governance(Duration.days(props.retentionDays))
          : s3.ObjectLockRetention.compliance(Duration.days(props.retentionDays)),
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'checkpoints/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyPutOutsideCheckpointKeys',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        notResources: [this.bucket.arnForObjects(CHECKPOINT_KEY_PATTERN)],
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyPutWithoutIfNoneMatch',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects('*')],
        conditions: { Null: { 's3:if-none-match': 'true' } },
      }),
    );
  }
}
