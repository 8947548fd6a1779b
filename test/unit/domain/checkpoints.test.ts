import { describe, expect, it } from 'vitest';
import { chainEvent } from '../../../functions/domain/audit-chain';
import {
  buildManifest,
  checkpointKey,
  decideChainHead,
  isCheckpointKey,
  selectCheckpointHistory,
  signedHeadsByRequest,
  type CheckpointCandidate,
  type CheckpointManifest,
  type HeadDecisionInput,
  type SignedHead,
} from '../../../functions/domain/checkpoints';
import type { AuditEvent } from '../../../functions/domain/model';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const hours = (h: number) => new Date(NOW.getTime() + h * 3_600_000);
const sha = (c: string) => c.repeat(64).slice(0, 64);

/** A chain of `n` events of request `id`, the first at `firstAt`. */
function chain(n: number, id = 'req-1', firstAt = '2026-01-10T10:00:00.000Z', tag = 'original'): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    events.push(chainEvent(id, events.at(-1), { type: 'STATUS_CHECKED', at: i === 0 ? firstAt : '2026-01-10T11:00:00.000Z', actor: 'system:test', attempt: 1, status: 'IN_PROGRESS', details: { i, tag } }));
  }
  return events;
}

const headOf = (events: AuditEvent[], seq = events.length): SignedHead => ({ requestId: events[0]!.requestId, lastSeq: seq, lastHash: events[seq - 1]!.hash, firstAt: events[0]!.at });

/** A candidate whose signature verified: a manifest at `h` hours after NOW, stored under its own key unless told. */
function signed(h: number, prev: { key: string; sha256: string } | null, heads: SignedHead[] = [], key?: string, digest = sha(String(Math.abs(h) % 10))): CheckpointCandidate & { sha256: string; manifest: CheckpointManifest } {
  const manifest = buildManifest(hours(h), prev, heads, []);
  return { key: key ?? checkpointKey(hours(h)), sha256: digest, manifest };
}
const link = (c: { key: string; sha256: string }) => ({ key: c.key, sha256: c.sha256 });

describe('checkpoint keys', () => {
  it.each([
    { at: '2026-03-01T12:00:00.000Z', key: 'checkpoint-2026-03-01T12-00-00-000Z.jws' },
    { at: '1999-12-31T23:59:59.999Z', key: 'checkpoint-1999-12-31T23-59-59-999Z.jws' },
  ])('names the checkpoint taken at $at $key', ({ at, key }) => {
    expect(checkpointKey(new Date(at))).toBe(key);
    expect(isCheckpointKey(key)).toBe(true);
  });

  it.each(['latest.jws', 'checkpoint-2026-03-01T12-00-00-000Z.json', 'checkpoint-+275760-09-13T00-00-00-000Z.jws', '../checkpoint-2026-03-01T12-00-00-000Z.jws', 'checkpoint-2026-03-01T12:00:00.000Z.jws'])(
    'does not take %j for a checkpoint key',
    (key) => {
      expect(isCheckpointKey(key)).toBe(false);
    },
  );
});

