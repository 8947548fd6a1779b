/**
 * An in-memory dynalite for integration and end-to-end tests: the local runtime's own DynamoDB
 * (`infra/local/local-dynamo.ts`), listening on 127.0.0.1 on an ephemeral port, with the audit
 * table created exactly as the runtime creates it. Each call starts its own server (fresh data).
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ensureAuditTable, startLocalDynamo } from '../../infra/local/local-dynamo';

export interface DynaliteHandle {
  endpoint: string;
  client: DynamoDBDocumentClient;
  /** The table created at start. */
  tableName: string;
  /** Creates another, empty table with the same schema (a fresh fixture for one test). */
  createTable(): Promise<string>;
  stop(): Promise<void>;
}

export async function startDynalite(): Promise<DynaliteHandle> {
  const dynamo = await startLocalDynamo();
  const createTable = async () => {
    const name = `erasure-desk-${randomUUID().slice(0, 8)}`;
    await ensureAuditTable(dynamo.client, name);
    return name;
  };
  try {
    const tableName = await createTable();
    return { endpoint: dynamo.endpoint, client: dynamo.client, tableName, createTable, stop: dynamo.stop };
  } catch (error) {
    await dynamo.stop();
    throw error;
  }
}
