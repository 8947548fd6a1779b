/**
 * Chain checkpoints: on a schedule, the heads of all audit chains are recomputed from their events,
 * signed with the checkpoint key (KMS in AWS, a local key pair under `npm start`) and written where
 * they cannot be rewritten (S3 Object Lock in AWS, write-once files locally). Each manifest names
 * the previous one by hash and carries every head signed so far with the time it was first signed.
 *
 * The chain check compares every event with the earliest checkpoint covering it, so a chain
 * rewritten with consistent hashes is caught whatever was signed after the rewrite; the signer
 * refuses to vouch for such a chain. Readers trust the newest manifest that is validly signed,
 * stored under its own key, not in the future and continuing its predecessor (see
 * `functions/domain/checkpoints.ts` for the rules), so they read one or two objects, not years.
 *
 * Longer than 300 lines on purpose: the checkpoint reader and signer share the manifest format and its trust rules; kept together so the two cannot drift apart.
 */
import { createHash } from 'node:crypto';
import { compactVerify, importJWK, type CryptoKey, type JWK } from 'jose';
import * as z from '../domain/validation';
import {
  CHECKPOINT_JWS_TYPE,
  CHECKPOINT_MANIFEST_VERSION,
  buildManifest,
  checkpointKey,
  decideChainHead,
  isCheckpointKey,
  judgeLink,
  judgeManifest,
  type CheckpointCandidate,
  type CheckpointManifest,
  type IgnoredCheckpoint,
  type IgnoredReason,
  type SignedChain,
  type SignedHead,
  type TrustedCheckpoint,
  type WithheldChain,
} from '../domain/checkpoints';
import { ChainTamperedError, DomainError } from '../domain/errors';
import { REQUEST_STATUSES } from '../domain/model';
import type { AuditStore, Clock, Logger, Signer } from '../domain/ports';

export { checkpointKey } from '../domain/checkpoints';

/** Where signed checkpoints are kept: written once, never overwritten, listed and read by key. */
export interface CheckpointWriter {
  /** @throws when `key` exists already (write-once) or the store fails. */
  put(key: string, body: string): Promise<void>;
  /**
   * The names of every object in the checkpoint folder that sort after `startAfter` (all when
   * absent), in key order — whatever lies there, well-formed or not.
   * @throws when the store cannot be listed.
   */
  list(startAfter?: string): Promise<string[]>;
  /**
   * The body of one object exactly as stored, or undefined when it is gone.
   * @throws when the store fails.
   */
  get(key: string): Promise<string | undefined>;
}

/** What verifying checkpoints needs of the checkpoint key: its public half and algorithm. */
export type CheckpointVerifier = Pick<Signer, 'alg' | 'publicJwk'>;

/** The latest trusted checkpoint and what it says about each chain. */
export interface CheckpointIndex {
  latest?: TrustedCheckpoint;
  chains: ReadonlyMap<string, SignedChain>;
  /** Objects examined on the way to the latest checkpoint and not trusted, with the reason. */
  ignored: readonly IgnoredCheckpoint[];
}

/** What the chain check of one request gets from the checkpoints. */
export interface ChainCheckpoints {
  /** Every distinct head of this chain that checkpoints signed, oldest first, each with the time of the first. */
  heads: readonly SignedHead[];
  /** When the latest trusted checkpoint was signed (covering this chain or not). */
  latestAt?: string;
  /** Objects in the checkpoint store that are not trusted, with the reason. */
  ignored: readonly IgnoredCheckpoint[];
}

export interface CheckpointReader {
  /** @throws when the store or the checkpoint key cannot be read (the check is then not made). */
  index(): Promise<CheckpointIndex>;
  /** @throws as `index`. */
  checkpointsFor(requestId: string): Promise<ChainCheckpoints>;
}

/** The checkpoint clock runs behind the latest checkpoint: a new one would not sort after it. */
export class CheckpointClockError extends DomainError {
  constructor() {
    super('The clock is not past the latest checkpoint; not signing');
    this.name = 'CheckpointClockError';
  }
}

const manifestSchema = z.strictObject({
  v: z.literal(CHECKPOINT_MANIFEST_VERSION),
  at: z.string(),
  prev: z.nullable(z.strictObject({ key: z.string(), sha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)) })),
  retentionDays: z.nullable(z.number().check(z.positive())),
  count: z.int().check(z.nonnegative()),
  chains: z.array(
    z.strictObject({
      requestId: z.string(),
      firstAt: z.string(),
      heads: z.array(z.strictObject({ seq: z.int().check(z.positive()), hash: z.string(), at: z.string() })).check(z.minLength(1)),
    }),
  ),
  withheld: z.array(z.strictObject({ requestId: z.string(), seq: z.int().check(z.positive()), problem: z.string() })),
});

