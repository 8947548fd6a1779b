import { describe, expect, it } from 'vitest';
import { chainEvent } from '../../../functions/domain/audit-chain';
import {
  buildManifest,
  checkpointKey,
  chooseLatestCheckpoint,
  decideChainHead,
  isCheckpointKey,
  judgeLink,
  type CheckpointCandidate,
  type HeadDecisionInput,
  type SignedChain,
  type TrustedCheckpoint,
} from '../../../functions/domain/checkpoints';
import type { AuditEvent } from '../../../functions/domain/model';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const hours = (h: number) => new Date(NOW.getTime() + h * 3_600_000);
const iso = (h: number) => hours(h).toISOString();
const sha = (c: string) => c.repeat(64).slice(0, 64);

/** A chain of `n` events of request `id`, the first at `firstAt`. */
function chain(n: number, id = 'req-1', firstAt = '2026-01-10T10:00:00.000Z'): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    events.push(chainEvent(id, events.at(-1), { type: 'STATUS_CHECKED', at: i === 0 ? firstAt : '2026-01-10T11:00:00.000Z', actor: 'system:test', attempt: 1, status: 'IN_PROGRESS', details: { i } }));
  }
  return events;
}

/** Events from `from` (1-based) on rewritten with another actor, every later hash recomputed. */
function rewrite(events: AuditEvent[], from: number): AuditEvent[] {
  const out = events.slice(0, from - 1);
  for (const { requestId, seq: _s, prevHash: _p, hash: _h, ...input } of events.slice(from - 1)) out.push(chainEvent(requestId, out.at(-1), { ...input, actor: 'staff:mallory' }));
  return out;
}

/** A signed chain stating the heads at `seqs` of `events`, each first signed at the given hour. */
function signedChain(events: AuditEvent[], ...heads: [seq: number, hour: number][]): SignedChain {
  return { requestId: events[0]!.requestId, firstAt: events[0]!.at, heads: heads.map(([seq, h]) => ({ seq, hash: events[seq - 1]!.hash, at: iso(h) })) };
}

/** A manifest at `h` hours after NOW whose signature verified, stored under its own key unless told. */
function manifestAt(h: number, prev: TrustedCheckpoint | null, chains: SignedChain[] = [], options: { key?: string; digest?: string; retentionDays?: number | null } = {}): TrustedCheckpoint {
  return {
    key: options.key ?? checkpointKey(hours(h)),
    sha256: options.digest ?? sha(String(Math.abs(Math.round(h * 10)) % 10)),
    manifest: buildManifest(hours(h), prev ? { key: prev.key, sha256: prev.sha256 } : null, chains, [], options.retentionDays ?? null),
  };
}

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

describe('choosing the latest checkpoint', () => {
  const events = chain(4);
  const a = manifestAt(-3, null, [signedChain(events, [2, -3])]);
  const b = manifestAt(-2, a, [signedChain(events, [2, -3], [4, -2])]);
  const c = manifestAt(-1, b, [signedChain(events, [2, -3], [4, -2])]);

  it.each<{ name: string; candidates: CheckpointCandidate[]; latest: string | undefined; ignored: { key: string; reason: string }[] }>([
    { name: 'nothing stored', candidates: [], latest: undefined, ignored: [] },
    { name: 'one manifest', candidates: [a], latest: a.key, ignored: [] },
    { name: 'a linked history, listed in any order', candidates: [c, a, b], latest: c.key, ignored: [] },
    {
      name: 'garbage under a newer key, and a receipt signed with another key',
      candidates: [a, b, { key: 'checkpoint-2998-01-01T00-00-00-000Z.jws', rejected: 'BAD_SIGNATURE' }, { key: checkpointKey(hours(-0.5)), rejected: 'WRONG_TYPE' }],
      latest: b.key,
      ignored: [
        { key: 'checkpoint-2998-01-01T00-00-00-000Z.jws', reason: 'BAD_SIGNATURE' },
        { key: checkpointKey(hours(-0.5)), reason: 'WRONG_TYPE' },
      ],
    },
    {
      name: 'a genuine empty manifest copied under a far-future key',
      candidates: [a, b, { ...manifestAt(-4, null), key: 'checkpoint-2999-12-31T23-59-59-999Z.jws' }],
      latest: b.key,
      ignored: [{ key: 'checkpoint-2999-12-31T23-59-59-999Z.jws', reason: 'KEY_MISMATCH' }],
    },
    {
      name: 'a validly signed far-future manifest (a signer with a wrong clock)',
      candidates: [a, b, manifestAt(24 * 365, b, b.manifest.chains)],
      latest: b.key,
      ignored: [{ key: checkpointKey(hours(24 * 365)), reason: 'FUTURE' }],
    },
    { name: 'a manifest a few minutes ahead (clock skew)', candidates: [a, manifestAt(0.05, a, a.manifest.chains)], latest: checkpointKey(hours(0.05)), ignored: [] },
    {
      name: 'a newer manifest whose link hash does not match',
      candidates: [a, b, { ...c, manifest: { ...c.manifest, prev: { key: b.key, sha256: sha('f') } } }],
      latest: b.key,
      ignored: [{ key: c.key, reason: 'BROKEN_LINK' }],
    },
    {
      name: 'a newer manifest linked to an object that is not there',
      candidates: [a, c],
      latest: a.key,
      ignored: [{ key: c.key, reason: 'BROKEN_LINK' }],
    },
    {
      name: 'a newer manifest that drops a signed head (it believed a rewrite)',
      candidates: [a, b, manifestAt(-1, b, [signedChain(rewrite(events, 3), [4, -1])])],
      latest: b.key,
      ignored: [{ key: c.key, reason: 'HISTORY_REWRITTEN' }],
    },
  ])('$name', ({ candidates, latest, ignored }) => {
    const chosen = chooseLatestCheckpoint(candidates, NOW);
    expect(chosen.latest?.key).toBe(latest);
    expect(chosen.ignored).toEqual(ignored);
  });
});

