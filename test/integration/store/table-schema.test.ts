import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuditStore } from '../../../functions/adapters/dynamo/audit-store';
import { StoreError, StoreUnavailableError, translateStoreError } from '../../../functions/adapters/dynamo/errors';
import { BY_STATUS_INDEX, BY_SUBJECT_INDEX, TABLE_SCHEMA, createTableInput } from '../../../functions/adapters/dynamo/table-schema';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';

let db: DynaliteHandle;

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

describe('the audit table', () => {
  it('is created on demand with pk/sk and the two listing indexes projecting everything', async () => {
    const { Table } = await db.client.send(new DescribeTableCommand({ TableName: db.tableName }));

    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    const indexes = Object.fromEntries((Table?.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName, { keys: g.KeySchema, projection: g.Projection?.ProjectionType }]));
    expect(indexes).toEqual({
      [BY_STATUS_INDEX]: { keys: [{ AttributeName: 'status', KeyType: 'HASH' }, { AttributeName: 'listKey', KeyType: 'RANGE' }], projection: 'ALL' },
      [BY_SUBJECT_INDEX]: { keys: [{ AttributeName: 'subjectHash', KeyType: 'HASH' }, { AttributeName: 'receivedAt', KeyType: 'RANGE' }], projection: 'ALL' },
    });
  });

  it('describes the same keys for the CDK stack as for the local runtime', () => {
    const input = createTableInput('t');

    expect(input.KeySchema?.map((k) => k.AttributeName)).toEqual([TABLE_SCHEMA.partitionKey.name, TABLE_SCHEMA.sortKey.name]);
    expect(input.GlobalSecondaryIndexes?.map((g) => [g.IndexName, ...(g.KeySchema ?? []).map((k) => k.AttributeName)])).toEqual(
      TABLE_SCHEMA.globalSecondaryIndexes.map((g) => [g.indexName, g.partitionKey.name, g.sortKey.name]),
    );
    expect(TABLE_SCHEMA.timeToLiveAttribute).toBe('expiresAt');
  });
});

describe('DynamoDB errors', () => {
  it('reach callers as named store errors with the SDK error only as cause', async () => {
    const store = new DynamoAuditStore({ client: db.client, tableName: 'no-such-table' });

    const error = await store.getRequest('req-1').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StoreError);
    expect(error).toMatchObject({ name: 'StoreError', message: 'DynamoDB GetItem failed (ResourceNotFoundException)' });
    expect((error as Error).cause).toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it.each([
    { name: 'ProvisionedThroughputExceededException', status: 400, expected: StoreUnavailableError },
    { name: 'InternalServerError', status: 500, expected: StoreUnavailableError },
    { name: 'ValidationException', status: 400, expected: StoreError },
  ])('treats $name as $expected.name', ({ name, status, expected }) => {
    const sdkError = Object.assign(new Error('from the SDK'), { name, $metadata: { httpStatusCode: status } });

    const translated = translateStoreError(sdkError, 'PutItem');

    expect(translated).toBeInstanceOf(expected);
    expect(translated.name).toBe(expected.name);
  });
});
