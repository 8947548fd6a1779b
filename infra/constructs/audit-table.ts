import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/**
 * Attribute and index names of the audit table. functions/adapters/dynamo/table-schema.ts uses the
 * same strings; they are an interface between the infrastructure and the handlers.
 */
export const AUDIT_TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
  byStatus: { indexName: 'byStatus', partitionKey: 'status', sortKey: 'listKey' },
  bySubject: { indexName: 'bySubject', partitionKey: 'subjectHash', sortKey: 'receivedAt' },
} as const;

/**
 * The stateful store: one DynamoDB table for requests, their append-only audit events, the roles
 * snapshot and the bookkeeping items. Retained on stack deletion, protected against deletion,
 * point-in-time recoverable, encrypted with a customer-managed key the stack controls.
 */
export class AuditTable extends Construct {
  readonly table: dynamodb.Table;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const s = AUDIT_TABLE_SCHEMA;
    this.key = new kms.Key(this, 'Key', {
      description: 'Erasure desk audit table encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: s.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: s.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      timeToLiveAttribute: s.ttlAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const index of [s.byStatus, s.bySubject]) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }
}
