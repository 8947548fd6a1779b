/**
 * The AuditStore contract (test/support/audit-store-contract.ts) on the DynamoDB store over
 * dynalite: the truth the in-memory store of the unit tests is held to.
 */
import { afterAll, beforeAll } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoAuditStore } from '../../../functions/adapters/dynamo/audit-store';
import { META_SK, listKey, requestPk } from '../../../functions/adapters/dynamo/keys';
import { BY_STATUS_SORT_KEY, PARTITION_KEY, SORT_KEY } from '../../../functions/adapters/dynamo/table-schema';
import { auditStoreContract } from '../../support/audit-store-contract';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';

let db: DynaliteHandle;

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

auditStoreContract('DynamoAuditStore over dynalite', async (clock) => {
  const tableName = await db.createTable();
  return {
    store: new DynamoAuditStore({ client: db.client, tableName, clock }),
    // What a writer that died between the META put and event 1 leaves behind.
    plantUnfinished: async (request) => {
      await db.client.send(
        new PutCommand({
          TableName: tableName,
          Item: { ...request, [PARTITION_KEY]: requestPk(request.requestId), [SORT_KEY]: META_SK, [BY_STATUS_SORT_KEY]: listKey(request.receivedAt, request.requestId) },
        }),
      );
    },
  };
});
