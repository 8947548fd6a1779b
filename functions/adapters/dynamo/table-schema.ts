/**
 * The one table of the audit trail, described once so the CDK stack, the local runtime and the
 * tests create exactly the same thing. Keys and index names are constants; nothing else in the
 * code spells them.
 *
 * Items (all share `pk`/`sk`):
 * - `REQ#<id>` / `META`: the request projection (carries the GSI keys of both indexes)
 * - `REQ#<id>` / `EVT#<seq:8>`: one audit event each, append-only
 * - `SUBJECT#<hash>` / `OPEN#<scopeKey>`: the open-request claim of a subject and scope (a released one keeps
 *   its item without a holder until TTL)
 * - `TOKEN#<jti>` / `USED`: a consumed single-use token (TTL)
 * - `RATE#<sha256(key)>` / `W#<seconds>#<windowStart>`: a rate-limit window counter (TTL)
 * - `PRIV#<subjectHash>` / `V#<version>`: a privileged identity of one snapshot version (TTL)
 * - `BOT#<botId>` / `V#<version>`: a bot of the account in one snapshot version (TTL)
 * - `SNAPSHOT` / `CURRENT`: the pointer to the current snapshot version
 * - `SNAPSHOT` / `REFRESH`: the cursor of a roles refresh under way
 * - `BUDGET` / `KORE`: the shared Kore.ai call budget (slot counts, refusal backoff)
 * - `BATCH#<sha256(scopeKey)>` / `WINDOW`: a scope's gathering window: when it began, joins so far (TTL)
 * - `BATCH#<sha256(scopeKey)>` / `B#<windowStart>#<n>`: a batch of erasures: members, claim, answer (TTL)
 * - `JOB#<Kore.ai job id>` / `STATUS`: the shared status answer of a batch's job, by user HMAC (TTL)
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';

/** Requests by status, ordered by `<receivedAt>#<requestId>` (only META items carry `listKey`). */
export const BY_STATUS_INDEX = 'byStatus';
export const BY_STATUS_PARTITION_KEY = 'status';
export const BY_STATUS_SORT_KEY = 'listKey';

/** Requests by subject HMAC, ordered by `receivedAt` (only META items carry `subjectHash`). */
export const BY_SUBJECT_INDEX = 'bySubject';
export const BY_SUBJECT_PARTITION_KEY = 'subjectHash';
export const BY_SUBJECT_SORT_KEY = 'receivedAt';

/**
 * The TTL attribute (epoch seconds) of items that may vanish: tokens, rate counters, snapshot
 * identities. dynalite ignores TTL, so no read may depend on an item having been removed.
 */
export const TTL_ATTRIBUTE = 'expiresAt';

/** Both GSIs project ALL: the listing pages show whole requests and the items are small. */
export const INDEX_PROJECTION = 'ALL' as const;

/** Everything a table definition needs, in one value the CDK construct can read. */
export const TABLE_SCHEMA = {
  partitionKey: { name: PARTITION_KEY, type: 'S' },
  sortKey: { name: SORT_KEY, type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: BY_STATUS_INDEX,
      partitionKey: { name: BY_STATUS_PARTITION_KEY, type: 'S' },
      sortKey: { name: BY_STATUS_SORT_KEY, type: 'S' },
      projection: INDEX_PROJECTION,
    },
    {
      indexName: BY_SUBJECT_INDEX,
      partitionKey: { name: BY_SUBJECT_PARTITION_KEY, type: 'S' },
      sortKey: { name: BY_SUBJECT_SORT_KEY, type: 'S' },
      projection: INDEX_PROJECTION,
    },
  ],
  timeToLiveAttribute: TTL_ATTRIBUTE,
} as const;

/**
 * The CreateTable input of the local runtime and the tests (on-demand billing). TTL is not part
 * of CreateTable (and dynalite does not implement UpdateTimeToLive); the CDK stack sets it.
 */
export function createTableInput(tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, 'S'>();
  const add = (key: { name: string; type: 'S' }) => attributes.set(key.name, key.type);
  add(TABLE_SCHEMA.partitionKey);
  add(TABLE_SCHEMA.sortKey);
  for (const index of TABLE_SCHEMA.globalSecondaryIndexes) {
    add(index.partitionKey);
    add(index.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: [
      { AttributeName: TABLE_SCHEMA.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: TABLE_SCHEMA.sortKey.name, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: TABLE_SCHEMA.globalSecondaryIndexes.map((index) => ({
      IndexName: index.indexName,
      KeySchema: [
        { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: index.projection },
    })),
  };
}
