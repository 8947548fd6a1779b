import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

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
  }
}