describe('choosing the trusted checkpoint history', () => {
  const a = signed(-3, null);
  const b = signed(-2, link(a));
  const c = signed(-1, link(b));

  it.each([
    { name: 'nothing stored', candidates: [], trusted: [], ignored: [] },
    { name: 'one manifest', candidates: [a], trusted: [a.key], ignored: [] },
    { name: 'a linked history, listed in any order', candidates: [c, a, b], trusted: [a.key, b.key, c.key], ignored: [] },
    {
      name: 'garbage and a foreign signature next to it',
      candidates: [a, b, { key: 'checkpoint-2998-01-01T00-00-00-000Z.jws', rejected: 'BAD_SIGNATURE' as const }, { key: checkpointKey(hours(-0.5)), rejected: 'WRONG_TYPE' as const }],
      trusted: [a.key, b.key],
      ignored: [
        { key: checkpointKey(hours(-0.5)), reason: 'WRONG_TYPE' },
        { key: 'checkpoint-2998-01-01T00-00-00-000Z.jws', reason: 'BAD_SIGNATURE' },
      ],
    },
    {
      name: 'a validly signed far-future manifest with no heads',
      candidates: [a, b, signed(24 * 365 * 900, link(b))],
      trusted: [a.key, b.key],
      ignored: [{ key: checkpointKey(hours(24 * 365 * 900)), reason: 'FUTURE' }],
    },
    { name: 'a manifest a few minutes ahead (clock skew)', candidates: [a, signed(0.05, link(a))], trusted: [a.key, checkpointKey(hours(0.05))], ignored: [] },
    {
      name: 'a real manifest copied under a later key',
      candidates: [a, b, { ...b, key: checkpointKey(hours(5)) }],
      trusted: [a.key, b.key],
      ignored: [{ key: checkpointKey(hours(5)), reason: 'KEY_MISMATCH' }],
    },
    {
      name: 'a link whose hash does not match',
      candidates: [a, signed(-2, { key: a.key, sha256: sha('f') })],
      trusted: [checkpointKey(hours(-2))],
      ignored: [{ key: a.key, reason: 'BROKEN_LINK' }],
    },
    {
      name: 'a link to an object that is not there',
      candidates: [signed(-2, { key: checkpointKey(hours(-3)), sha256: sha('a') })],
      trusted: [checkpointKey(hours(-2))],
      ignored: [{ key: checkpointKey(hours(-3)), reason: 'BROKEN_LINK' }],
    },
    {
      name: 'a validly signed manifest off the history (a fork)',
      candidates: [a, b, signed(-2.5, link(a), [], undefined, sha('e'))],
      trusted: [a.key, b.key],
      ignored: [{ key: checkpointKey(hours(-2.5)), reason: 'UNLINKED' }],
    },
  ])('$name', ({ candidates, trusted, ignored }) => {
    const history = selectCheckpointHistory(candidates, NOW);
    expect(history.trusted.map((t) => t.key)).toEqual(trusted);
    expect(history.ignored).toEqual(ignored);
  });

  it('stops at a loop instead of walking it for ever', () => {
    const x = signed(-2, { key: checkpointKey(hours(-1)), sha256: sha('1') }, [], undefined, sha('2'));
    const y = signed(-1, { key: x.key, sha256: x.sha256 }, [], undefined, sha('1'));
    const loop = { ...x, manifest: { ...x.manifest, prev: { key: y.key, sha256: y.sha256 } } };
    const history = selectCheckpointHistory([loop, y], NOW);
    expect(history.trusted.map((t) => t.key)).toEqual([x.key, y.key]);
    expect(history.ignored).toEqual([{ key: y.key, reason: 'BROKEN_LINK' }]);
  });
});

describe('the signed heads of each chain', () => {
  it('lists every distinct head oldest first, each with the earliest checkpoint that stated it', () => {
    const events = chain(4);
    const rewritten = chain(4, 'req-1', '2026-01-10T10:00:00.000Z', 'rewritten');
    const other = chain(1, 'req-2');
    const history = [
      signed(-3, null, [headOf(events, 2)]),
      signed(-2, null, [headOf(events, 2), headOf(other)]),
      signed(-1, null, [headOf(events, 4), headOf(other)]),
      signed(0, null, [headOf(rewritten, 4), headOf(other)]),
    ];
    const heads = signedHeadsByRequest(history);
    expect(heads.get('req-1')).toEqual([
      { seq: 2, hash: events[1]!.hash, at: hours(-3).toISOString() },
      { seq: 4, hash: events[3]!.hash, at: hours(-1).toISOString() },
      { seq: 4, hash: rewritten[3]!.hash, at: hours(0).toISOString() },
    ]);
    expect(heads.get('req-2')).toEqual([{ seq: 1, hash: other[0]!.hash, at: hours(-2).toISOString() }]);
  });
});

