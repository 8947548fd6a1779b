/**
 * Signed checkpoints of the audit chains, the pure part: what a checkpoint states, which stored
 * checkpoint deserves trust, and what a new checkpoint may say about each chain.
 *
 * A checkpoint (manifest) states, for every chain, each distinct head it has had when a checkpoint
 * was signed, with the time of the checkpoint that first stated it — so the latest manifest alone
 * tells a reader what the earliest checkpoint covering each event said, without reading years of
 * manifests. Each manifest names the previous one by key and sha256, and must carry that one's
 * history forward unchanged: a manifest that drops or rewrites a signed head is not trusted.
 *
 * Trust comes from the signed content only, never from where an object lies or how its key sorts:
 * - its signature verifies with the checkpoint key and its JWS `typ` is the checkpoint type (a
 *   receipt, signed with another key and type, never passes) — checked by the caller, which hands
 *   in the outcome as a `CheckpointCandidate`;
 * - its object key is the one `checkpointKey` derives from its own signed time, and that time is
 *   not in the future;
 * - it continues its predecessor (`judgeLink`).
 * The newest such manifest is the latest checkpoint; every object examined and found wanting is
 * reported, so garbage or a planted far-future object can neither switch the check off nor make
 * every chain look broken.
 *
 * Signing never trusts the projection's head: it recomputes each chain from its events and signs
 * its head only when the chain still matches every head signed before; otherwise it withholds the
 * chain, carrying its signed history forward unchanged, and says so in the manifest.
 */
import { verifyChain, type ChainProblem } from './audit-chain';
import type { AuditEvent } from './model';

/** JWS `typ` of checkpoints; checked on reading, so nothing else signed can pass as one. */
export const CHECKPOINT_JWS_TYPE = 'audit-checkpoint+jws';
/** JWS `typ` of erasure receipts (signed with their own key). */
export const RECEIPT_JWS_TYPE = 'erasure-receipt+jws';

export const CHECKPOINT_MANIFEST_VERSION = 2;

/** How far a checkpoint's signed time may lie ahead of the reader's clock. */
export const CHECKPOINT_CLOCK_SKEW_MS = 5 * 60_000;

/** A head of a chain as a checkpoint signed it, with the time of the checkpoint that first did. */
export interface SignedHead {
  seq: number;
  hash: string;
  at: string;
}

/** What a checkpoint says about one chain. */
export interface SignedChain {
  requestId: string;
  /** Time of the chain's first event: the start of the record's retention. */
  firstAt: string;
  /** Every distinct head signed so far, oldest first; the last is the chain's current head. */
  heads: SignedHead[];
}

/** A chain the signer refused to vouch for, and why (its signed history, if any, is carried). */
export interface WithheldChain {
  requestId: string;
  seq: number;
  problem: ChainProblem | 'PROJECTION_MISMATCH';
}

/** The previous manifest, as a manifest names it. */
export interface CheckpointLink {
  key: string;
  /** sha256 (hex) of the previous checkpoint object exactly as stored (its compact JWS). */
  sha256: string;
}

export interface CheckpointManifest {
  v: typeof CHECKPOINT_MANIFEST_VERSION;
  at: string;
  prev: CheckpointLink | null;
  /** Chains whose first event is older than this many days may be let go (the store's TTL); null: kept for ever. */
  retentionDays: number | null;
  count: number;
  chains: SignedChain[];
  withheld: WithheldChain[];
}

/** Why a stored object is not trusted as a checkpoint. */
export type IgnoredReason =
  /** Not named like a checkpoint at all. */
  | 'UNEXPECTED_KEY'
  /** Could not be read. */
  | 'UNREADABLE'
  /** Not a JWS, or its signature does not verify with the checkpoint key. */
  | 'BAD_SIGNATURE'
  /** Signed, but not as a checkpoint (e.g. a receipt). */
  | 'WRONG_TYPE'
  /** Signed as a checkpoint, but its content is not a manifest. */
  | 'MALFORMED'
  /** Its key is not the key of its own signed time (copied or replayed under another name). */
  | 'KEY_MISMATCH'
  /** Its signed time lies in the future. */
  | 'FUTURE'
  /** Its predecessor is missing, not trusted, not earlier, or not the object its hash names. */
  | 'BROKEN_LINK'
  /** It drops or changes a head its predecessor signed, or shortens the retention. */
  | 'HISTORY_REWRITTEN';

