import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface CheckpointBucketProps {
  /** How long a checkpoint cannot be deleted or overwritten: as long as the records it attests. */
  readonly retentionDays: number;
}

/**
 * Write-once store for signed audit-chain checkpoints (chain heads + counts, signed with the KMS
 * signing key). Together with the chain in DynamoDB they prove that no event was altered or
 * removed after the checkpoint was taken.
 *
 * Object Lock runs in COMPLIANCE mode: nobody, not even the account root, can shorten the
 * retention or delete a locked version, which is what makes the checkpoint an anchor outside the
 * control of the people it audits (GOVERNANCE lets anyone holding
 * s3:BypassGovernanceRetention rewrite history). The objects hold only hashes, counts and
 * signatures — no personal data — so immutability never conflicts with an erasure. The price:
 * objects of a test deployment also stay until their retention ends (tiny, but plan for it).
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
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(Duration.days(props.retentionDays)),
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'checkpoints/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
