/**
 * Signed checkpoints of the audit chains, the pure part: what a checkpoint states, which stored
 * checkpoints deserve trust, and what a new checkpoint may say about each chain.
 *
 * A checkpoint (manifest) states the head of every chain at one time and names the previous
 * manifest by key and sha256, so the trusted manifests form one linked history. Trust comes from
 * the signed content only, never from where an object lies or how its key sorts:
 *
 * - its signature verifies with the checkpoint key and its JWS `typ` is the checkpoint type (a
 *   receipt, signed with another key and type, never passes) — checked by the caller, which hands
 *   in the outcome as a `CheckpointCandidate`;
 * - its object key is the one `checkpointKey` derives from its own signed time, and that time is
 *   not in the future;
 * - it is the newest such manifest, or linked to it through `prev` with matching hashes.
 *
 * Anything else (garbage, a planted far-future object, a replayed or unlinked one) is ignored and
 * reported, so it can neither switch the check off nor make every chain look broken.
 *
 * Signing never trusts the projection's head: it recomputes each chain from its events and signs
 * its head only when the chain still extends every head signed before; otherwise it withholds the
 * chain, carrying its last signed head forward unchanged, and says so in the manifest.
 */
import { verifyChain, type ChainCheckpoint, type ChainProblem } from './audit-chain';
import type { AuditEvent } from './model';

/** JWS `typ` of checkpoints; checked on reading, so nothing else signed can pass as one. */
export const CHECKPOINT_JWS_TYPE = 'audit-checkpoint+jws';
/** JWS `typ` of erasure receipts (signed with their own key). */
export const RECEIPT_JWS_TYPE = 'erasure-receipt+jws';

export const CHECKPOINT_MANIFEST_VERSION = 2;

/** How far a checkpoint's signed time may lie ahead of the reader's clock. */
export const CHECKPOINT_CLOCK_SKEW_MS = 5 * 60_000;

/** What a checkpoint says about one chain. */
export interface SignedHead {
  requestId: string;
  lastSeq: number;
  lastHash: string;
  /** Time of the chain's first event: the start of the record's retention. */
  firstAt: string;
}

/** A chain the signer refused to vouch for, and why (its last signed head, if any, is carried). */
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
  count: number;
  heads: SignedHead[];
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
  /** A valid manifest that the newest manifest's history does not reach. */
  | 'UNLINKED'
  /** A manifest names it as its predecessor, but it is missing or its hash differs. */
  | 'BROKEN_LINK';

export interface IgnoredCheckpoint {
  key: string;
  reason: IgnoredReason;
}

/** One stored object after its signature and type were checked. */
export type CheckpointCandidate = { key: string; sha256: string; manifest: CheckpointManifest } | { key: string; rejected: IgnoredReason };

export interface TrustedCheckpoint {
  key: string;
  sha256: string;
  manifest: CheckpointManifest;
}

export interface CheckpointHistory {
  /** The linked manifests, oldest first; the last one is the latest checkpoint. */
  trusted: TrustedCheckpoint[];
  ignored: IgnoredCheckpoint[];
}

const KEY_PATTERN = /^checkpoint-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\.jws$/;

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

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Chooses the trusted checkpoint history among stored objects by their signed content: the newest
 * manifest whose key matches its signed time and whose time is not after `now` (plus a small clock
 * skew), then every manifest its `prev` links reach (each hash must match, each time must be
 * earlier). Every other object is reported in `ignored`, with the reason.
 */
export function selectCheckpointHistory(candidates: readonly CheckpointCandidate[], now: Date, skewMs = CHECKPOINT_CLOCK_SKEW_MS): CheckpointHistory {
  const ignored: IgnoredCheckpoint[] = [];
  const valid = new Map<string, TrustedCheckpoint & { time: number }>();
  for (const c of candidates) {
    if ('rejected' in c) {
      ignored.push({ key: c.key, reason: c.rejected });
      continue;
    }
    const time = Date.parse(c.manifest.at);
    if (!Number.isFinite(time) || checkpointKey(new Date(time)) !== c.key) ignored.push({ key: c.key, reason: 'KEY_MISMATCH' });
    else if (time > now.getTime() + skewMs) ignored.push({ key: c.key, reason: 'FUTURE' });
    else valid.set(c.key, { ...c, time });
  }

  let latest: (TrustedCheckpoint & { time: number }) | undefined;
  for (const c of valid.values()) if (!latest || c.time > latest.time) latest = c;

  const chain: TrustedCheckpoint[] = [];
  const onChain = new Set<string>();
  for (let current = latest; current; ) {
    chain.push({ key: current.key, sha256: current.sha256, manifest: current.manifest });
    onChain.add(current.key);
    const link = current.manifest.prev;
    if (!link) break;
    const previous = valid.get(link.key);
    if (!previous || previous.sha256 !== link.sha256 || previous.time >= current.time || onChain.has(previous.key)) {
      if (!ignored.some((i) => i.key === link.key)) ignored.push({ key: link.key, reason: 'BROKEN_LINK' });
      break;
    }
    current = previous;
  }
  for (const c of valid.values()) {
    if (!onChain.has(c.key) && !ignored.some((i) => i.key === c.key)) ignored.push({ key: c.key, reason: 'UNLINKED' });
  }
  return { trusted: chain.reverse(), ignored: ignored.sort(byKey) };
}

