/**
 * Intake idempotency without transactions: one claim item per subject and scope while a request is
 * open. The conditional put makes concurrent submissions of the same subject and scope agree on
 * one request; the request's end releases the claim.
 *
 * A release marks the claim released (a conditional update removes its holder) instead of
 * deleting the item: the internet-facing functions that release claims (the intake, the console's
 * cancel) then need no DeleteItem on the table at all. A released claim expires by TTL; until then
 * it is taken over by the next claim like a missing one.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConcurrentUpdateError } from '../../domain/errors';
import { systemClock, type Clock, type OpenRequestClaims } from '../../domain/ports';
import { conditionalWrite, storeCall } from './errors';
import { epochSeconds, openClaimKey } from './keys';
import { PARTITION_KEY, TTL_ATTRIBUTE } from './table-schema';

export interface DynamoOpenRequestClaimsOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock?: Clock;
}

/** A claim can only vanish between our failed put and our read a few times in a row by chance. */
const MAX_CLAIM_ROUNDS = 5;

export class DynamoOpenRequestClaims implements OpenRequestClaims {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #clock: Clock;

  constructor(options: DynamoOpenRequestClaimsOptions) {
    if (!options.tableName) throw new TypeError('DynamoOpenRequestClaims needs a table name');
    this.#client = options.client;
    this.#table = options.tableName;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Claims the subject + scope for `requestId`. Claiming again with the holder's own id is a
   * success (a retried intake). Otherwise the open request's id comes back.
   * @throws ConcurrentUpdateError when the claim kept appearing and vanishing;
   *   StoreUnavailableError / StoreError when DynamoDB fails.
   */
  async claimOpenRequest(subjectHash: string, scopeKey: string, requestId: string): Promise<{ claimed: true } | { claimed: false; existingRequestId: string }> {
    const Key = openClaimKey(subjectHash, scopeKey);
    for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
      const claimed = await conditionalWrite('PutItem', () =>
        this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: { ...Key, requestId, claimedAt: this.#clock.now().toISOString() },
            // Free when there is no claim, or only a released one (no holder).
            ConditionExpression: 'attribute_not_exists(#pk) OR attribute_not_exists(#r)',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#r': 'requestId' },
          }),
        ),
      );
      if (claimed) return { claimed: true };
      const out = await storeCall('GetItem', () => this.#client.send(new GetCommand({ TableName: this.#table, Key, ConsistentRead: true })));
      const holder = out.Item?.requestId;
      if (typeof holder === 'string') return holder === requestId ? { claimed: true } : { claimed: false, existingRequestId: holder };
      // Released (or gone) between our put and our read: try again.
    }
    throw new ConcurrentUpdateError('The open-request claim kept changing');
  }

  /**
   * Releases the claim if `requestId` still holds it; a claim already released, gone or held by
   * another request is left as it is (so a late or repeated release is harmless). The item stays,
   * without a holder, until its TTL removes it.
   * @throws StoreUnavailableError / StoreError when DynamoDB fails.
   */
  async releaseOpenRequest(subjectHash: string, scopeKey: string, requestId: string): Promise<void> {
    const now = this.#clock.now();
    // A failed condition means the claim is released, gone or held by another request: nothing to release.
    await conditionalWrite('UpdateItem', () =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: openClaimKey(subjectHash, scopeKey),
          UpdateExpression: 'REMOVE #r SET #releasedAt = :now, #ttl = :ttl',
          ConditionExpression: '#r = :r',
          ExpressionAttributeNames: { '#r': 'requestId', '#releasedAt': 'releasedAt', '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':r': requestId, ':now': now.toISOString(), ':ttl': epochSeconds(now) },
        }),
      ),
    );
  }
}
