import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainEvent } from '../../../functions/domain/audit-chain';
import { CHECKPOINT_JWS_TYPE, RECEIPT_JWS_TYPE, buildManifest, type CheckpointManifest } from '../../../functions/domain/checkpoints';
import { createLocalSigner, generateLocalSigningKey } from '../../../functions/intake/receipts';
import type { AuditEvent } from '../../../functions/domain/model';
import type { Signer } from '../../../functions/domain/ports';
import { getRequestDetail } from '../../../functions/staff/get-request-detail';
import { checkpointKey, checkpointSha256, createCheckpointReader, signCheckpoints, type CheckpointReader } from '../../../functions/staff/checkpoints';
import { CheckpointExistsError, createFileCheckpointWriter } from '../../../functions/adapters/file/checkpoint-writer';
import { createTestSigner, createWithHistory, MemoryCheckpointWriter, MutableClock, SUBJECT_KEY, TO_FAILED } from '../../support/staff-fakes';
import { InMemoryAuditStore } from '../../support/in-memory-audit-store';
import { apiEvent, createHarness, jsonOf, NOW } from '../../support/staff-harness';
import { recordingLogger } from '../../support/recording-logger';

/** Rewrites a chain from `fromSeq` on with edited details, every hash and the projection recomputed. */
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

const HOUR = 3_600_000;
const at = (hours: number) => new Date(Date.parse(NOW) + hours * HOUR);

async function setup() {
  const store = new InMemoryAuditStore();
  const key = await generateLocalSigningKey();
  const signer = createLocalSigner(key.privateJwk, CHECKPOINT_JWS_TYPE);
  /** The checkpoint key used to sign something else: what must never pass as a checkpoint. */
  const sameKeyAsReceipt = createLocalSigner(key.privateJwk, RECEIPT_JWS_TYPE);
  const writer = new MemoryCheckpointWriter();
  const clock = new MutableClock(new Date(NOW));
  const logger = recordingLogger();
  const logs = logger.lines;
  const reader = createCheckpointReader({ store: writer, verifier: signer, clock, logger });
  const deps = { store, clock, subjectHashKey: SUBJECT_KEY, checkpoints: reader };
  await createWithHistory(store, { requestId: 'req-1' }, [...TO_FAILED]);
  await createWithHistory(store, { requestId: 'req-2', channel: 'canary' }, [{ type: 'VERIFICATION_SENT', status: 'AWAITING_VERIFICATION' }]);
  /** Signs at `hours` after NOW, with the clock moved there (as the schedule would). */
  const sign = (hours = 0, overrides: { signer?: Signer; reader?: CheckpointReader; expireAfterDays?: number } = {}) => {
    clock.set(at(hours));
    return signCheckpoints({ store, signer: overrides.signer ?? signer, writer, reader: overrides.reader ?? reader, logger, ...(overrides.expireAfterDays ? { expireAfterDays: overrides.expireAfterDays } : {}) }, at(hours));
  };
  const manifestOf = async (key: string): Promise<CheckpointManifest> => {
    const { payload } = await compactVerify(writer.objects.get(key)!, await importJWK(await signer.publicJwk(), 'ES256'));
    return JSON.parse(new TextDecoder().decode(payload)) as CheckpointManifest;
  };
  return { store, signer, sameKeyAsReceipt, writer, reader, clock, deps, logs, sign, manifestOf };
}