describe('what the next checkpoint states about a chain', () => {
  const events = chain(5);
  // Events 2… rewritten and every later hash recomputed, as a careful forger would.
  const rewritten = [events[0]!];
  for (const { requestId: _r, seq: _s, prevHash: _p, hash: _h, ...input } of events.slice(1)) {
    rewritten.push(chainEvent('req-1', rewritten.at(-1), { ...input, actor: 'staff:mallory' }));
  }
  const signedAt3 = [{ seq: 3, hash: events[2]!.hash, at: hours(-1).toISOString() }];
  const previous = headOf(events, 3);

  it.each<{ name: string; input: Omit<HeadDecisionInput, 'requestId'>; decision: unknown }>([
    { name: 'a new chain: its recomputed head', input: { events, signed: [] }, decision: { kind: 'sign', head: headOf(events) } },
    { name: 'a chain grown since the last checkpoint', input: { events, signed: signedAt3, previous }, decision: { kind: 'sign', head: headOf(events) } },
    {
      name: 'a projection that lags: the head of the events, not the projection',
      input: { events, signed: signedAt3, previous, projection: { lastSeq: 4, lastHash: events[3]!.hash } },
      decision: { kind: 'sign', head: headOf(events) },
    },
    {
      name: 'a chain rewritten with consistent hashes',
      input: { events: rewritten, signed: signedAt3, previous, projection: { lastSeq: 5, lastHash: rewritten[4]!.hash } },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 3, problem: 'CHECKPOINT_MISMATCH' }, carried: previous },
    },
    {
      name: 'a chain cut back below its signed head',
      input: { events: events.slice(0, 2), signed: signedAt3, previous },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 3, problem: 'CHECKPOINT_MISMATCH' }, carried: previous },
    },
    {
      name: 'a chain deleted altogether',
      input: { events: [], signed: signedAt3, previous },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 1, problem: 'CHECKPOINT_MISMATCH' }, carried: previous },
    },
    {
      name: 'an event edited without recomputing, never signed before',
      input: { events: [events[0]!, { ...events[1]!, actor: 'staff:mallory' as const }, ...events.slice(2)], signed: [] },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 2, problem: 'HASH_MISMATCH' } },
    },
    {
      name: 'a projection claiming more events than the chain has',
      input: { events, signed: [], projection: { lastSeq: 7, lastHash: sha('7') } },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 6, problem: 'PROJECTION_MISMATCH' } },
    },
    {
      name: 'heads signed in conflict (a later checkpoint believed a rewrite)',
      input: { events, signed: [...signedAt3, { seq: 5, hash: rewritten[4]!.hash, at: hours(0).toISOString() }], previous: headOf(rewritten) },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 5, problem: 'CHECKPOINT_MISMATCH' }, carried: headOf(rewritten) },
    },
    { name: 'a creation that never wrote its first event', input: { events: [], signed: [] }, decision: { kind: 'empty' } },
    {
      name: 'a chain past its retention, deleted by the store',
      input: { events: [], signed: signedAt3, previous, expiredBefore: new Date('2026-02-01T00:00:00Z') },
      decision: { kind: 'expired' },
    },
    {
      name: 'a chain within its retention, deleted',
      input: { events: [], signed: signedAt3, previous, expiredBefore: new Date('2025-01-01T00:00:00Z') },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 1, problem: 'CHECKPOINT_MISMATCH' }, carried: previous },
    },
  ])('$name', ({ input, decision }) => {
    expect(decideChainHead({ requestId: 'req-1', ...input })).toEqual(decision);
  });

  it('judges retention by the signed first-event time, not by one rewritten into the chain', () => {
    const backdated = chain(5, 'req-1', '2001-01-01T00:00:00.000Z');
    const decision = decideChainHead({ requestId: 'req-1', events: backdated, signed: signedAt3, previous, expiredBefore: new Date('2020-01-01T00:00:00Z') });
    expect(decision).toMatchObject({ kind: 'withhold', withheld: { problem: 'CHECKPOINT_MISMATCH' } });
  });
});

describe('manifests', () => {
  it('list heads and withheld chains in request-id order and count the heads', () => {
    const m = buildManifest(
      NOW,
      null,
      [
        { requestId: 'b', lastSeq: 1, lastHash: sha('b'), firstAt: NOW.toISOString() },
        { requestId: 'a', lastSeq: 2, lastHash: sha('a'), firstAt: NOW.toISOString() },
      ],
      [
        { requestId: 'z', seq: 1, problem: 'HASH_MISMATCH' },
        { requestId: 'c', seq: 3, problem: 'CHECKPOINT_MISMATCH' },
      ],
    );
    expect(m).toMatchObject({ v: 2, at: NOW.toISOString(), prev: null, count: 2 });
    expect(m.heads.map((h) => h.requestId)).toEqual(['a', 'b']);
    expect(m.withheld.map((w) => w.requestId)).toEqual(['c', 'z']);
  });
});
