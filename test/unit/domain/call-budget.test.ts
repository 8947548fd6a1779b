import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  afterRefusal,
  allowance,
  ceilingOf,
  defaultCallBudgetPolicy,
  EMPTY_BUDGET,
  planTurn,
  slotLength,
  slotsOf,
  takeTurn,
  turnsAvailable,
  usedIn,
  validPolicy,
  waitSecondsOf,
  type BudgetState,
  type CallBudgetPolicy,
  type CallPriority,
} from '../../../functions/domain/call-budget';

const T0 = Date.parse('2026-03-10T09:00:00.000Z');
const policy = defaultCallBudgetPolicy();
const [minute, hour] = policy.windows as [typeof policy.windows[0], typeof policy.windows[0]];

/** Takes `n` turns for `priority` at `at`, all granted; returns the state. */
function fill(state: BudgetState, priority: CallPriority, n: number, at: number, p: CallBudgetPolicy = policy): BudgetState {
  let s = state;
  for (let i = 0; i < n; i++) {
    const d = takeTurn(s, p, priority, at);
    if (!d.granted) throw new Error(`turn ${i + 1} of ${n} refused`);
    s = d.state;
  }
  return s;
}

describe('the documented defaults', () => {
  it.each([
    { what: 'minute allowance (60 less 10 %)', value: () => allowance(minute, policy), expected: 54 },
    { what: 'hour allowance (1,800 less 10 %)', value: () => allowance(hour, policy), expected: 1620 },
    { what: 'erasures may fill the minute', value: () => ceilingOf(minute, policy, 'erase'), expected: 54 },
    { what: 'status checks leave a reserve for erasures', value: () => ceilingOf(minute, policy, 'status'), expected: 45 },
    { what: 'role paging leaves a reserve for both', value: () => ceilingOf(minute, policy, 'roles'), expected: 27 },
    { what: 'role paging an hour', value: () => ceilingOf(hour, policy, 'roles'), expected: 810 },
  ])('$what: $expected', ({ value, expected }) => {
    expect(value()).toBe(expected);
  });

  it('compresses every window and the refusal backoff with the time scale', () => {
    const fast = defaultCallBudgetPolicy({ timeScale: 0.01 });
    expect(fast.windows.map((w) => w.lengthMs)).toEqual([600, 36_000]);
    expect(fast.refusalBackoffMs).toBe(100);
  });

  it.each([
    { why: 'no window', patch: { windows: [] } },
    { why: 'a zero limit', patch: { windows: [{ lengthMs: 60_000, limit: 0 }] } },
    { why: 'a margin of 100 %', patch: { safetyMargin: 1 } },
    { why: 'erasures capped below the allowance', patch: { ceilings: { erase: 0.9, status: 0.8, roles: 0.5 } } },
    { why: 'role paging above status checks', patch: { ceilings: { erase: 1, status: 0.5, roles: 0.8 } } },
  ])('refuses a policy with $why', ({ patch }) => {
    expect(() => validPolicy({ ...policy, ...patch } as CallBudgetPolicy)).toThrow(RangeError);
  });
});