/** sha256 (hex) of a checkpoint object exactly as stored: what the next manifest links to. */
export function checkpointSha256(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

/**
 * Checks one stored object as a checkpoint: a compact JWS whose signature verifies with the
 * checkpoint key (algorithm pinned), whose protected header says `typ: audit-checkpoint+jws`, and
 * whose payload is a manifest. Never throws: what fails is a rejected candidate, with the reason.
 */
export async function checkCheckpointObject(key: string, body: string, publicKey: CryptoKey | Uint8Array, alg: string): Promise<CheckpointCandidate> {
  let verified: Awaited<ReturnType<typeof compactVerify>>;
  try {
    verified = await compactVerify(body, publicKey, { algorithms: [alg] });
  } catch {
    return { key, rejected: 'BAD_SIGNATURE' };
  }
  if (verified.protectedHeader.typ !== CHECKPOINT_JWS_TYPE) return { key, rejected: 'WRONG_TYPE' };
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder().decode(verified.payload));
  } catch {
    return { key, rejected: 'MALFORMED' };
  }
  const parsed = manifestSchema.safeParse(payload);
  if (!parsed.success || parsed.data.count !== parsed.data.chains.length) return { key, rejected: 'MALFORMED' };
  return { key, sha256: checkpointSha256(body), manifest: parsed.data as CheckpointManifest };
}