describe('signing checkpoints', () => {
  it('signs the heads recomputed from every chain, canaries included, as a checkpoint-typed JWS', async () => {
    const { store, writer, sign, manifestOf } = await setup();
    const written = await sign();
    expect(written).toEqual({ key: checkpointKey(at(0)), count: 2, at: NOW, prev: null });
    expect(decodeProtectedHeader(writer.objects.get(written.key)!)).toMatchObject({ alg: 'ES256', typ: 'audit-checkpoint+jws' });
    const events = (id: string) => store.events.get(id)!;
    expect(await manifestOf(written.key)).toEqual({
      v: 2,
      at: NOW,
      prev: null,
      retentionDays: null,
      count: 2,
      chains: [
        { requestId: 'req-1', firstAt: events('req-1')[0]!.at, heads: [{ seq: 6, hash: events('req-1')[5]!.hash, at: NOW }] },
        { requestId: 'req-2', firstAt: events('req-2')[0]!.at, heads: [{ seq: 2, hash: events('req-2')[1]!.hash, at: NOW }] },
      ],
      withheld: [],
    });
  });

  it('links each manifest to the previous one by key and the sha256 of the stored object', async () => {
    const { writer, sign, manifestOf } = await setup();
    const first = await sign(0);
    const second = await sign(1);
    expect(second.prev).toBe(first.key);
    expect((await manifestOf(second.key)).prev).toEqual({ key: first.key, sha256: checkpointSha256(writer.objects.get(first.key)!) });
  });

  it('signs the head the events have, not the one a lagging projection claims', async () => {
    const { store, sign, manifestOf } = await setup();
    const r = store.requests.get('req-1')!;
    const events = store.events.get('req-1')!;
    store.requests.set('req-1', { ...r, lastSeq: 5, lastHash: events[4]!.hash });
    store.seed([]); // the listing reads the projection afresh
    const written = await sign();
    expect((await manifestOf(written.key)).chains[0]).toMatchObject({ requestId: 'req-1', heads: [{ seq: 6, hash: events[5]!.hash }] });
  });

  it('refuses to sign a chain rewritten with consistent hashes and projection, signs the others, and names it', async () => {
    const { store, writer, logs, sign, manifestOf } = await setup();
    const first = await sign(0);
    const before = (await manifestOf(first.key)).chains[0]!;
    rewrite(store, 'req-1', 3, (e) => ({ ...e.details, actor: 'staff:mallory' }));
    await store.appendEvent('req-2', () => ({ event: { type: 'REQUEST_EXPIRED', at: NOW, actor: 'system:test', attempt: 0, status: 'EXPIRED', details: {} } }));

    const outcome = sign(1);

    await expect(outcome).rejects.toMatchObject({ name: 'ChainTamperedError', requestIds: ['req-1'], checkpointKey: checkpointKey(at(1)) });
    expect(writer.objects.has(checkpointKey(at(1)))).toBe(true);
    const second = await manifestOf(checkpointKey(at(1)));
    expect(second.chains).toEqual([before, expect.objectContaining({ requestId: 'req-2', heads: [expect.objectContaining({ seq: 2 }), expect.objectContaining({ seq: 3, at: at(1).toISOString() })] })]);
    expect(second.withheld).toEqual([{ requestId: 'req-1', seq: 6, problem: 'CHECKPOINT_MISMATCH' }]);
    const error = logs.find((l) => l.level === 'error')!;
    expect(error).toMatchObject({ key: checkpointKey(at(1)), requestIds: ['req-1'], problems: ['req-1#6:CHECKPOINT_MISMATCH'] });
    expect(Object.keys(error).sort()).toEqual(['key', 'level', 'message', 'problems', 'requestIds']);
  });

  it('keeps refusing a withheld chain on every later run', async () => {
    const { store, sign, manifestOf } = await setup();
    await sign(0);
    rewrite(store, 'req-1', 2, (e) => ({ ...e.details, forged: true }));
    await expect(sign(1)).rejects.toMatchObject({ name: 'ChainTamperedError' });
    await expect(sign(2)).rejects.toMatchObject({ name: 'ChainTamperedError', requestIds: ['req-1'] });
    expect((await manifestOf(checkpointKey(at(2)))).withheld).toEqual([{ requestId: 'req-1', seq: 6, problem: 'CHECKPOINT_MISMATCH' }]);
  });

  it.each([
    {
      name: 'cut back below its signed head',
      tamper: (store: InMemoryAuditStore) => {
        const events = store.events.get('req-1')!.slice(0, 4);
        store.events.set('req-1', events);
        store.requests.set('req-1', { ...store.requests.get('req-1')!, lastSeq: 4, lastHash: events[3]!.hash });
      },
      withheld: { requestId: 'req-1', seq: 5, problem: 'CHECKPOINT_MISMATCH' },
    },
    {
      name: 'deleted with its projection',
      tamper: (store: InMemoryAuditStore) => {
        store.events.delete('req-1');
        store.requests.delete('req-1');
        store.seed([]);
      },
      withheld: { requestId: 'req-1', seq: 1, problem: 'CHECKPOINT_MISMATCH' },
    },
    {
      name: 'edited in place without recomputing hashes',
      tamper: (store: InMemoryAuditStore) => {
        const events = store.events.get('req-1')!;
        events[1] = { ...events[1]!, actor: 'staff:mallory' };
      },
      withheld: { requestId: 'req-1', seq: 2, problem: 'HASH_MISMATCH' },
    },
    {
      name: 'behind a projection that claims a head it does not have',
      tamper: (store: InMemoryAuditStore) => {
        store.requests.set('req-1', { ...store.requests.get('req-1')!, lastSeq: 9 });
        store.seed([]); // the listing reads the projection afresh
      },
      withheld: { requestId: 'req-1', seq: 7, problem: 'PROJECTION_MISMATCH' },
    },
  ])('refuses a chain $name', async ({ tamper, withheld }) => {
    const { store, sign, manifestOf } = await setup();
    const first = await sign(0);
    tamper(store);
    await expect(sign(1)).rejects.toMatchObject({ name: 'ChainTamperedError', requestIds: ['req-1'] });
    const manifest = await manifestOf(checkpointKey(at(1)));
    expect(manifest.withheld).toEqual([withheld]);
    expect(manifest.chains.find((h) => h.requestId === 'req-1')).toEqual((await manifestOf(first.key)).chains[0]);
  });

  it('refuses a chain broken in itself even when no checkpoint signed it before', async () => {
    const { store, sign, manifestOf } = await setup();
    const events = store.events.get('req-2')!;
    events[1] = { ...events[1]!, details: { forged: true } };
    await expect(sign(0)).rejects.toMatchObject({ name: 'ChainTamperedError', requestIds: ['req-2'] });
    const manifest = await manifestOf(checkpointKey(at(0)));
    expect(manifest.chains.map((h) => h.requestId)).toEqual(['req-1']);
    expect(manifest.withheld).toEqual([{ requestId: 'req-2', seq: 2, problem: 'HASH_MISMATCH' }]);
  });

  it('lets chains past their retention go without calling them tampered', async () => {
    const { store, sign, manifestOf } = await setup();
    await createWithHistory(store, { requestId: 'req-old', receivedAt: '2019-01-01T00:00:00.000Z' }, [{ type: 'VERIFICATION_SENT', status: 'AWAITING_VERIFICATION' }]);
    await sign(0);
    store.events.delete('req-old');
    store.requests.delete('req-old');
    store.seed([]);
    const written = await sign(1, { expireAfterDays: 2190 + 92 });
    const manifest = await manifestOf(written.key);
    expect(manifest.chains.map((h) => h.requestId)).toEqual(['req-1', 'req-2']);
    expect(manifest.retentionDays).toBe(2190 + 92);
  });

  it('refuses to sign when the clock is not past the latest checkpoint', async () => {
    const { sign } = await setup();
    await sign(1);
    await expect(sign(1)).rejects.toMatchObject({ name: 'CheckpointClockError' });
  });

  it('links to the latest trusted checkpoint, whatever planted objects sort after it', async () => {
    const { writer, sign } = await setup();
    const first = await sign(0);
    const forger = await createTestSigner();
    writer.objects.set(checkpointKey(new Date('2999-01-01T00:00:00Z')), await forger.sign({ ...buildManifest(new Date('2999-01-01T00:00:00Z'), null, [], []) }));
    writer.objects.set('checkpoint-9999-12-31T23-59-59-999Z.jws', 'not a jws');
    const second = await sign(1);
    expect(second.prev).toBe(first.key);
  });
});

