/**
 * The tamper-evident audit chain: each event's hash covers the previous event's hash and the
 * canonical JSON of the event, so editing, deleting, reordering or inserting any event breaks
 * every hash after it. Verification names the first event that does not fit.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent, AuditEventInput, JsonValue } from './model';

/** The `prevHash` of the first event of every chain. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Canonical JSON (RFC 8785 style for the values we store): object keys sorted by code unit,
 * no whitespace, `undefined` members dropped. Numbers must be finite.
 * @throws TypeError on non-finite numbers or values JSON cannot hold.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('Non-finite number in canonical JSON');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`Cannot put a ${typeof value} in canonical JSON`);
  }
}

/** The part of an event that its hash covers. */
export function hashedBody(event: Omit<AuditEvent, 'hash' | 'prevHash'>): JsonValue {
  const { requestId, seq, type, at, actor, attempt, status, details } = event;
  return { requestId, seq, type, at, actor, attempt, status, details };
}

/** sha256(prevHash ‖ "\n" ‖ canonical JSON of the event body), hex. */
export function computeEventHash(prevHash: string, event: Omit<AuditEvent, 'hash' | 'prevHash'>): string {
  return createHash('sha256').update(prevHash).update('\n').update(canonicalJson(hashedBody(event))).digest('hex');
}

/** Builds the next link of a chain whose head is `head` (undefined for an empty chain). */
export function chainEvent(requestId: string, head: Pick<AuditEvent, 'seq' | 'hash'> | undefined, input: AuditEventInput): AuditEvent {
  const seq = head ? head.seq + 1 : 1;
  const prevHash = head ? head.hash : GENESIS_HASH;
  const body = { requestId, seq, ...input };
  return { ...body, prevHash, hash: computeEventHash(prevHash, body) };
}

export type ChainProblem = 'SEQUENCE_GAP' | 'WRONG_REQUEST' | 'PREV_HASH_MISMATCH' | 'HASH_MISMATCH' | 'CHECKPOINT_MISMATCH';

export interface ChainVerification {
  ok: boolean;
  /** Number of events checked. */
  checked: number;
  /** Hash of the last event (the chain head), or the genesis hash when empty. */
  headHash: string;
  /**
   * The first event that does not fit, when not ok. `checkpointAt` names the signed checkpoint the
   * event failed against (CHECKPOINT_MISMATCH), when that checkpoint carries its time.
   */
  firstBad?: { seq: number; index: number; problem: ChainProblem; checkpointAt?: string };
}

/** An externally signed statement of a chain's head at some point in time. */
export interface ChainCheckpoint {
  seq: number;
  hash: string;
  /** When the checkpoint that first stated this head was signed. */
  at?: string;
}

/**
 * Recomputes a chain in the order given (stored order, by sequence number).
 * Detects: an edited event (HASH_MISMATCH), a deleted or inserted one (SEQUENCE_GAP or
 * PREV_HASH_MISMATCH), a reordering (SEQUENCE_GAP), an event of another request, and — given
 * checkpoints — a chain rewritten with consistent hashes after a checkpoint was signed
 * (CHECKPOINT_MISMATCH), or cut back below one.
 *
 * Every checkpoint given is compared, not only the newest: a head signed early pins every event up
 * to it, so a rewrite that a later (mistaken or forged) checkpoint vouches for is still caught by
 * the earliest checkpoint covering the rewritten event. Pass them oldest first; the first mismatch
 * in chain order is reported, against the earliest checkpoint at that position.
 */
export function verifyChain(
  requestId: string,
  events: readonly AuditEvent[],
  checkpoints?: ChainCheckpoint | readonly ChainCheckpoint[],
): ChainVerification {
  const list: readonly ChainCheckpoint[] = checkpoints === undefined ? [] : Array.isArray(checkpoints) ? checkpoints : [checkpoints as ChainCheckpoint];
  const bySeq = new Map<number, ChainCheckpoint[]>();
  for (const c of list) bySeq.set(c.seq, [...(bySeq.get(c.seq) ?? []), c]);
  const at = (c: ChainCheckpoint) => (c.at !== undefined ? { checkpointAt: c.at } : {});

  let prevHash = GENESIS_HASH;
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!;
    const bad = (problem: ChainProblem, extra: { checkpointAt?: string } = {}): ChainVerification => ({
      ok: false,
      checked: index,
      headHash: prevHash,
      firstBad: { seq: event.seq, index, problem, ...extra },
    });
    if (event.requestId !== requestId) return bad('WRONG_REQUEST');
    if (event.seq !== index + 1) return bad('SEQUENCE_GAP');
    if (event.prevHash !== prevHash) return bad('PREV_HASH_MISMATCH');
    if (computeEventHash(prevHash, event) !== event.hash) return bad('HASH_MISMATCH');
    const differing = (bySeq.get(event.seq) ?? []).find((c) => c.hash !== event.hash);
    if (differing) return bad('CHECKPOINT_MISMATCH', at(differing));
    prevHash = event.hash;
  }
  const beyond = list.filter((c) => c.seq > events.length);
  if (beyond.length > 0) {
    // Events a checkpoint vouched for are gone: the chain was cut back.
    return {
      ok: false,
      checked: events.length,
      headHash: prevHash,
      firstBad: { seq: events.length + 1, index: events.length, problem: 'CHECKPOINT_MISMATCH', ...at(beyond[0]!) },
    };
  }
  return { ok: true, checked: events.length, headHash: prevHash };
}
