import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GENESIS_HASH,
  canonicalJson,
  chainEvent,
  computeEventHash,
  verifyChain,
} from '../../../functions/domain/audit-chain';
import { AUDIT_EVENT_TYPES, REQUEST_STATUSES, type AuditEvent, type AuditEventInput } from '../../../functions/domain/model';

const REQUEST_ID = 'req-01JTESTCHAIN';

/** A fresh, deterministic event input for position `i` of a chain. */
function inputAt(i: number, tag = 'original'): AuditEventInput {
  return {
    type: AUDIT_EVENT_TYPES[i % AUDIT_EVENT_TYPES.length]!,
    at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
    actor: i % 3 === 0 ? 'subject' : i % 3 === 1 ? 'system:workflow' : 'staff:ops-1',
    attempt: Math.floor(i / 4),
    status: REQUEST_STATUSES[i % REQUEST_STATUSES.length]!,
    details: { step: i, tag, nested: { list: [i, `x${i}`, null], ok: i % 2 === 0 } },
  };
}

/** Builds a chain of `length` events, each linked to the previous one. */
function buildChain(length: number, requestId = REQUEST_ID): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (let i = 0; i < length; i++) events.push(chainEvent(requestId, events.at(-1), inputAt(i)));
  return events;
}

/** Recomputes seq, prevHash and hash from position `from` on, as a careful forger would. */
function rechain(events: AuditEvent[], from = 0): AuditEvent[] {
  const out = events.slice(0, from);
  for (const { requestId, seq: _seq, prevHash: _p, hash: _h, ...input } of events.slice(from)) {
    out.push(chainEvent(requestId, out.at(-1), input));
  }
  return out;
}

/** A chain length n ≥ 2 and a position k in 1..n (1-based). */
const chainAndPosition = fc.integer({ min: 2, max: 25 }).chain((n) => fc.record({ n: fc.constant(n), k: fc.integer({ min: 1, max: n }) }));

describe('canonicalJson', () => {
  it.each([
    { name: 'sorts object keys', value: { b: 1, a: 2, c: 3 }, expected: '{"a":2,"b":1,"c":3}' },
    { name: 'sorts keys of nested objects and keeps array order', value: { z: [{ y: 1, x: 2 }, 3], a: { d: null, c: true } }, expected: '{"a":{"c":true,"d":null},"z":[{"x":2,"y":1},3]}' },
    { name: 'drops undefined members', value: { a: undefined, b: 1 }, expected: '{"b":1}' },
    { name: 'writes undefined array items as null', value: [1, undefined, 2], expected: '[1,null,2]' },
    { name: 'writes no whitespace', value: { a: [1, { b: 'c d' }] }, expected: '{"a":[1,{"b":"c d"}]}' },
    { name: 'keeps non-ASCII text as is', value: { név: 'Ünïcödé ✓ 😀' }, expected: '{"név":"Ünïcödé ✓ 😀"}' },
    { name: 'escapes quotes, backslashes and control characters', value: ['"\\\n\u0001'], expected: '["\\"\\\\\\n\\u0001"]' },
    // By UTF-16 code unit: the surrogate of 😀 (0xD83D) sorts before ﬁ (0xFB01), though its code point is larger.
    { name: 'sorts keys by UTF-16 code unit', value: { ﬁ: 1, '😀': 2, z: 3, é: 4, Z: 5 }, expected: '{"Z":5,"z":3,"é":4,"😀":2,"ﬁ":1}' },
  ])('$name', ({ value, expected }) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('does not normalise Unicode, so NFC and NFD spellings hash differently', () => {
    expect(canonicalJson('\u00e9')).not.toBe(canonicalJson('e\u0301'));
  });

  it.each([NaN, Infinity, -Infinity])('rejects the non-finite number %s', (n) => {
    expect(() => canonicalJson({ a: [n] })).toThrow(TypeError);
  });

  it.each([{ v: 1n }, { v: () => 1 }, { v: Symbol('s') }])('rejects values JSON cannot hold', ({ v }) => {
    expect(() => canonicalJson({ a: v })).toThrow(TypeError);
  });

  it('gives the same text for the same value whatever the key insertion order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (dict) => {
        const reversed = Object.fromEntries(Object.entries(dict).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(dict));
      }),
    );
  });

  it('round-trips any JSON value through JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (raw) => {
        const value = JSON.parse(JSON.stringify(raw)) as unknown; // drops -0, as storage would
        expect(JSON.parse(canonicalJson(value))).toEqual(value);
      }),
    );
  });
});

