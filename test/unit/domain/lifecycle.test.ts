import { describe, expect, it } from 'vitest';
import { IllegalTransitionError } from '../../../functions/domain/errors';
import {
  FINAL_STATUSES,
  TRANSITIONS,
  assertTransition,
  canTransition,
  findTransition,
  isFinal,
  nextStatuses,
} from '../../../functions/domain/lifecycle';
import { AUDIT_EVENT_TYPES, REQUEST_STATUSES, type RequestStatus } from '../../../functions/domain/model';

const legal = new Set(TRANSITIONS.map((t) => `${t.from}>${t.to}`));

/** The full 12 × 12 table of (from, to) pairs, each marked legal or not by the transition list. */
const allPairs = REQUEST_STATUSES.flatMap((from) =>
  REQUEST_STATUSES.map((to) => ({ from, to, legal: legal.has(`${from}>${to}`) })),
);

describe('lifecycle', () => {
  it('covers every pair of statuses in the table', () => {
    expect(allPairs).toHaveLength(REQUEST_STATUSES.length ** 2);
    expect(allPairs.filter((p) => p.legal)).toHaveLength(TRANSITIONS.length);
  });

  it('lists each transition once', () => {
    expect(legal.size).toBe(TRANSITIONS.length);
  });

  // COMPLETED → QUEUED needs a fact besides the status (data found at read-back): given here, and
  // refused without it in verification.test.ts.
  const factsFor = (from: RequestStatus) => (from === 'COMPLETED' ? { verification: { stage: 'data-found' } } : undefined);

  it.each(allPairs.filter((p) => p.legal))('accepts $from → $to', ({ from, to }) => {
    expect(canTransition(from, to, factsFor(from))).toBe(true);
    const transition = assertTransition(from, to, factsFor(from));
    expect(transition).toMatchObject({ from, to });
    expect(AUDIT_EVENT_TYPES).toContain(transition.event);
  });

  it.each(allPairs.filter((p) => !p.legal))('rejects $from → $to with IllegalTransitionError', ({ from, to }) => {
    expect(canTransition(from, to)).toBe(false);
    expect(findTransition(from, to)).toBeUndefined();
    let thrown: unknown;
    try {
      assertTransition(from, to);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(IllegalTransitionError);
    expect(thrown).toMatchObject({ name: 'IllegalTransitionError', from, to });
  });

  it.each(FINAL_STATUSES.map((status) => ({ status })))('offers no way out of the final status $status', ({ status }) => {
    expect(isFinal(status)).toBe(true);
    expect(nextStatuses(status)).toEqual([]);
    for (const to of REQUEST_STATUSES) expect(() => assertTransition(status, to)).toThrow(IllegalTransitionError);
  });

  it('treats every other status as not final and leaves each of them somehow', () => {
    const open = REQUEST_STATUSES.filter((s) => !FINAL_STATUSES.includes(s));
    for (const status of open) {
      expect(isFinal(status)).toBe(false);
      expect(nextStatuses(status).length).toBeGreaterThan(0);
    }
  });

  it.each(TRANSITIONS.map((t) => ({ ...t, intoQueued: t.to === 'QUEUED' })))(
    'starts a new attempt on $from → $to only if it moves into QUEUED ($intoQueued)',
    ({ newAttempt, intoQueued }) => {
      expect(newAttempt === true).toBe(intoQueued);
    },
  );

  it('lets every status be reached from RECEIVED', () => {
    const reached = new Set<RequestStatus>(['RECEIVED']);
    const queue: RequestStatus[] = ['RECEIVED'];
    while (queue.length > 0) {
      for (const next of nextStatuses(queue.shift()!)) {
        if (!reached.has(next)) {
          reached.add(next);
          queue.push(next);
        }
      }
    }
    expect([...reached].sort()).toEqual([...REQUEST_STATUSES].sort());
  });

  it('names both statuses in the illegal-transition message', () => {
    expect(() => assertTransition('COMPLETED', 'QUEUED')).toThrow('A request in status COMPLETED cannot move to QUEUED');
  });
});