export interface IgnoredCheckpoint {
  key: string;
  reason: IgnoredReason;
}

/** One stored object after its signature and type were checked. */
export type CheckpointCandidate = TrustedCheckpoint | { key: string; rejected: IgnoredReason };

export interface TrustedCheckpoint {
  key: string;
  sha256: string;
  manifest: CheckpointManifest;
}

const KEY_PATTERN = /^checkpoint-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.jws$/;
const DAY_MS = 86_400_000;

/**
 * The object key of a checkpoint taken at `at`: sortable, file-name safe, and derived from the
 * signed time alone, so a reader can tell whether an object lies under its own name.
 * @throws RangeError for an invalid date.
 */
export function checkpointKey(at: Date): string {
  return `checkpoint-${at.toISOString().replace(/[:.]/g, '-')}.jws`;
}

/** Whether `key` is shaped like a key `checkpointKey` makes (four-digit years only). */
export function isCheckpointKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

/**
 * Whether a validly signed manifest may stand as a checkpoint on its own terms: stored under the
 * key of its own signed time, and that time not after `now` (plus a small clock skew).
 */
export function judgeManifest(candidate: TrustedCheckpoint, now: Date, skewMs = CHECKPOINT_CLOCK_SKEW_MS): IgnoredReason | undefined {
  const time = Date.parse(candidate.manifest.at);
  if (!Number.isFinite(time) || checkpointKey(new Date(time)) !== candidate.key) return 'KEY_MISMATCH';
  if (time > now.getTime() + skewMs) return 'FUTURE';
  return undefined;
}

const sameHead = (a: SignedHead, b: SignedHead) => a.seq === b.seq && a.hash === b.hash && a.at === b.at;

/**
 * Whether `latest` continues the manifest it names as previous (`previous`: that object as found,
 * undefined when missing). It must be a trusted manifest with the named hash and an earlier time;
 * the retention may not shrink; and every chain of the previous manifest must be carried with its
 * signed heads unchanged (new heads appended), unless past the retention at `latest`'s time.
 */
export function judgeLink(latest: TrustedCheckpoint, previous: CheckpointCandidate | undefined): IgnoredReason | undefined {
  const link = latest.manifest.prev;
  if (!link) return undefined;
  if (!previous || 'rejected' in previous || previous.key !== link.key || previous.sha256 !== link.sha256) return 'BROKEN_LINK';
  const before = previous.manifest;
  const at = Date.parse(latest.manifest.at);
  if (!(Date.parse(before.at) < at)) return 'BROKEN_LINK';
  const retention = latest.manifest.retentionDays;
  if (before.retentionDays === null ? retention !== null : retention !== null && retention < before.retentionDays) return 'HISTORY_REWRITTEN';
  const carried = new Map(latest.manifest.chains.map((c) => [c.requestId, c]));
  for (const chain of before.chains) {
    const now = carried.get(chain.requestId);
    if (!now) {
      if (retention !== null && Date.parse(chain.firstAt) < at - retention * DAY_MS) continue;
      return 'HISTORY_REWRITTEN';
    }
    if (now.firstAt !== chain.firstAt || now.heads.length < chain.heads.length || chain.heads.some((h, i) => !sameHead(h, now.heads[i]!))) return 'HISTORY_REWRITTEN';
  }
  return undefined;
}

const byKeyDescending = (a: { key: string }, b: { key: string }) => (a.key < b.key ? 1 : a.key > b.key ? -1 : 0);

/**
 * The latest checkpoint among stored objects, chosen by signed content: examining objects from
 * the greatest key down, the first validly signed manifest that passes `judgeManifest` and
 * continues its predecessor (`judgeLink`). Every object examined on the way is reported in
 * `ignored` with its reason; objects below the latest are not examined.
 */
