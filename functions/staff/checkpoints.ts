/**
 * Chain checkpoints: on a schedule, the heads of all audit chains are signed (KMS in AWS, a local
 * key pair under `npm start`) and written where they cannot be rewritten (S3 Object Lock in AWS,
 * append-only files locally). The chain check compares each chain with the latest checkpoint, so a
 * chain rewritten with consistent hashes after the checkpoint is still detected.
 */
import { compactVerify, importJWK, type JWK } from 'jose';
import { z } from 'zod';
import { DomainError } from '../domain/errors';
import { REQUEST_STATUSES } from '../domain/model';
import type { AuditStore, Signer } from '../domain/ports';

/** Where signed checkpoints are kept; nothing written there can be overwritten. */
export interface CheckpointWriter {
  /** @throws when `key` exists already (write-once) or the store fails. */
  put(key: string, body: string): Promise<void>;
  /** The body of the newest checkpoint, or undefined when none was written yet. */
  latest(): Promise<string | undefined>;
}

/** What the chain check needs: the head the latest trusted checkpoint vouches for. */
export interface CheckpointReader {
  /** @throws CheckpointSignatureError when the latest checkpoint does not verify. */
  latestCheckpointFor(requestId: string): Promise<{ seq: number; hash: string; at: string } | undefined>;
}

/** The latest checkpoint's signature or content does not verify: it must not be trusted. */
export class CheckpointSignatureError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CheckpointSignatureError';
  }
}

export interface ChainHead {
  requestId: string;
  lastSeq: number;
  lastHash: string;
}

export interface CheckpointManifest {
  at: string;
  heads: ChainHead[];
  count: number;
}

const manifestSchema = z.object({
  at: z.string(),
  count: z.number().int().nonnegative(),
  heads: z.array(z.object({ requestId: z.string(), lastSeq: z.number().int().nonnegative(), lastHash: z.string() })),
});

/** Sortable, file-name safe key of a checkpoint taken at `at`. */
export function checkpointKey(at: Date): string {
  return `checkpoint-${at.toISOString().replace(/[:.]/g, '-')}.jws`;
}

export interface SignCheckpointsDeps {
  store: AuditStore;
  signer: Signer;
  writer: CheckpointWriter;
}

/**
 * Collects the head of every chain (every status partition, canaries included), signs the
 * manifest `{ at, heads, count }` as a compact JWS and writes it.
 * @throws whatever the store, the signer or the writer throws (the next run tries again).
 */
export async function signCheckpoints(deps: SignCheckpointsDeps, now: Date): Promise<{ key: string; count: number; at: string }> {
  const heads: ChainHead[] = [];
  for (const status of REQUEST_STATUSES) {
    let cursor: string | undefined;
    do {
      const page = await deps.store.listByStatus({ status, limit: 500, cursor });
      for (const r of page.items) heads.push({ requestId: r.requestId, lastSeq: r.lastSeq, lastHash: r.lastHash });
      cursor = page.cursor;
    } while (cursor);
  }
  heads.sort((a, b) => (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0));
  const at = now.toISOString();
  const manifest: CheckpointManifest = { at, heads, count: heads.length };
  const jws = await deps.signer.sign(manifest as unknown as Record<string, unknown>);
  const key = checkpointKey(now);
  await deps.writer.put(key, jws);
  return { key, count: heads.length, at };
}

/**
 * Reads the latest checkpoint and trusts it only after its signature verifies with the signer's
 * public key (algorithm pinned to the signer's). The parsed manifest is cached while the latest
 * checkpoint stays the same.
 */
export function createCheckpointReader(deps: { writer: CheckpointWriter; signer: Pick<Signer, 'alg' | 'publicJwk'> }): CheckpointReader {
  let cached: { jws: string; at: string; heads: Map<string, { seq: number; hash: string }> } | undefined;
  let keyPromise: ReturnType<typeof importJWK> | undefined;

  async function load(jws: string) {
    keyPromise ??= deps.signer.publicJwk().then((jwk) => importJWK(jwk as JWK, deps.signer.alg));
    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(jws.trim(), await keyPromise, { algorithms: [deps.signer.alg] }));
    } catch (cause) {
      throw new CheckpointSignatureError('The latest checkpoint does not verify', { cause });
    }
    const parsed = manifestSchema.safeParse(JSON.parse(new TextDecoder().decode(payload)));
    if (!parsed.success || parsed.data.count !== parsed.data.heads.length) throw new CheckpointSignatureError('The latest checkpoint is malformed');
    const heads = new Map(parsed.data.heads.map((h) => [h.requestId, { seq: h.lastSeq, hash: h.lastHash }]));
    return { jws, at: parsed.data.at, heads };
  }

  return {
    async latestCheckpointFor(requestId) {
      const jws = await deps.writer.latest();
      if (jws === undefined) return undefined;
      if (!cached || cached.jws !== jws) cached = await load(jws);
      const head = cached.heads.get(requestId);
      return head && head.seq > 0 ? { ...head, at: cached.at } : undefined;
    },
  };
}
