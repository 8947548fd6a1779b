import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, importJWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainEvent } from '../../../functions/domain/audit-chain';
import type { AuditEvent } from '../../../functions/domain/model';
import { getRequestDetail } from '../../../functions/staff/audit';
import { checkpointKey, createCheckpointReader, signCheckpoints } from '../../../functions/staff/checkpoints';
import { CheckpointExistsError, createFileCheckpointWriter } from '../../../functions/staff/file-checkpoint-writer';
import { createTestSigner, createWithHistory, InMemoryAuditStore, MemoryCheckpointWriter, MutableClock, SUBJECT_KEY, TO_FAILED } from './fakes';
import { apiEvent, createHarness, jsonOf, NOW } from './harness';

/** Rewrites a chain from `fromSeq` on with edited details, every hash recomputed so it is self-consistent. */
function rewrite(store: InMemoryAuditStore, requestId: string, fromSeq: number, edit: (e: AuditEvent) => AuditEvent['details']): void {
  const events = store.events.get(requestId)!;
  const out: AuditEvent[] = events.slice(0, fromSeq - 1);
  for (const e of events.slice(fromSeq - 1)) {
    const head = out.at(-1);
    const { requestId: _r, seq: _s, prevHash: _p, hash: _h, ...input } = e;
    out.push(chainEvent(requestId, head ? { seq: head.seq, hash: head.hash } : undefined, { ...input, details: edit(e) }));
  }
  store.events.set(requestId, out);
  const r = store.requests.get(requestId)!;
  store.requests.set(requestId, { ...r, lastSeq: out.at(-1)!.seq, lastHash: out.at(-1)!.hash });
}

async function setup() {
  const store = new InMemoryAuditStore();
  const signer = await createTestSigner();
  const writer = new MemoryCheckpointWriter();
  const checkpoints = createCheckpointReader({ writer, signer });
  const deps = { store, clock: new MutableClock(new Date(NOW)), subjectHashKey: SUBJECT_KEY, checkpoints };
  await createWithHistory(store, { requestId: 'req-1' }, [...TO_FAILED]);
  await createWithHistory(store, { requestId: 'req-2', channel: 'canary' }, [{ type: 'VERIFICATION_SENT', status: 'AWAITING_VERIFICATION' }]);
  return { store, signer, writer, checkpoints, deps };
}

describe('signing checkpoints', () => {
  it('signs the heads of every chain, canaries included, as a verifiable compact JWS', async () => {
    const { store, signer, writer } = await setup();
    const at = new Date(NOW);
    const written = await signCheckpoints({ store, signer, writer }, at);
    expect(written).toEqual({ key: checkpointKey(at), count: 2, at: NOW });
    const jws = writer.objects.get(written.key)!;
    const { payload } = await compactVerify(jws, await importJWK(await signer.publicJwk(), 'ES256'));
    expect(JSON.parse(new TextDecoder().decode(payload))).toEqual({
      at: NOW,
      count: 2,
      heads: [
        { requestId: 'req-1', lastSeq: 6, lastHash: store.requests.get('req-1')!.lastHash },
        { requestId: 'req-2', lastSeq: 2, lastHash: store.requests.get('req-2')!.lastHash },
      ],
    });
  });

  it('vouches for an untouched chain that has grown since the checkpoint', async () => {
    const { store, signer, writer, deps } = await setup();
    await signCheckpoints({ store, signer, writer }, new Date(NOW));
    await store.appendEvent('req-1', () => ({ event: { type: 'RETRY_REQUESTED', at: NOW, actor: 'staff:x', attempt: 2, status: 'QUEUED', details: { reason: 'r' } }, patch: { attempt: 2 } }));
    const detail = await getRequestDetail(deps, 'req-1');
    expect(detail.chain).toMatchObject({ ok: true, checked: 7, checkpoint: { status: 'verified', seq: 6, at: NOW } });
  });
});