/** A key fit for a log line: well-formed keys are times; anything else is named by a hash only. */
function loggableKey(key: string): string {
  return isCheckpointKey(key) ? key : `unexpected-key-sha256:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;
}

/**
 * Reads the checkpoint store and finds the latest trusted checkpoint: objects are examined from the
 * greatest key down (each fetched and checked once: objects are immutable) until one is a validly
 * signed manifest under its own key, not in the future, that continues its predecessor. Later
 * listings start after that key; objects below it are never read again. Objects examined and not
 * trusted are logged once each (`checkpoint object ignored`, key and reason) and reported.
 */
export function createCheckpointReader(deps: { store: CheckpointWriter; verifier: CheckpointVerifier; clock: Clock; logger?: Logger }): CheckpointReader {
  const known = new Set<string>();
  const candidates = new Map<string, CheckpointCandidate>();
  const reported = new Set<string>();
  let cursor: string | undefined;
  let chains: { key: string; map: Map<string, SignedChain> } | undefined;
  let publicKey: Promise<CryptoKey | Uint8Array> | undefined;
  let loading: Promise<CheckpointIndex> | undefined;

  const verifyingKey = () => {
    publicKey ??= Promise.resolve()
      .then(() => deps.verifier.publicJwk())
      .then((jwk) => importJWK({ ...(jwk as JWK), d: undefined }, deps.verifier.alg))
      .catch((error: unknown) => {
        publicKey = undefined; // try again next time
        throw error;
      });
    return publicKey;
  };

  /** The object under `name`, fetched and checked once. */
  async function candidate(name: string): Promise<CheckpointCandidate> {
    const cached = candidates.get(name);
    if (cached) return cached;
    let found: CheckpointCandidate;
    if (!isCheckpointKey(name)) found = { key: name, rejected: 'UNEXPECTED_KEY' };
    else {
      const body = await deps.store.get(name);
      found = body === undefined ? { key: name, rejected: 'UNREADABLE' } : await checkCheckpointObject(name, body, await verifyingKey(), deps.verifier.alg);
    }
    candidates.set(name, found);
    return found;
  }

  async function load(): Promise<CheckpointIndex> {
    for (const name of await deps.store.list(cursor)) known.add(name);
    const now = deps.clock.now();
    const ignored: IgnoredCheckpoint[] = [];
    let latest: TrustedCheckpoint | undefined;
    for (const name of [...known].sort().reverse()) {
      const c = await candidate(name);
      if ('rejected' in c) {
        ignored.push({ key: name, reason: c.rejected });
        continue;
      }
      const link = c.manifest.prev;
      const reason: IgnoredReason | undefined = judgeManifest(c, now) ?? (link ? judgeLink(c, await candidate(link.key)) : undefined);
      if (reason) {
        ignored.push({ key: name, reason });
        // Only a future time can change; otherwise keep the verdict, not the manifest.
        if (reason !== 'FUTURE') candidates.set(name, { key: name, rejected: reason });
        continue;
      }
      latest = c;
      break;
    }
    if (latest) {
      // Nothing below the latest checkpoint is examined again: keep only it (the next one links to it).
      for (const name of known) if (name < latest.key) known.delete(name);
      for (const name of candidates.keys()) if (name < latest.key) candidates.delete(name);
      cursor = latest.key;
      if (chains?.key !== latest.key) chains = { key: latest.key, map: new Map(latest.manifest.chains.map((c) => [c.requestId, c])) };
    }
    for (const i of ignored) {
      const id = `${i.key}\u0000${i.reason}`;
      if (reported.has(id)) continue;
      reported.add(id);
      deps.logger?.warn('checkpoint object ignored', { key: loggableKey(i.key), reason: i.reason });
    }
    return { ...(latest ? { latest } : {}), chains: latest && chains ? chains.map : new Map(), ignored };
  }

  const index = () => {
    loading ??= load().finally(() => {
      loading = undefined;
    });
    return loading;
  };

  return {
    index,
    async checkpointsFor(requestId) {
      const { latest, chains: byId, ignored } = await index();
      return { heads: byId.get(requestId)?.heads ?? [], ...(latest ? { latestAt: latest.manifest.at } : {}), ignored };
    },
  };
}

export interface SignCheckpointsDeps {
  store: AuditStore;
  /** The checkpoint key (never the receipt key). */
  signer: Signer;
  writer: CheckpointWriter;
  /** The reader over the same store and key: the previous checkpoints. */
  reader: CheckpointReader;
  /** Chains whose first event is older than this many days may be deleted by the store's TTL. */
  expireAfterDays?: number;
  /** Chains read at once (default 8). */
  concurrency?: number;
  logger?: Logger;
}

export interface SignedCheckpoint {
  key: string;
  at: string;
  /** Chains whose head the checkpoint states. */
  count: number;
  /** The manifest it links to, or null for the first. */
  prev: string | null;
}

async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/**
 * Signs the next checkpoint. Every chain (every status partition, canaries included, and every
 * chain the latest checkpoint names even if its projection is gone) is read from its events and
 * checked against every head signed before; its recomputed head is appended to its signed history
 * only when it still matches them. A chain that does not (rewritten, cut back, or broken in itself)
 * is withheld: its signed history is carried forward unchanged and the manifest names it under
 * `withheld`. The manifest links to the latest trusted checkpoint by key and sha256.
 * @throws ChainTamperedError after writing the checkpoint when any chain was withheld (logged as
 *   an error with request ids only); CheckpointClockError when the clock is not past the latest
 *   checkpoint; whatever the store, the signer or the checkpoint store throws (the next run tries
 *   again).
 */
export async function signCheckpoints(deps: SignCheckpointsDeps, now: Date): Promise<SignedCheckpoint> {
  const { latest, chains: previous } = await deps.reader.index();
  if (latest && Date.parse(latest.manifest.at) >= now.getTime()) throw new CheckpointClockError();

  const projections = new Map<string, { lastSeq: number; lastHash: string }>();
  for (const status of REQUEST_STATUSES) {
    let cursor: string | undefined;
    do {
      const page = await deps.store.listByStatus({ status, limit: 500, cursor });
      for (const r of page.items) projections.set(r.requestId, { lastSeq: r.lastSeq, lastHash: r.lastHash });
      cursor = page.cursor;
    } while (cursor);
  }
  const ids = [...new Set([...projections.keys(), ...previous.keys()])];
  const expiredBefore = deps.expireAfterDays !== undefined ? new Date(now.getTime() - deps.expireAfterDays * 86_400_000) : undefined;

  const chains: SignedChain[] = [];
  const withheld: WithheldChain[] = [];
  await eachLimited(ids, deps.concurrency ?? 8, async (requestId) => {
    const events = await deps.store.getTimeline(requestId);
    const prev = previous.get(requestId);
    const projection = projections.get(requestId);
    const decision = decideChainHead({
      requestId,
      events,
      at: now,
      ...(prev ? { previous: prev } : {}),
      ...(projection ? { projection } : {}),
      ...(expiredBefore ? { expiredBefore } : {}),
    });
    if (decision.kind === 'sign') chains.push(decision.chain);
    else if (decision.kind === 'withhold') {
      withheld.push(decision.withheld);
      if (decision.carried) chains.push(decision.carried);
    }
  });

  const manifest = buildManifest(now, latest ? { key: latest.key, sha256: latest.sha256 } : null, chains, withheld, deps.expireAfterDays ?? null);
  const jws = await deps.signer.sign(manifest as unknown as Record<string, unknown>);
  const key = checkpointKey(now);
  await deps.writer.put(key, jws);
  if (manifest.withheld.length > 0) {
    deps.logger?.error('audit chains withheld from checkpoint: they no longer extend their signed heads', {
      key,
      requestIds: manifest.withheld.map((w) => w.requestId),
      problems: manifest.withheld.map((w) => `${w.requestId}#${w.seq}:${w.problem}`),
    });
    throw new ChainTamperedError(
      manifest.withheld.map((w) => w.requestId),
      key,
    );
  }
  return { key, at: manifest.at, count: manifest.count, prev: manifest.prev?.key ?? null };
}