describe('the chain check of a request', () => {
  it('reports an edited stored event as the first bad one', async () => {
    const { store, deps } = await setup();
    const events = store.events.get('req-1')!;
    events[2] = { ...events[2]!, actor: 'staff:mallory' };
    const detail = await getRequestDetail(deps, 'req-1');
    expect(detail.chain).toMatchObject({ ok: false, verdict: 'BROKEN', firstBad: { seq: 3, problem: 'HASH_MISMATCH' } });
  });

  it('reports a deleted event', async () => {
    const { store, deps } = await setup();
    store.events.get('req-1')!.splice(3, 1);
    const detail = await getRequestDetail(deps, 'req-1');
    expect(detail.chain).toMatchObject({ ok: false, firstBad: { seq: 5, problem: 'SEQUENCE_GAP' } });
  });

  it('reports a chain rewritten with consistent hashes after a checkpoint — and only thanks to the checkpoint', async () => {
    const { store, deps, sign } = await setup();
    await sign();
    rewrite(store, 'req-1', 3, (e) => ({ ...e.details, note: 'rewritten' }));
    const withCheckpoint = await getRequestDetail(deps, 'req-1');
    expect(withCheckpoint.chain).toMatchObject({ ok: false, verdict: 'BROKEN', firstBad: { seq: 6, problem: 'CHECKPOINT_MISMATCH', checkpointAt: NOW } });
    const hashOnly = await getRequestDetail({ ...deps, checkpoints: undefined }, 'req-1');
    expect(hashOnly.chain).toMatchObject({ ok: true, verdict: 'NOT_VERIFIED_AGAINST_CHECKPOINTS' });
  });

  it('still reports the rewrite after the next checkpoint run', async () => {
    const { store, deps, sign } = await setup();
    await sign(0);
    rewrite(store, 'req-1', 3, (e) => ({ ...e.details, note: 'rewritten' }));
    await expect(sign(1)).rejects.toMatchObject({ name: 'ChainTamperedError' });
    const detail = await getRequestDetail(deps, 'req-1');
    expect(detail.chain).toMatchObject({ ok: false, verdict: 'BROKEN', firstBad: { seq: 6, problem: 'CHECKPOINT_MISMATCH' } });
  });

  it.each([
    { name: 'adds the rewritten head to the signed history', keepHistory: true, ignored: 0 },
    { name: 'replaces the signed history with the rewritten head', keepHistory: false, ignored: 1 },
  ])('compares each event with the earliest checkpoint covering it, even when a later checkpoint $name', async ({ keepHistory, ignored }) => {
    const { store, writer, signer, deps, sign, manifestOf } = await setup();
    const first = await sign(0);
    rewrite(store, 'req-1', 3, (e) => ({ ...e.details, note: 'rewritten' }));
    // A later checkpoint that believed the rewritten chain (as a signer trusting the projection did), properly linked.
    const events = store.events.get('req-1')!;
    const signedBefore = (await manifestOf(first.key)).chains;
    const forgedHead = { seq: 6, hash: events[5]!.hash, at: at(1).toISOString() };
    const trusting = buildManifest(
      at(1),
      { key: first.key, sha256: checkpointSha256(writer.objects.get(first.key)!) },
      signedBefore.map((c) => (c.requestId !== 'req-1' ? c : { ...c, heads: keepHistory ? [...c.heads, forgedHead] : [forgedHead] })),
      [],
    );
    writer.objects.set(checkpointKey(at(1)), await signer.sign({ ...trusting }));
    deps.clock.set(at(2));
    const detail = await getRequestDetail(deps, 'req-1');
    expect(detail.chain).toMatchObject({ ok: false, verdict: 'BROKEN', firstBad: { seq: 6, problem: 'CHECKPOINT_MISMATCH', checkpointAt: NOW }, checkpoint: { ignoredObjects: ignored } });
  });

  it('reports a chain cut back below the checkpointed head', async () => {
    const { store, deps, sign } = await setup();
    await sign();
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
    expect(detail.chain).toMatchObject({ ok: false, verdict: 'BROKEN', firstBad: { problem: 'PROJECTION_MISMATCH' } });
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

  it('ignores and reports planted objects: they neither switch the check off nor break every chain', async () => {
    const { store, writer, sameKeyAsReceipt, deps, logs, sign } = await setup();
    await sign(0);
    rewrite(store, 'req-1', 3, (e) => ({ ...e.details, note: 'rewritten' }));
    const forger = await createTestSigner();
    const future = new Date('2999-01-01T00:00:00.000Z');
    const planted = {
      'far-future empty manifest, foreign key': [checkpointKey(future), await forger.sign({ ...buildManifest(future, null, [], []) })],
      garbage: ['checkpoint-2998-01-01T00-00-00-000Z.jws', 'garbage'],
      'a manifest signed with the checkpoint key as a receipt': [checkpointKey(at(0.5)), await sameKeyAsReceipt.sign({ ...buildManifest(at(0.5), null, [], []) })],
      'a copy of a real checkpoint under a later key': [checkpointKey(at(0.7)), writer.objects.get(checkpointKey(at(0)))!],
      'an unexpected name': ['latest.jws', 'x'],
    };
    for (const [key, body] of Object.values(planted)) writer.objects.set(key!, body!);
    deps.clock.set(at(1));

    const tampered = await getRequestDetail(deps, 'req-1');
    const untouched = await getRequestDetail(deps, 'req-2');

    expect(tampered.chain).toMatchObject({ ok: false, verdict: 'BROKEN', firstBad: { problem: 'CHECKPOINT_MISMATCH' } });
    expect(untouched.chain).toMatchObject({ ok: true, verdict: 'VERIFIED', checkpoint: { status: 'compared', coveredSeq: 2, ignoredObjects: 5 } });
    const ignored = logs.filter((l) => l.message === 'checkpoint object ignored').map((l) => l.reason);
    expect(ignored.sort()).toEqual(['BAD_SIGNATURE', 'BAD_SIGNATURE', 'KEY_MISMATCH', 'UNEXPECTED_KEY', 'WRONG_TYPE']);
    expect(JSON.stringify(logs)).not.toContain('latest.jws');
  });

  it('keeps finding new checkpoints after a genuine one is copied under a far-future key', async () => {
    const { store, writer, deps, sign } = await setup();
    const first = await sign(0);
    writer.objects.set(checkpointKey(new Date('2999-01-01T00:00:00.000Z')), writer.objects.get(first.key)!);
    await deps.checkpoints.index();
    await store.appendEvent('req-1', () => ({ event: { type: 'RETRY_REQUESTED', at: NOW, actor: 'staff:x', attempt: 2, status: 'QUEUED', details: { reason: 'r' } }, patch: { attempt: 2 } }));
    const second = await sign(1);
    const { chain } = await getRequestDetail(deps, 'req-1');
    expect(second.prev).toBe(first.key);
    expect(chain).toMatchObject({ verdict: 'VERIFIED', checkpoint: { coveredSeq: 7, latestAt: at(1).toISOString(), ignoredObjects: 1 } });
  });

  it.each([
    { name: 'every event covered by a checkpoint', grow: false, verdict: 'VERIFIED', words: 'All 6 events verified against the signed checkpoint of' },
    { name: 'events appended since the checkpoint', grow: true, verdict: 'PARTLY_VERIFIED', words: 'Events #1–#6 verified against the signed checkpoint of 2026-03-01T12:00:00.000Z; event #7 not verified against checkpoints yet' },
  ])('gives the verdict in plain words: $name', async ({ grow, verdict, words }) => {
    const { store, deps, sign } = await setup();
    await sign();
    if (grow) await store.appendEvent('req-1', () => ({ event: { type: 'RETRY_REQUESTED', at: NOW, actor: 'staff:x', attempt: 2, status: 'QUEUED', details: { reason: 'r' } }, patch: { attempt: 2 } }));
    const { chain } = await getRequestDetail(deps, 'req-1');
    expect(chain.verdict).toBe(verdict);
    expect(chain.summary).toContain(words);
  });

  it.each([
    { name: 'no checkpoint covers the request yet', reader: undefined, status: 'not-covered', words: 'no signed checkpoint covers this request yet' },
    { name: 'no checkpoint store is configured', reader: 'none', status: 'not-configured', words: 'no checkpoint store is configured here' },
    { name: 'the checkpoints cannot be read', reader: 'failing', status: 'unavailable', words: 'the checkpoints could not be read' },
  ] as const)('says "not verified against checkpoints", never ok, when $name', async ({ reader, status, words }) => {
    const { deps } = await setup();
    const failing: CheckpointReader = {
      index: () => Promise.reject(new Error('S3 down')),
      checkpointsFor: () => Promise.reject(new Error('S3 down')),
    };
    const checkpoints = reader === 'none' ? undefined : reader === 'failing' ? failing : deps.checkpoints;
    const { chain } = await getRequestDetail({ ...deps, checkpoints }, 'req-1');
    expect(chain).toMatchObject({ ok: true, verdict: 'NOT_VERIFIED_AGAINST_CHECKPOINTS', checkpoint: { status, coveredSeq: 0 } });
    expect(chain.summary).toBe(`Not verified against checkpoints: ${words}. The 6 event hashes are consistent, which a rewrite with recomputed hashes would also be.`);
  });

  it('is shown by GET /audit/requests/{id} with the timeline', async () => {
    const { store, signer, writer, reader } = await setup();
    const h = await createHarness({ checkpoints: reader });
    h.store.events.clear();
    for (const [k, v] of store.events) h.store.events.set(k, v);
    h.store.seed(store.requests.values());
    await signCheckpoints({ store: h.store, signer, writer, reader }, new Date(NOW));
    rewrite(h.store, 'req-1', 2, (e) => ({ ...e.details, forged: true }));
    const result = await h.auditApi(apiEvent({ path: '/audit/requests/req-1', token: await h.tokens.valid('auditor') }));
    expect(result.statusCode).toBe(200);
    const body = jsonOf<{ timeline: AuditEvent[]; chain: { ok: boolean; verdict: string; firstBad: { problem: string } } }>(result);
    expect(body.timeline).toHaveLength(6);
    expect(body.chain).toMatchObject({ ok: false, verdict: 'BROKEN', firstBad: { problem: 'CHECKPOINT_MISMATCH' } });
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

  it('keeps every checkpoint, refuses to overwrite one, and lists and reads them by key', async () => {
    const writer = createFileCheckpointWriter(join(dir, 'cp'));
    expect(await writer.list()).toEqual([]);
    const first = checkpointKey(new Date('2026-01-01T00:00:00Z'));
    const second = checkpointKey(new Date('2026-01-02T00:00:00Z'));
    await writer.put(second, 'second');
    await writer.put(first, 'first');
    await expect(writer.put(first, 'forged')).rejects.toBeInstanceOf(CheckpointExistsError);
    expect(await writer.list()).toEqual([first, second]);
    expect(await writer.list(first)).toEqual([second]);
    expect(await writer.get(first)).toBe('first');
    expect(await writer.get('checkpoint-missing.jws')).toBeUndefined();
    expect(await readdir(join(dir, 'cp'))).toHaveLength(2);
  });

  it.each(['../escape.jws', 'a/b.jws', '.hidden', ''])('refuses the key %j', async (key) => {
    const writer = createFileCheckpointWriter(dir);
    await expect(writer.put(key, 'x')).rejects.toBeInstanceOf(RangeError);
    expect(await writer.get(key)).toBeUndefined();
  });
});