describe('takeTurn', () => {
  it('grants up to each priority\'s ceiling in a minute, then names the wait', () => {
    const s = fill(EMPTY_BUDGET, 'roles', 27, T0);
    const refused = takeTurn(s, policy, 'roles', T0);
    expect(refused.granted).toBe(false);
    // The turns sit in the slot starting at T0 (5 s slots); it leaves the count 13 slots later.
    expect(refused.granted === false && refused.waitMs).toBe(65_000);
    // Above the paging ceiling, status checks and erasures still find room.
    const s2 = fill(s, 'status', 45 - 27, T0);
    expect(takeTurn(s2, policy, 'status', T0).granted).toBe(false);
    const s3 = fill(s2, 'erase', 54 - 45, T0);
    expect(takeTurn(s3, policy, 'erase', T0).granted).toBe(false);
    expect(usedIn(s3, minute, policy, T0)).toBe(54);
  });

  it('grants again once the oldest slots have left the counted span', () => {
    const s = fill(fill(EMPTY_BUDGET, 'erase', 30, T0), 'erase', 24, T0 + 20_000);
    const refused = takeTurn(s, policy, 'erase', T0 + 30_000);
    expect(refused).toEqual({ granted: false, waitMs: 35_000 });
    expect(takeTurn(s, policy, 'erase', T0 + 65_000).granted).toBe(true);
  });

  it('keeps the hour: 1,620 calls spread over an hour, then a wait', () => {
    let s: BudgetState = EMPTY_BUDGET;
    // 27 a minute for 60 minutes: under every minute ceiling, up to the hourly allowance.
    for (let m = 0; m < 60; m++) s = fill(s, 'erase', 27, T0 + m * 60_000);
    const refused = takeTurn(s, policy, 'erase', T0 + 60 * 60_000);
    expect(refused.granted).toBe(false);
    expect(usedIn(s, hour, policy, T0 + 60 * 60_000)).toBe(1620);
  });

  it.each([
    { what: 'the minute in 12 slots of 5 s', window: () => minute, slots: 12, ms: 5_000 },
    { what: 'the hour in 60 slots of 1 min', window: () => hour, slots: 60, ms: 60_000 },
  ])('counts $what', ({ window, slots, ms }) => {
    expect(slotsOf(window(), policy)).toBe(slots);
    expect(slotLength(window(), policy)).toBe(ms);
  });

  it.each([
    // The hour's ceiling for role paging (810) taken in the first minute: it comes back one hour
    // and one slot (1 min) after that minute began, wherever in the minute the turns fell.
    { what: 'taken at the start of a minute', takenAt: T0, askedAt: T0 + 40 * 60_000, wait: 21 * 60_000 },
    { what: 'taken late in a minute', takenAt: T0 + 59_000, askedAt: T0 + 40 * 60_000, wait: 21 * 60_000 },
    { what: 'asked just before it comes back', takenAt: T0, askedAt: T0 + 61 * 60_000 - 1, wait: 1 },
    { what: 'asked when it is back', takenAt: T0, askedAt: T0 + 61 * 60_000, wait: 0 },
  ])('gives the hour back a minute after it leaves the platform\'s hour: $what', ({ takenAt, askedAt, wait }) => {
    // 810 turns, 27 (the minute's ceiling) at a time 70 s apart, the first 27 at `takenAt`.
    let s = fill(EMPTY_BUDGET, 'roles', 27, takenAt);
    for (let m = 1; m < 30; m++) s = fill(s, 'roles', 27, T0 + 60_000 + m * 70_000);
    expect(usedIn(s, hour, policy, askedAt)).toBe(wait === 0 ? 810 - 27 : 810);
    const d = takeTurn(s, policy, 'roles', askedAt);
    expect(d.granted ? 0 : d.waitMs).toBe(wait);
  });

  it('makes every caller wait after a platform refusal, for Retry-After or the backoff', () => {
    const blocked = afterRefusal(EMPTY_BUDGET, policy, T0);
    expect(takeTurn(blocked, policy, 'erase', T0 + 1)).toEqual({ granted: false, waitMs: 9_999 });
    expect(takeTurn(blocked, policy, 'erase', T0 + 10_000).granted).toBe(true);
    const longer = afterRefusal(blocked, policy, T0, 30_000);
    expect(takeTurn(longer, policy, 'roles', T0)).toEqual({ granted: false, waitMs: 30_000 });
    // A shorter refusal never shortens the wait in force.
    expect(afterRefusal(longer, policy, T0, 1_000).blockedUntil).toBe(T0 + 30_000);
  });

  it('prunes slots that no longer count', () => {
    const s = fill(EMPTY_BUDGET, 'erase', 3, T0);
    const later = takeTurn(s, policy, 'erase', T0 + 2 * 3_600_000);
    expect(later.granted && Object.values(later.state.slots)).toEqual([1, 1]);
  });

  it.each([0, -1, 1.5])('refuses %s calls', (calls) => {
    expect(() => takeTurn(EMPTY_BUDGET, policy, 'erase', T0, calls)).toThrow(RangeError);
  });

  it('refuses a batch larger than the priority may ever take', () => {
    expect(() => takeTurn(EMPTY_BUDGET, policy, 'roles', T0, 28)).toThrow(RangeError);
  });

  it.each([
    { ms: 1, s: 1 },
    { ms: 1000, s: 1 },
    { ms: 1001, s: 2 },
    { ms: 65_000, s: 65 },
  ])('a wait of $ms ms is $s s for the Wait state', ({ ms, s }) => {
    expect(waitSecondsOf(ms)).toBe(s);
  });
});

