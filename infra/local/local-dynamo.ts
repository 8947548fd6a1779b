/**
 * The local DynamoDB: dynalite on loopback in a thread of its own, persisted under the data directory (or in memory for
 * tests), with the audit table created exactly as the CDK stack defines it.
 */
import { Worker } from 'node:worker_threads';
import { CreateTableCommand, DescribeTableCommand, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, type DynamoDBDocumentClient, type ScanCommandInput, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../functions/adapters/dynamo/clients';
import { TABLE_SCHEMA, createTableInput } from '../../functions/adapters/dynamo/table-schema';

/** Dynalite accepts any signature; these only satisfy the SDK. */
export const LOCAL_DYNAMO_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_DYNAMO_REGION = 'us-east-1';

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBDocumentClient;
  stop(): Promise<void>;
}

/** Creates the audit table unless it exists, and waits until it and its indexes are ACTIVE. */
export async function ensureAuditTable(client: DynamoDBDocumentClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await client.send(new CreateTableCommand(createTableInput(tableName)));
  }
  for (let i = 0; i < 1000; i++) {
    const out = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (out.Table?.TableStatus === 'ACTIVE' && (out.Table.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE')) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`Table ${tableName} did not become ACTIVE`);
}

/**
 * Starts dynalite on 127.0.0.1 (ephemeral port) in a worker thread of its own; `path` persists
 * the data (LevelDB), else memory.
 */
export async function startLocalDynamo(options: { path?: string } = {}): Promise<LocalDynamo> {
  const worker = new Worker(new URL('./dynalite-worker.mjs', import.meta.url), { workerData: { path: options.path } });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (message: { port?: number; error?: string }) => (message.port ? resolve(message.port) : reject(new Error(`dynalite did not start: ${message.error}`))));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = createDocumentClient({ endpoint, region: LOCAL_DYNAMO_REGION, credentials: LOCAL_DYNAMO_CREDENTIALS });
  return {
    endpoint,
    client,
    stop: async () => {
      client.destroy();
      await new Promise<void>((resolve) => {
        worker.once('message', () => resolve());
        worker.postMessage('stop');
      });
      await worker.terminate();
    },
  };
}

/** What `healIndexes` found and mended. */
export interface IndexHealing {
  /** Index entries whose item no longer exists (removed). */
  orphaned: number;
  /** Index entries whose keys no longer match their item (re-derived from the item). */
  stale: number;
  /** Items missing from an index they belong in (re-indexed). */
  missing: number;
}

type Item = Record<string, unknown>;

/**
 * Mends the secondary indexes after a crash. dynalite writes an item's index entries first and the
 * item itself after, as separate LevelDB writes, so a process killed in between leaves an entry
 * listing an item that does not exist, one under keys the item no longer has, or no entry for an
 * item at all (DynamoDB itself maintains its indexes with the item; this is a local-only repair).
 * Entries are mended through the API: an orphan is re-put and deleted, so dynalite drops its
 * entry; a stale one is re-put with the entry's keys and then with the item's own, so dynalite
 * moves the entry; a missing one is re-put. It reads the whole table, so the local runtime runs
 * it at start-up only after a process that did not stop cleanly, before anything else writes.
 */
export async function healIndexes(client: DynamoDBDocumentClient, tableName: string): Promise<IndexHealing> {
  const healing: IndexHealing = { orphaned: 0, stale: 0, missing: 0 };
  const tableKeys = [TABLE_SCHEMA.partitionKey.name, TABLE_SCHEMA.sortKey.name];
  const indexes = TABLE_SCHEMA.globalSecondaryIndexes.map((index) => ({ name: index.indexName, keys: [index.partitionKey.name, index.sortKey.name] }));

  // Every entry of every index must list an item that exists, under the keys that item has.
  for (const index of indexes) {
    for await (const entry of scanAll(client, { TableName: tableName, IndexName: index.name })) {
      const key = Object.fromEntries(tableKeys.map((k) => [k, entry[k]]));
      const { Item: item } = await client.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
      const entryKeys = Object.fromEntries([...tableKeys, ...index.keys].map((k) => [k, entry[k]]));
      if (!item) {
        await client.send(new PutCommand({ TableName: tableName, Item: entryKeys }));
        await client.send(new DeleteCommand({ TableName: tableName, Key: key }));
        healing.orphaned++;
      } else if (index.keys.some((k) => item[k] !== entry[k])) {
        await client.send(new PutCommand({ TableName: tableName, Item: { ...item, ...entryKeys } }));
        await client.send(new PutCommand({ TableName: tableName, Item: item }));
        healing.stale++;
      }
    }
  }

  // Every item that carries an index's keys must be listed under them: one pass over the table.
  for await (const item of scanAll(client, { TableName: tableName, ConsistentRead: true })) {
    let unlisted = 0;
    for (const index of indexes) {
      const [pk, sk] = index.keys as [string, string];
      if (item[pk] === undefined || item[sk] === undefined) continue;
      const listed = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: index.name,
          KeyConditionExpression: '#ipk = :ipk AND #isk = :isk',
          ExpressionAttributeNames: { '#ipk': pk, '#isk': sk },
          ExpressionAttributeValues: { ':ipk': item[pk], ':isk': item[sk] },
        }),
      );
      if (!(listed.Items ?? []).some((entry) => tableKeys.every((k) => entry[k] === item[k]))) unlisted++;
    }
    if (unlisted === 0) continue;
    // One re-put indexes the item in every index it belongs to.
    await client.send(new PutCommand({ TableName: tableName, Item: item }));
    healing.missing += unlisted;
  }
  return healing;
}

/** Every item of a Scan, page after page. */
async function* scanAll(client: DynamoDBDocumentClient, input: Omit<ScanCommandInput, 'ExclusiveStartKey'>): AsyncGenerator<Item> {
  let startKey: Item | undefined;
  do {
    const page: ScanCommandOutput = await client.send(new ScanCommand({ ...input, ExclusiveStartKey: startKey }));
    yield* page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

