/**
 * An in-memory dynalite for integration and end-to-end tests: listens on 127.0.0.1 on an
 * ephemeral port, creates the audit table exactly as the local runtime does, and hands back a
 * document client configured for it. Each call starts its own server (fresh data).
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { createDocumentClient } from '../../functions/commons/dynamo/clients';
import { createTableInput } from '../../functions/commons/dynamo/table-schema';

export interface DynaliteHandle {
  endpoint: string;
  client: DynamoDBDocumentClient;
  /** The table created at start. */
  tableName: string;
  /** Creates another, empty table with the same schema (a fresh fixture for one test). */
  createTable(): Promise<string>;
  stop(): Promise<void>;
}

/** Fake credentials and region: dynalite accepts any signature. */
export const DYNALITE_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const DYNALITE_REGION = 'us-east-1';

/** Creates the table and waits until dynalite reports it ACTIVE. */
export async function createAuditTable(client: DynamoDBDocumentClient, tableName: string): Promise<void> {
  await client.send(new CreateTableCommand(createTableInput(tableName)));
  for (let i = 0; i < 500; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (out.Table?.TableStatus === 'ACTIVE' && (out.Table.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE')) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`Table ${tableName} did not become ACTIVE`);
}

export async function startDynalite(): Promise<DynaliteHandle> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createDocumentClient({ endpoint, region: DYNALITE_REGION, credentials: DYNALITE_CREDENTIALS });
  const createTable = async () => {
    const name = `erasure-desk-${randomUUID().slice(0, 8)}`;
    await createAuditTable(client, name);
    return name;
  };
  const stop = async () => {
    client.destroy();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  };
  try {
    const tableName = await createTable();
    return { endpoint, client, tableName, createTable, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
