/**
 * Tampering in tests, done as an attacker would: compact JWS/JWT changed so that it really changes
 * the signature bytes, and audit chains rewritten in the table with every hash recomputed.
 */
import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { chainEvent } from '../../functions/domain/audit-chain';
import type { AuditEvent } from '../../functions/domain/model';
import { META_SK, requestPk } from '../../functions/adapters/dynamo/keys';
import { PARTITION_KEY, SORT_KEY } from '../../functions/adapters/dynamo/table-schema';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The token with one signature character changed so that the signature bytes change: the last
 * base64url character of a signature also carries padding bits, so flipping it (e.g. B → A) can
 * leave the bytes — and the signature — valid. This flips the high bit of a character well
 * inside the signature.
 */
export function flipSignatureCharacter(token: string): string {
  const i = token.length - 10;
  const flipped = BASE64URL[BASE64URL.indexOf(token[i]!) ^ 0b100000]!;
  return token.slice(0, i) + flipped + token.slice(i + 1);
}


/**
 * What an attacker with write access to the audit table does to get away with an edit: event
 * `seq` of `requestId` is changed by `edit`, every later event is re-hashed onto it, and the META
 * projection is pointed at the new head — so the chain is self-consistent and only a signed
 * checkpoint can tell. Items are replaced in place with plain puts (no condition). Returns the
 * new head hash.
 */
export async function rewriteChainInTable(
  client: DynamoDBDocumentClient,
  tableName: string,
  requestId: string,
  seq: number,
  edit: (event: AuditEvent) => Partial<Pick<AuditEvent, 'actor' | 'at' | 'details' | 'type' | 'status' | 'attempt'>>,
): Promise<string> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :evt)',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
        ExpressionAttributeValues: { ':pk': requestPk(requestId), ':evt': 'EVT#' },
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }),
    );
    items.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey as Record<string, unknown> | undefined;
  } while (start);
  items.sort((a, b) => (a.seq as number) - (b.seq as number));
  let head: { seq: number; hash: string } | undefined;
  for (const item of items) {
    const event = item as unknown as AuditEvent;
    if (event.seq < seq) {
      head = { seq: event.seq, hash: event.hash };
      continue;
    }
    const { requestId: _r, seq: _s, prevHash: _p, hash: _h, ...input } = event;
    const changed = event.seq === seq ? { ...input, ...edit(event) } : input;
    const next = chainEvent(requestId, head, { type: changed.type, at: changed.at, actor: changed.actor, attempt: changed.attempt, status: changed.status, details: changed.details });
    await client.send(new PutCommand({ TableName: tableName, Item: { ...item, ...next } }));
    head = { seq: next.seq, hash: next.hash };
  }
  const meta = (await client.send(new GetCommand({ TableName: tableName, Key: { [PARTITION_KEY]: requestPk(requestId), [SORT_KEY]: META_SK }, ConsistentRead: true }))).Item!;
  await client.send(new PutCommand({ TableName: tableName, Item: { ...meta, lastSeq: head!.seq, lastHash: head!.hash } }));
  return head!.hash;
}
