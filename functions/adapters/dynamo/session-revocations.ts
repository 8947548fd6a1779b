/**
 * Signed-out staff sessions: one marker item per session (keyed by the hash of its token), written
 * once with `attribute_not_exists` and read with a consistent GetItem on every staff request. The
 * marker carries the token's expiry as TTL: once the token has expired its signature check refuses
 * it anyway, so correctness never depends on when DynamoDB removes the marker (dynalite never does).
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SessionRevocations } from '../../domain/ports';
import { conditionalWrite, storeCall } from './errors';
import { revokedSessionKey } from './keys';
import { PARTITION_KEY, TTL_ATTRIBUTE } from './table-schema';

export interface DynamoSessionRevocationsOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

const SESSION_ID = /^[A-Za-z0-9_-]{16,128}$/;

export class DynamoSessionRevocations implements SessionRevocations {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoSessionRevocationsOptions) {
    if (!options.tableName) throw new TypeError('DynamoSessionRevocations needs a table name');
    this.#client = options.client;
    this.#table = options.tableName;
  }

  /**
   * Remembers the session as signed out; signing out twice writes nothing the second time.
   * @throws TypeError on a malformed session id or expiry; StoreUnavailableError / StoreError when DynamoDB fails.
   */
  async revoke(sessionId: string, expiresAt: Date): Promise<void> {
    if (!SESSION_ID.test(sessionId)) throw new TypeError('A session id is a hash in base64url');
    if (Number.isNaN(expiresAt.getTime())) throw new TypeError('The session expiry is not a date');
    await conditionalWrite('PutItem', () =>
      this.#client.send(
        new PutCommand({
          TableName: this.#table,
          // Rounded up so the marker never goes before the token does.
          Item: { ...revokedSessionKey(sessionId), [TTL_ATTRIBUTE]: Math.ceil(expiresAt.getTime() / 1000) },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY },
        }),
      ),
    );
  }

  /** @throws StoreUnavailableError / StoreError when DynamoDB fails (the caller answers 500: fail closed). */
  async isRevoked(sessionId: string): Promise<boolean> {
    if (!SESSION_ID.test(sessionId)) return false;
    const out = await storeCall('GetItem', () =>
      this.#client.send(new GetCommand({ TableName: this.#table, Key: revokedSessionKey(sessionId), ConsistentRead: true, ProjectionExpression: '#pk', ExpressionAttributeNames: { '#pk': PARTITION_KEY } })),
    );
    return out.Item !== undefined;
  }
}
