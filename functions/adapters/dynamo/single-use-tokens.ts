/**
 * Single-use tokens (verification links): the first consumption of a `jti` writes a marker, every
 * later one finds it. The marker carries the token's expiry as TTL; correctness never depends on
 * its removal (an expired token is refused by its signature check anyway).
 */
import { PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SingleUseTokens } from '../../domain/ports';
import { conditionalWrite } from './errors';
import { tokenKey } from './keys';
import { PARTITION_KEY, TTL_ATTRIBUTE } from './table-schema';

export interface DynamoSingleUseTokensOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

export class DynamoSingleUseTokens implements SingleUseTokens {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoSingleUseTokensOptions) {
    if (!options.tableName) throw new TypeError('DynamoSingleUseTokens needs a table name');
    this.#client = options.client;
    this.#table = options.tableName;
  }

  /**
   * True the first time `jti` is consumed, false ever after (also under concurrent use).
   * @throws TypeError on an empty jti or invalid expiry; StoreUnavailableError / StoreError when DynamoDB fails.
   */
  async consumeToken(jti: string, expiresAt: Date): Promise<boolean> {
    if (!jti) throw new TypeError('A token id is required');
    if (Number.isNaN(expiresAt.getTime())) throw new TypeError('The token expiry is not a date');
    return conditionalWrite('PutItem', () =>
      this.#client.send(
        new PutCommand({
          TableName: this.#table,
          // Seconds are rounded up so the marker never expires before the token does.
          Item: { ...tokenKey(jti), [TTL_ATTRIBUTE]: Math.ceil(expiresAt.getTime() / 1000) },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY },
        }),
      ),
    );
  }
}