describe('a manifest continuing its predecessor', () => {
  const events = chain(5);
  const old = chain(2, 'req-old', '2019-01-01T00:00:00.000Z');
  const before = manifestAt(-1, null, [signedChain(events, [3, -2]), signedChain(old, [2, -30000])], { retentionDays: 2282 });
  const next = (chains: SignedChain[], options: { retentionDays?: number | null; h?: number } = {}) => manifestAt(options.h ?? 0, before, chains, { retentionDays: options.retentionDays === undefined ? 2282 : options.retentionDays });

  it.each<{ name: string; latest: TrustedCheckpoint; previous?: CheckpointCandidate; reason: string | undefined }>([
    { name: 'carries every chain and appends new heads', latest: next([signedChain(events, [3, -2], [5, 0]), signedChain(old, [2, -30000])]), previous: before, reason: undefined },
    { name: 'lets a chain past the retention go', latest: next([signedChain(events, [3, -2])]), previous: before, reason: undefined },
    { name: 'drops a chain within the retention', latest: next([signedChain(old, [2, -30000])]), previous: before, reason: 'HISTORY_REWRITTEN' },
    { name: 'replaces a signed head', latest: next([signedChain(rewrite(events, 2), [3, -2]), signedChain(old, [2, -30000])]), previous: before, reason: 'HISTORY_REWRITTEN' },
    { name: 'restamps a signed head with a later time', latest: next([signedChain(events, [3, 0]), signedChain(old, [2, -30000])]), previous: before, reason: 'HISTORY_REWRITTEN' },
    { name: 'shortens the retention to let chains go', latest: next([signedChain(events, [3, -2])], { retentionDays: 1 }), previous: before, reason: 'HISTORY_REWRITTEN' },
    { name: 'names a predecessor that is not trusted', latest: next([signedChain(events, [3, -2])]), previous: { key: before.key, rejected: 'BAD_SIGNATURE' }, reason: 'BROKEN_LINK' },
    { name: 'names a predecessor that is missing', latest: next([signedChain(events, [3, -2])]), previous: undefined, reason: 'BROKEN_LINK' },
    { name: 'names a predecessor that is not earlier', latest: next([signedChain(events, [3, -2]), signedChain(old, [2, -30000])], { h: -1.5 }), previous: before, reason: 'BROKEN_LINK' },
  ])('$name', ({ latest, previous, reason }) => {
    expect(judgeLink(latest, previous)).toBe(reason);
  });
});