describe('verifyChain', () => {
  it('accepts an empty chain with the genesis hash as head', () => {
    expect(verifyChain(REQUEST_ID, [])).toEqual({ ok: true, checked: 0, headHash: GENESIS_HASH });
  });

  it('accepts a chain built link by link, with or without a checkpoint on any of its events', () => {
    fc.assert(
      fc.property(chainAndPosition, ({ n, k }) => {
        const events = buildChain(n);
        expect(events[0]!.prevHash).toBe(GENESIS_HASH);
        expect(verifyChain(REQUEST_ID, events)).toEqual({ ok: true, checked: n, headHash: events[n - 1]!.hash });
        expect(verifyChain(REQUEST_ID, events, { seq: k, hash: events[k - 1]!.hash }).ok).toBe(true);
      }),
    );
  });

  it('pinpoints an edited field of event k', () => {
    const edits: ((e: AuditEvent) => void)[] = [
      (e) => void (e.details = { ...e.details, tag: 'edited' }),
      (e) => void (e.status = e.status === 'COMPLETED' ? 'FAILED' : 'COMPLETED'),
      (e) => void (e.actor = 'staff:someone-else'),
      (e) => void (e.at = '2030-01-01T00:00:00.000Z'),
      (e) => void (e.attempt += 1),
      (e) => void (e.type = e.type === 'ERASURE_FAILED' ? 'ERASURE_COMPLETED' : 'ERASURE_FAILED'),
    ];
    fc.assert(
      fc.property(chainAndPosition, fc.integer({ min: 0, max: edits.length - 1 }), ({ n, k }, which) => {
        const events = buildChain(n);
        edits[which]!(events[k - 1]!);
        const result = verifyChain(REQUEST_ID, events);
        expect(result.ok).toBe(false);
        expect(result.firstBad).toEqual({ seq: k, index: k - 1, problem: 'HASH_MISMATCH' });
        expect(result.checked).toBe(k - 1);
      }),
    );
  });

  it('pinpoints the deletion of event k (any but the head)', () => {
    fc.assert(
      fc.property(chainAndPosition.filter(({ n, k }) => k < n), ({ n, k }) => {
        const events = buildChain(n);
        events.splice(k - 1, 1);
        expect(verifyChain(REQUEST_ID, events).firstBad).toEqual({ seq: k + 1, index: k - 1, problem: 'SEQUENCE_GAP' });
      }),
    );
  });

  it('pinpoints the deletion of event k even when the later events are renumbered', () => {
    fc.assert(
      fc.property(chainAndPosition.filter(({ n, k }) => k < n), ({ n, k }) => {
        const events = buildChain(n);
        events.splice(k - 1, 1);
        for (let i = k - 1; i < events.length; i++) events[i]!.seq = i + 1;
        expect(verifyChain(REQUEST_ID, events).firstBad).toEqual({ seq: k, index: k - 1, problem: 'PREV_HASH_MISMATCH' });
      }),
    );
  });

  it('pinpoints a reordering of two events', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 25 }).chain((n) =>
          fc.record({ n: fc.constant(n), pair: fc.uniqueArray(fc.integer({ min: 1, max: n }), { minLength: 2, maxLength: 2 }) }),
        ),
        ({ n, pair }) => {
          const [i, j] = [Math.min(...pair), Math.max(...pair)];
          const events = buildChain(n);
          [events[i - 1], events[j - 1]] = [events[j - 1]!, events[i - 1]!];
          expect(verifyChain(REQUEST_ID, events).firstBad).toEqual({ seq: j, index: i - 1, problem: 'SEQUENCE_GAP' });
        },
      ),
    );
  });

  it('pinpoints a forged event inserted before event k, even one whose own hash is right', () => {
    fc.assert(
      fc.property(chainAndPosition, ({ n, k }) => {
        const events = buildChain(n);
        const forged = chainEvent(REQUEST_ID, events[k - 2], inputAt(k - 1, 'forged'));
        expect(computeEventHash(forged.prevHash, forged)).toBe(forged.hash);
        events.splice(k - 1, 0, forged);
        // The forgery itself fits; the genuine event k, now one place later, does not.
        expect(verifyChain(REQUEST_ID, events).firstBad).toEqual({ seq: k, index: k, problem: 'SEQUENCE_GAP' });
      }),
    );
  });

  it('pinpoints a forged event inserted before event k when the later events are renumbered', () => {
    fc.assert(
      fc.property(chainAndPosition, ({ n, k }) => {
        const events = buildChain(n);
        events.splice(k - 1, 0, chainEvent(REQUEST_ID, events[k - 2], inputAt(k - 1, 'forged')));
        for (let i = k; i < events.length; i++) events[i]!.seq = i + 1;
        expect(verifyChain(REQUEST_ID, events).firstBad).toEqual({ seq: k + 1, index: k, problem: 'PREV_HASH_MISMATCH' });
      }),
    );
  });

  it('pinpoints an event of another request put in place of event k', () => {
    fc.assert(
      fc.property(chainAndPosition, ({ n, k }) => {
        const events = buildChain(n);
        events[k - 1] = buildChain(n, 'req-01JOTHER')[k - 1]!;
        expect(verifyChain(REQUEST_ID, events).firstBad).toEqual({ seq: k, index: k - 1, problem: 'WRONG_REQUEST' });
      }),
    );
  });

  it('rejects a chain that is verified under the wrong request id', () => {
    const events = buildChain(3);
    expect(verifyChain('req-01JOTHER', events).firstBad).toEqual({ seq: 1, index: 0, problem: 'WRONG_REQUEST' });
  });

  it('catches, by its checkpoint, a chain rewritten with consistent hashes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 25 }).chain((n) =>
          fc.integer({ min: 1, max: n }).chain((c) => fc.record({ n: fc.constant(n), c: fc.constant(c), k: fc.integer({ min: 1, max: c }) })),
        ),
        ({ n, c, k }) => {
          const events = buildChain(n);
          const checkpoint = { seq: c, hash: events[c - 1]!.hash };
          events[k - 1]!.details = { ...events[k - 1]!.details, tag: 'rewritten' };
          const rewritten = rechain(events, k - 1);
          expect(verifyChain(REQUEST_ID, rewritten).ok).toBe(true);
          const result = verifyChain(REQUEST_ID, rewritten, checkpoint);
          expect(result.ok).toBe(false);
          expect(result.firstBad).toEqual({ seq: c, index: c - 1, problem: 'CHECKPOINT_MISMATCH' });
        },
      ),
    );
  });

  it('accepts events appended after the checkpoint', () => {
    const events = buildChain(3);
    const checkpoint = { seq: 3, hash: events[2]!.hash };
    for (let i = 3; i < 6; i++) events.push(chainEvent(REQUEST_ID, events.at(-1), inputAt(i)));
    expect(verifyChain(REQUEST_ID, events, checkpoint).ok).toBe(true);
  });

  it('catches a chain cut back below its checkpoint', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 25 }).chain((c) => fc.record({ c: fc.constant(c), keep: fc.integer({ min: 0, max: c - 1 }) })),
        ({ c, keep }) => {
          const events = buildChain(c);
          const checkpoint = { seq: c, hash: events[c - 1]!.hash };
          const cut = events.slice(0, keep);
          expect(verifyChain(REQUEST_ID, cut).ok).toBe(true);
          expect(verifyChain(REQUEST_ID, cut, checkpoint)).toEqual({
            ok: false,
            checked: keep,
            headHash: keep === 0 ? GENESIS_HASH : events[keep - 1]!.hash,
            firstBad: { seq: keep + 1, index: keep, problem: 'CHECKPOINT_MISMATCH' },
          });
        },
      ),
    );
  });

  describe('against several signed checkpoints', () => {
    const events = buildChain(8);
    const forged = (() => {
      const copy = events.map((e) => ({ ...e }));
      copy[2]!.details = { ...copy[2]!.details, tag: 'rewritten' };
      return rechain(copy, 2);
    })();
    const cp = (chain: AuditEvent[], seq: number, at: string) => ({ seq, hash: chain[seq - 1]!.hash, at });

    it.each([
      { name: 'accepts a chain every checkpoint agrees with', chain: events, checkpoints: [cp(events, 2, 't1'), cp(events, 5, 't2'), cp(events, 8, 't3')], firstBad: undefined },
      {
        name: 'reports a rewrite against the earliest checkpoint covering it, though a later one vouches for it',
        chain: forged,
        checkpoints: [cp(events, 4, 't1'), cp(forged, 6, 't2'), cp(forged, 8, 't3')],
        firstBad: { seq: 4, index: 3, problem: 'CHECKPOINT_MISMATCH', checkpointAt: 't1' },
      },
      {
        name: 'reports two checkpoints that disagree about one event, whichever the chain matches',
        chain: events,
        checkpoints: [cp(events, 6, 't1'), cp(forged, 6, 't2')],
        firstBad: { seq: 6, index: 5, problem: 'CHECKPOINT_MISMATCH', checkpointAt: 't2' },
      },
      {
        name: 'reports a chain cut back below the latest checkpoint, naming it',
        chain: events.slice(0, 6),
        checkpoints: [cp(events, 4, 't1'), cp(events, 8, 't2')],
        firstBad: { seq: 7, index: 6, problem: 'CHECKPOINT_MISMATCH', checkpointAt: 't2' },
      },
    ])('$name', ({ chain, checkpoints, firstBad }) => {
      const result = verifyChain(REQUEST_ID, chain, checkpoints);
      expect(result.ok).toBe(firstBad === undefined);
      expect(result.firstBad).toEqual(firstBad);
    });
  });
});
