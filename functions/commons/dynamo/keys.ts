/**
 * How each kind of item is keyed. The only place that spells the `pk`/`sk` prefixes.
 */

/** Events are numbered 1…99,999,999; zero-padding keeps the sort key in sequence order. */
export const EVENT_SEQ_WIDTH = 8;
export const MAX_EVENT_SEQ = 10 ** EVENT_SEQ_WIDTH - 1;

export const META_SK = 'META';
export const EVENT_SK_PREFIX = 'EVT#';

export const requestPk = (requestId: string) => `REQ#${requestId}`;

/** @throws RangeError when `seq` is not an integer in 1…MAX_EVENT_SEQ. */
export function eventSk(seq: number): string {
  if (!Number.isInteger(seq) || seq < 1 || seq > MAX_EVENT_SEQ) throw new RangeError('Event sequence number out of range');
  return `${EVENT_SK_PREFIX}${String(seq).padStart(EVENT_SEQ_WIDTH, '0')}`;
}

/** The sort key of the byStatus index: time order, ties broken by id (stable pagination). */
export const listKey = (receivedAt: string, requestId: string) => `${receivedAt}#${requestId}`;

export const openClaimKey = (subjectHash: string, scopeKey: string) => ({ pk: `SUBJECT#${subjectHash}`, sk: `OPEN#${scopeKey}` });

export const tokenKey = (jti: string) => ({ pk: `TOKEN#${jti}`, sk: 'USED' });

/** A signed-out staff session, by the hash of its token. */
export const revokedSessionKey = (sessionId: string) => ({ pk: `SESSION#${sessionId}`, sk: 'REVOKED' });

export const rateWindowKey = (keyDigest: string, windowSeconds: number, windowStart: number) => ({
  pk: `RATE#${keyDigest}`,
  sk: `W#${windowSeconds}#${windowStart}`,
});

export const identityKey = (subjectHash: string, version: string) => ({ pk: `PRIV#${subjectHash}`, sk: `V#${version}` });

/** A bot of the account in one snapshot version (bot ids are no personal data: kept plain). */
export const botKey = (botId: string, version: string) => ({ pk: `BOT#${botId}`, sk: `V#${version}` });

export const SNAPSHOT_POINTER_KEY = { pk: 'SNAPSHOT', sk: 'CURRENT' } as const;

/** Epoch seconds, the unit of the TTL attribute. */
export const epochSeconds = (date: Date) => Math.floor(date.getTime() / 1000);