export function chooseLatestCheckpoint(candidates: readonly CheckpointCandidate[], now: Date, skewMs = CHECKPOINT_CLOCK_SKEW_MS): { latest?: TrustedCheckpoint; ignored: IgnoredCheckpoint[] } {
  const byKey = new Map(candidates.map((c) => [c.key, c]));
  const ignored: IgnoredCheckpoint[] = [];
  for (const candidate of [...candidates].sort(byKeyDescending)) {
    if ('rejected' in candidate) {
      ignored.push({ key: candidate.key, reason: candidate.rejected });
      continue;
    }
    const link = candidate.manifest.prev;
    const reason = judgeManifest(candidate, now, skewMs) ?? judgeLink(candidate, link ? byKey.get(link.key) : undefined);
    if (reason) {
      ignored.push({ key: candidate.key, reason });
      continue;
    }
    return { latest: candidate, ignored };
  }
  return { ignored };
}

export type HeadDecision =
  /** The chain verifies against every head signed before: state its recomputed head. */
  | { kind: 'sign'; chain: SignedChain }
  /** The chain no longer fits what was signed (or its own hashes): refuse, carry its history. */
  | { kind: 'withhold'; withheld: WithheldChain; carried?: SignedChain }
  /** Past its retention: the store may have deleted (part of) it; no longer checkpointed. */
  | { kind: 'expired' }
  /** Nothing to sign yet (a creation that never wrote its first event). */
  | { kind: 'empty' };

export interface HeadDecisionInput {
  requestId: string;
  /** The chain as stored, in sequence order. */
  events: readonly AuditEvent[];
  /** What the latest checkpoint says about this chain, if anything. */
  previous?: SignedChain;
  /** The projection's claimed head, when the request's projection was read. */
  projection?: { lastSeq: number; lastHash: string };
  /** Chains whose first event is older than this are past their retention. */
  expiredBefore?: Date;
  /** The time of the checkpoint being signed (stamped on a new head). */
  at: Date;
}

/**
 * What the next checkpoint states about one chain. The head is recomputed from the events (the
 * projection is only checked, never believed) and appended to the chain's signed history only
 * when the chain verifies against every head signed before; a chain that does not is withheld
 * with the first problem found, its history carried unchanged.
 */
export function decideChainHead(input: HeadDecisionInput): HeadDecision {
  const { requestId, events, previous, projection, expiredBefore } = input;
  // A signed first-event time cannot be forged; an unsigned chain's own is all there is.
  const firstAt = previous?.firstAt ?? events[0]?.at;
  if (expiredBefore && firstAt !== undefined && Date.parse(firstAt) < expiredBefore.getTime()) return { kind: 'expired' };

  const withhold = (seq: number, problem: WithheldChain['problem']): HeadDecision => ({
    kind: 'withhold',
    withheld: { requestId, seq, problem },
    ...(previous ? { carried: previous } : {}),
  });
  const verification = verifyChain(requestId, events, previous?.heads ?? []);
  if (!verification.ok) return withhold(verification.firstBad!.seq, verification.firstBad!.problem);
  if (projection && (projection.lastSeq > events.length || (projection.lastSeq > 0 && events[projection.lastSeq - 1]!.hash !== projection.lastHash))) {
    // The projection claims a head the chain does not have: events were removed or rewritten behind its back.
    return withhold(Math.min(projection.lastSeq, events.length) + 1, 'PROJECTION_MISMATCH');
  }
  if (events.length === 0) return { kind: 'empty' };
  const signed = previous?.heads ?? [];
  const last = signed.at(-1);
  const head = { seq: verification.checked, hash: verification.headHash };
  const heads = last && last.seq === head.seq && last.hash === head.hash ? signed : [...signed, { ...head, at: input.at.toISOString() }];
  return { kind: 'sign', chain: { requestId, firstAt: events[0]!.at, heads } };
}

/** A manifest with its chains and withheld chains in request-id order (the signed bytes are stable). */
export function buildManifest(
  at: Date,
  prev: CheckpointLink | null,
  chains: readonly SignedChain[],
  withheld: readonly WithheldChain[],
  retentionDays: number | null = null,
): CheckpointManifest {
  const byId = (a: { requestId: string }, b: { requestId: string }) => (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0);
  const sortedChains = [...chains].sort(byId);
  return { v: CHECKPOINT_MANIFEST_VERSION, at: at.toISOString(), prev, retentionDays, count: sortedChains.length, chains: sortedChains, withheld: [...withheld].sort(byId) };
}