/**
 * Per chain, every distinct head the trusted history signed, oldest first, each with the time of
 * the earliest checkpoint that stated it: what a chain check compares the chain with.
 */
export function signedHeadsByRequest(trusted: readonly TrustedCheckpoint[]): Map<string, ChainCheckpoint[]> {
  const out = new Map<string, ChainCheckpoint[]>();
  for (const { manifest } of trusted) {
    for (const head of manifest.heads) {
      const list = out.get(head.requestId);
      if (list?.some((c) => c.seq === head.lastSeq && c.hash === head.lastHash)) continue;
      const entry = { seq: head.lastSeq, hash: head.lastHash, at: manifest.at };
      if (list) list.push(entry);
      else out.set(head.requestId, [entry]);
    }
  }
  return out;
}

export type HeadDecision =
  /** The chain verifies and extends every head signed before: sign its recomputed head. */
  | { kind: 'sign'; head: SignedHead }
  /** The chain no longer fits what was signed (or its own hashes): refuse, carry the old head. */
  | { kind: 'withhold'; withheld: WithheldChain; carried?: SignedHead }
  /** Past its retention: the store may have deleted (part of) it; no longer checkpointed. */
  | { kind: 'expired' }
  /** Nothing to sign yet (a creation that never wrote its first event). */
  | { kind: 'empty' };

export interface HeadDecisionInput {
  requestId: string;
  /** The chain as stored, in sequence order. */
  events: readonly AuditEvent[];
  /** Every head of this chain signed in the trusted history, oldest first. */
  signed: readonly ChainCheckpoint[];
  /** This chain's head in the latest checkpoint, carried forward when the chain is withheld. */
  previous?: SignedHead;
  /** The projection's claimed head, when the request's projection was read. */
  projection?: { lastSeq: number; lastHash: string };
  /** Chains whose first event is older than this are past their retention. */
  expiredBefore?: Date;
}

/**
 * What the next checkpoint states about one chain. The head is recomputed from the events (the
 * projection is only checked, never believed), and signed only when the chain verifies against
 * every head signed before; a chain that does not is withheld with the first problem found.
 */
export function decideChainHead(input: HeadDecisionInput): HeadDecision {
  const { requestId, events, signed, previous, projection, expiredBefore } = input;
  // A signed first-event time cannot be forged; an unsigned chain's own is all there is.
  const firstAt = previous?.firstAt ?? events[0]?.at;
  if (expiredBefore && firstAt !== undefined && Date.parse(firstAt) < expiredBefore.getTime()) return { kind: 'expired' };

  const withhold = (seq: number, problem: WithheldChain['problem']): HeadDecision => ({
    kind: 'withhold',
    withheld: { requestId, seq, problem },
    ...(previous ? { carried: previous } : {}),
  });
  const verification = verifyChain(requestId, events, signed);
  if (!verification.ok) return withhold(verification.firstBad!.seq, verification.firstBad!.problem);
  if (projection && (projection.lastSeq > events.length || (projection.lastSeq > 0 && events[projection.lastSeq - 1]!.hash !== projection.lastHash))) {
    // The projection claims a head the chain does not have: events were removed or rewritten behind its back.
    return withhold(Math.min(projection.lastSeq, events.length) + 1, 'PROJECTION_MISMATCH');
  }
  if (events.length === 0) return { kind: 'empty' };
  return { kind: 'sign', head: { requestId, lastSeq: verification.checked, lastHash: verification.headHash, firstAt: events[0]!.at } };
}

/** A manifest with its heads and withheld chains in request-id order (the signed bytes are stable). */
export function buildManifest(at: Date, prev: CheckpointLink | null, heads: readonly SignedHead[], withheld: readonly WithheldChain[]): CheckpointManifest {
  const sortedHeads = [...heads].sort((a, b) => (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0));
  const sortedWithheld = [...withheld].sort((a, b) => (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0));
  return { v: CHECKPOINT_MANIFEST_VERSION, at: at.toISOString(), prev, count: sortedHeads.length, heads: sortedHeads, withheld: sortedWithheld };
}