describe('the chain check of a request', () => {
  it('reports an edited stored event as the first bad one', async () => {
    const { store, deps } = await setup();
    const events = store.events.get('req-1')!;
    events[2] = { ...events[2]!, actor: 'staff:mallory' };
    const detail = await getRequestDetail(deps, 'req-1');
    expect(detail.chain).toMatchObject({ ok: false, firstBad: { seq: 3, problem: 'HASH_MISMATCH' } });
  });

  it('reports a deleted event', async () => {
    const { store, deps } = await setup();
    store.events.get('req-1')!.splice(3, 1);
    const detail = await getRequestDetail(deps, 'req-1');
    expect(detail.chain).toMatchObject({ ok: false, firstBad: { seq: 5, problem: 'SEQUENCE_GAP' } });
  });

  it('reports a chain rewritten with consistent hashes after a checkpoint — and only thanks to the checkpoint', async () => {
    const { store, signer, writer, deps } = await setup();
    await signCheckpoints({ store, signer, writer }, new Date(NOW));
    rewrite(store, 'req-1', 3, (e) => ({ ...e.details, note: 'rewritten' }));
    const withCheckpoint = await getRequestDetail(deps, 'req-1');
    expect(withCheckpoint.chain).toMatchObject({ ok: false, firstBad: { seq: 6, problem: 'CHECKPOINT_MISMATCH' } });
    const hashOnly = await getRequestDetail({ ...deps, checkpoints: undefined }, 'req-1');
    expect(hashOnly.chain.ok).toBe(true);
  });

  it('reports a chain cut back below the checkpointed head', async () => {
    const { store, signer, writer, deps } = await setup();
    await signCheckpoints({ store, signer, writer }, new Date(NOW));
    store.events.get('req-1')!.splice(4);
    const r = store.requests.get('req-1')!;
    store.requests.set('req-1', { ...r, lastSeq: 4, lastHash: store.events.get('req-1')![3]!.hash });
    const detail = await getRequestDetail(deps, 'req-1');
    expect(detail.chain).toMatchObject({ ok: false, firstBad: { seq: 5, problem: 'CHECKPOINT_MISMATCH' } });
  });

  it('reports a projection that claims another head than the chain has', async () => {
    const { store, deps } = await setup();
    store.events.get('req-1')!.pop();
    const detail = await getRequestDetail(deps, 'req-1');
    expect(detail.chain).toMatchObject({ ok: false, firstBad: { problem: 'PROJECTION_MISMATCH' } });
  });

  it('accepts a projection that lags behind the chain (an append read between its two writes)', async () => {
    const { store, deps } = await setup();
    const events = store.events.get('req-1')!;
    const r = store.requests.get('req-1')!;
    store.requests.set('req-1', { ...r, lastSeq: events.length - 1, lastHash: events.at(-2)!.hash });
    const detail = await getRequestDetail(deps, 'req-1');
    expect(detail.chain.ok).toBe(true);
  });

  it('reports a projection whose head hash is not the chain event at that position', async () => {
    const { store, deps } = await setup();
    const r = store.requests.get('req-1')!;
    store.requests.set('req-1', { ...r, lastHash: 'f'.repeat(64) });
    const detail = await getRequestDetail(deps, 'req-1');
    expect(detail.chain).toMatchObject({ ok: false, firstBad: { problem: 'PROJECTION_MISMATCH' } });
  });

  it('does not trust a checkpoint signed with another key', async () => {
    const { store, writer, deps } = await setup();
    const forger = await createTestSigner();
    rewrite(store, 'req-1', 3, (e) => ({ ...e.details, note: 'rewritten' }));
    await signCheckpoints({ store, signer: forger, writer }, new Date(NOW));
    const detail = await getRequestDetail(deps, 'req-1');
    expect(detail.chain).toMatchObject({ ok: false, checkpoint: { status: 'invalid' }, firstBad: { problem: 'CHECKPOINT_INVALID' } });
  });

  it('is shown by GET /audit/requests/{id} with the timeline', async () => {
    const { store, signer, writer, checkpoints } = await setup();
    const h = await createHarness({ checkpoints });
    h.store.events.clear();
    for (const [k, v] of store.events) h.store.events.set(k, v);
    h.store.seed(store.requests.values());
    await signCheckpoints({ store: h.store, signer, writer }, new Date(NOW));
    rewrite(h.store, 'req-1', 2, (e) => ({ ...e.details, forged: true }));
    const result = await h.auditApi(apiEvent({ path: '/audit/requests/req-1', token: await h.tokens.valid('auditor') }));
    expect(result.statusCode).toBe(200);
    const body = jsonOf<{ timeline: AuditEvent[]; chain: { ok: boolean; firstBad: { problem: string } } }>(result);
    expect(body.timeline).toHaveLength(6);
    expect(body.chain).toMatchObject({ ok: false, firstBad: { problem: 'CHECKPOINT_MISMATCH' } });
  });
});

describe('the file checkpoint writer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'checkpoints-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every checkpoint, refuses to overwrite one, and reads the latest', async () => {
    const writer = createFileCheckpointWriter(join(dir, 'cp'));
    expect(await writer.latest()).toBeUndefined();
    await writer.put(checkpointKey(new Date('2026-01-01T00:00:00Z')), 'first');
    await writer.put(checkpointKey(new Date('2026-01-02T00:00:00Z')), 'second');
    await expect(writer.put(checkpointKey(new Date('2026-01-01T00:00:00Z')), 'forged')).rejects.toBeInstanceOf(CheckpointExistsError);
    expect(await writer.latest()).toBe('second');
    expect(await readdir(join(dir, 'cp'))).toHaveLength(2);
  });

  it.each(['../escape.jws', 'a/b.jws', '.hidden', ''])('refuses the key %j', async (key) => {
    const writer = createFileCheckpointWriter(dir);
    await expect(writer.put(key, 'x')).rejects.toBeInstanceOf(RangeError);
  });
});
