/**
 * Fixed-window rate limits: one atomic counter per key and window (`ADD`), the window start in
 * the sort key so a new window starts from zero without any reset write. Keys (client addresses)
 * are stored as a SHA-256 digest so no address sits in the table.
 */
import { createHash } from 'node:crypto';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RateLimiter } from '../../domain/ports';
import { storeCall } from './errors';
import { rateWindowKey } from './keys';
import { TTL_ATTRIBUTE } from './table-schema';

export interface DynamoRateLimiterOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

export class DynamoRateLimiter implements RateLimiter {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoRateLimiterOptions) {
    if (!options.tableName) throw new TypeError('DynamoRateLimiter needs a table name');
    this.#client = options.client;
    this.#table = options.tableName;
  }

  /**
   * Counts one hit of `key` in the window of `windowSeconds` that contains `now` (windows are
   * aligned to the epoch). Allowed while the count is at most `limit`; when refused,
   * `retryAfterSeconds` is the time until the next window.
   * @throws RangeError on a non-positive window or negative limit; StoreUnavailableError / StoreError.
   */
  async hit(key: string, windowSeconds: number, limit: number, now: Date): Promise<{ allowed: boolean; remaining: number; retryAfterSeconds: number }> {
    if (!Number.isInteger(windowSeconds) || windowSeconds <= 0) throw new RangeError('windowSeconds must be a positive integer');
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError('limit must be a non-negative integer');
    const nowSeconds = now.getTime() / 1000;
    if (!Number.isFinite(nowSeconds)) throw new RangeError('now is not a date');
    const windowStart = Math.floor(nowSeconds / windowSeconds) * windowSeconds;
    const windowEnd = windowStart + windowSeconds;
    const digest = createHash('sha256').update(key).digest('hex');
    const out = await storeCall('UpdateItem', () =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: rateWindowKey(digest, windowSeconds, windowStart),
          UpdateExpression: 'ADD #hits :one SET #ttl = :ttl',
          ExpressionAttributeNames: { '#hits': 'hits', '#ttl': TTL_ATTRIBUTE },
          // Kept one window longer than needed: clock skew between callers never resets a window early.
          ExpressionAttributeValues: { ':one': 1, ':ttl': windowEnd + windowSeconds },
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    const hits = Number(out.Attributes?.hits ?? 1);
    const allowed = hits <= limit;
    return {
      allowed,
      remaining: Math.max(0, limit - hits),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(windowEnd - nowSeconds)),
    };
  }
}