describe('turnsAvailable', () => {
  const erased20 = fill(EMPTY_BUDGET, 'erase', 20, T0);
  it.each([
    { why: 'an empty budget leaves role paging its whole ceiling', state: EMPTY_BUDGET, who: 'roles' as const, at: T0, expected: 27 },
    { why: 'erasures\' turns count against the paging ceiling', state: erased20, who: 'roles' as const, at: T0, expected: 7 },
    { why: 'erasures still find the reserve above it', state: erased20, who: 'erase' as const, at: T0, expected: 34 },
    { why: 'a full paging ceiling leaves none', state: fill(EMPTY_BUDGET, 'roles', 27, T0), who: 'roles' as const, at: T0, expected: 0 },
    { why: 'turns come back once their slot has left the count', state: erased20, who: 'roles' as const, at: T0 + 65_000, expected: 27 },
    { why: 'none while a refusal backoff is in force', state: afterRefusal(EMPTY_BUDGET, policy, T0), who: 'erase' as const, at: T0 + 1, expected: 0 },
  ])('$why', ({ state, who, at, expected }) => {
    expect(turnsAvailable(state, policy, who, at)).toBe(expected);
  });

  it('is exactly what planTurn grants: that many at once, and not one more', () => {
    const small: CallBudgetPolicy = { ...defaultCallBudgetPolicy(), windows: [{ lengthMs: 60_000, limit: 20 }, { lengthMs: 600_000, limit: 120 }] };
    const steps = fc.array(fc.tuple(fc.integer({ min: 0, max: 8_000 }), fc.constantFrom<CallPriority>('erase', 'status', 'roles'), fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 120 });
    fc.assert(
      fc.property(steps, fc.constantFrom<CallPriority>('erase', 'status', 'roles'), (asks, who) => {
        let s: BudgetState = EMPTY_BUDGET;
        let now = T0;
        for (const [gap, p, n] of asks) {
          now += gap;
          const d = takeTurn(s, small, p, now, Math.min(n, Math.max(1, turnsAvailable(s, small, p, now))));
          if (d.granted) s = d.state;
        }
        const n = turnsAvailable(s, small, who, now);
        if (n >= 1) expect(planTurn(s, small, who, now, n).granted).toBe(true);
        else expect(planTurn(s, small, who, now, 1).granted).toBe(false);
        const ceiling = Math.min(...small.windows.map((w) => ceilingOf(w, small, who)));
        if (n + 1 <= ceiling) expect(planTurn(s, small, who, now, n + 1).granted).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

/** Calls granted in the sliding window (at - length, at], exactly as the simulator counts them. */
const slidingCount = (times: number[], at: number, length: number) => times.filter((t) => t > at - length && t <= at).length;

describe('properties', () => {
  const priority = fc.constantFrom<CallPriority>('erase', 'status', 'roles');
  // Asks at increasing times, some in bursts at the same millisecond.
  const asks = fc.array(fc.tuple(fc.integer({ min: 0, max: 4_000 }), priority), { minLength: 1, maxLength: 400 });
  const small: CallBudgetPolicy = { ...defaultCallBudgetPolicy({ perMinute: 20, perHour: 120 }), windows: [{ lengthMs: 60_000, limit: 20 }, { lengthMs: 600_000, limit: 120 }] };

  it('never lets more than the allowance into any sliding window, whoever asks and when', () => {
    fc.assert(
      fc.property(asks, (steps) => {
        let s: BudgetState = EMPTY_BUDGET;
        let now = T0;
        const granted: number[] = [];
        for (const [gap, p] of steps) {
          now += gap;
          const d = takeTurn(s, small, p, now);
          if (d.granted) {
            s = d.state;
            granted.push(now);
          }
        }
        for (const at of granted) {
          for (const w of small.windows) expect(slidingCount(granted, at, w.lengthMs)).toBeLessThanOrEqual(allowance(w, small));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('never lets a lower priority fill a window past its ceiling', () => {
    fc.assert(
      fc.property(asks, (steps) => {
        let s: BudgetState = EMPTY_BUDGET;
        let now = T0;
        for (const [gap, p] of steps) {
          now += gap;
          const d = takeTurn(s, small, p, now);
          if (d.granted) {
            for (const w of small.windows) expect(usedIn(d.state, w, small, now)).toBeLessThanOrEqual(ceilingOf(w, small, p));
            s = d.state;
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  it('grants a refused caller once it has waited the time it was told, when nobody else called', () => {
    fc.assert(
      fc.property(asks, priority, (steps, who) => {
        let s: BudgetState = EMPTY_BUDGET;
        let now = T0;
        for (const [gap, p] of steps) {
          now += gap;
          const d = takeTurn(s, small, p, now);
          if (d.granted) s = d.state;
        }
        const d = takeTurn(s, small, who, now);
        if (!d.granted) {
          expect(d.waitMs).toBeGreaterThan(0);
          expect(takeTurn(s, small, who, now + d.waitMs).granted).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('names a wait no longer than one slot past the moment the sliding windows would take the turn', () => {
    // The hour counted in finer slots than the minute, as the defaults do.
    const mixed: CallBudgetPolicy = { ...small, windows: [{ lengthMs: 60_000, limit: 20 }, { lengthMs: 600_000, limit: 120, slots: 60 }] };
    fc.assert(
      fc.property(asks, priority, (steps, who) => {
        let s: BudgetState = EMPTY_BUDGET;
        let now = T0;
        const granted: number[] = [];
        for (const [gap, p] of steps) {
          now += gap;
          const d = takeTurn(s, mixed, p, now);
          if (d.granted) {
            s = d.state;
            granted.push(now);
          }
        }
        const d = takeTurn(s, mixed, who, now);
        if (d.granted) return;
        // Per window: the first moment a sliding window of its length holds room under the ceiling.
        let bound = 0;
        for (const w of mixed.windows) {
          const room = ceilingOf(w, mixed, who) - 1;
          const inWindow = granted.filter((t) => t > now - w.lengthMs).sort((a, b) => a - b);
          const exact = inWindow.length <= room ? now : inWindow[inWindow.length - room - 1]! + w.lengthMs;
          bound = Math.max(bound, exact - now + slotLength(w, mixed));
        }
        expect(d.waitMs).toBeLessThanOrEqual(Math.ceil(bound));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps every sliding window under the allowance when callers plan from a stale read and a store applies plans atomically', () => {
    // Several callers read the same state, plan, and apply in turn under the plan's condition
    // (current slot ≤ atMost), as DynamoCallBudget's UpdateItem does; a failed condition reads again.
    const groups = fc.array(fc.tuple(fc.integer({ min: 0, max: 6_000 }), fc.array(priority, { minLength: 1, maxLength: 8 })), { minLength: 1, maxLength: 80 });
    fc.assert(
      fc.property(groups, (steps) => {
        let s: BudgetState = EMPTY_BUDGET;
        let now = T0;
        const granted: number[] = [];
        for (const [gap, callers] of steps) {
          now += gap;
          const read = s;
          for (const p of callers) {
            for (const stale of [read, s]) {
              const plan = planTurn(stale, small, p, now);
              if (!plan.granted) break;
              if (plan.add.every(({ key, atMost }) => (s.slots[key] ?? 0) <= atMost)) {
                const slots = { ...s.slots };
                for (const { key } of plan.add) slots[key] = (slots[key] ?? 0) + 1;
                s = { ...s, slots };
                granted.push(now);
                break;
              }
            }
          }
        }
        for (const at of granted) {
          for (const w of small.windows) expect(slidingCount(granted, at, w.lengthMs)).toBeLessThanOrEqual(allowance(w, small));
        }
      }),
      { numRuns: 150 },
    );
  });
});