describe('what the next checkpoint states about a chain', () => {
  const events = chain(5);
  const rewritten = rewrite(events, 2);
  const previous = signedChain(events, [3, -1]);
  const at = NOW;

  it.each<{ name: string; input: Omit<HeadDecisionInput, 'requestId' | 'at'>; decision: unknown }>([
    { name: 'a new chain: its recomputed head', input: { events }, decision: { kind: 'sign', chain: signedChain(events, [5, 0]) } },
    { name: 'a chain grown since the last checkpoint: a head appended', input: { events, previous }, decision: { kind: 'sign', chain: signedChain(events, [3, -1], [5, 0]) } },
    { name: 'a chain unchanged since the last checkpoint: its history as it was', input: { events: events.slice(0, 3), previous }, decision: { kind: 'sign', chain: previous } },
    {
      name: 'a projection that lags: the head of the events, not the projection',
      input: { events, previous, projection: { lastSeq: 4, lastHash: events[3]!.hash } },
      decision: { kind: 'sign', chain: signedChain(events, [3, -1], [5, 0]) },
    },
    {
      name: 'a chain rewritten with consistent hashes and projection',
      input: { events: rewritten, previous, projection: { lastSeq: 5, lastHash: rewritten[4]!.hash } },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 3, problem: 'CHECKPOINT_MISMATCH' }, carried: previous },
    },
    {
      name: 'a chain cut back below its signed head',
      input: { events: events.slice(0, 2), previous },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 3, problem: 'CHECKPOINT_MISMATCH' }, carried: previous },
    },
    {
      name: 'a chain deleted altogether',
      input: { events: [], previous },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 1, problem: 'CHECKPOINT_MISMATCH' }, carried: previous },
    },
    {
      name: 'an event edited without recomputing, never signed before',
      input: { events: [events[0]!, { ...events[1]!, actor: 'staff:mallory' as const }, ...events.slice(2)] },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 2, problem: 'HASH_MISMATCH' } },
    },
    {
      name: 'a projection claiming more events than the chain has',
      input: { events, projection: { lastSeq: 7, lastHash: sha('7') } },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 6, problem: 'PROJECTION_MISMATCH' } },
    },
    {
      name: 'a history that signed two heads for one event (a signer once believed a rewrite)',
      input: { events, previous: { ...previous, heads: [...previous.heads, { seq: 5, hash: rewritten[4]!.hash, at: iso(-0.5) }] } },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 5, problem: 'CHECKPOINT_MISMATCH' }, carried: { ...previous, heads: [...previous.heads, { seq: 5, hash: rewritten[4]!.hash, at: iso(-0.5) }] } },
    },
    { name: 'a creation that never wrote its first event', input: { events: [] }, decision: { kind: 'empty' } },
    {
      name: 'a chain past its retention, deleted by the store',
      input: { events: [], previous, expiredBefore: new Date('2026-02-01T00:00:00Z') },
      decision: { kind: 'expired' },
    },
    {
      name: 'a chain within its retention, deleted',
      input: { events: [], previous, expiredBefore: new Date('2025-01-01T00:00:00Z') },
      decision: { kind: 'withhold', withheld: { requestId: 'req-1', seq: 1, problem: 'CHECKPOINT_MISMATCH' }, carried: previous },
    },
  ])('$name', ({ input, decision }) => {
    expect(decideChainHead({ requestId: 'req-1', at, ...input })).toEqual(decision);
  });

  it('judges retention by the signed first-event time, not by one rewritten into the chain', () => {
    const backdated = chain(5, 'req-1', '2001-01-01T00:00:00.000Z');
    const decision = decideChainHead({ requestId: 'req-1', at, events: backdated, previous, expiredBefore: new Date('2020-01-01T00:00:00Z') });
    expect(decision).toMatchObject({ kind: 'withhold', withheld: { problem: 'CHECKPOINT_MISMATCH' } });
  });
});

describe('manifests', () => {
  it('list chains and withheld chains in request-id order and count the chains', () => {
    const one = (id: string) => ({ requestId: id, firstAt: iso(0), heads: [{ seq: 1, hash: sha('a'), at: iso(0) }] });
    const m = buildManifest(NOW, null, [one('b'), one('a')], [
      { requestId: 'z', seq: 1, problem: 'HASH_MISMATCH' },
      { requestId: 'c', seq: 3, problem: 'CHECKPOINT_MISMATCH' },
    ]);
    expect(m).toMatchObject({ v: 2, at: NOW.toISOString(), prev: null, retentionDays: null, count: 2 });
    expect(m.chains.map((h) => h.requestId)).toEqual(['a', 'b']);
    expect(m.withheld.map((w) => w.requestId)).toEqual(['c', 'z']);
  });
});
