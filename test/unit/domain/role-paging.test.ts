import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pagesFor, pagesToAsk, refreshIntervalMs, shouldStartRefresh, type RefreshCursor, type RolePagingPolicy } from '../../../functions/domain/role-paging';

const HOUR = 3_600_000;
const policy: RolePagingPolicy = { baseIntervalMs: HOUR, hourlyShare: 0.25, hourlyAllowance: 1620, hourMs: HOUR, pageSize: 50, pagesPerTurn: 10 };

describe('refreshIntervalMs', () => {
  it.each([
    { users: 0, expected: HOUR, why: 'an empty account refreshes hourly' },
    { users: 8, expected: HOUR, why: 'the demo account refreshes hourly' },
    { users: 20_000, expected: HOUR, why: '400 pages fit a quarter of 1,620 an hour' },
    { users: 20_300, expected: Math.ceil((406 / 405) * HOUR), why: 'one page more than a quarter of the hour stretches the interval' },
    { users: 50_000, expected: Math.ceil((1000 / 405) * HOUR), why: '50,000 users (1,000 pages) refresh about every 2.5 hours' },
  ])('$why', ({ users, expected }) => {
    expect(refreshIntervalMs(policy, users)).toBe(expected);
  });

  it('keeps paging within its share of the hourly allowance, whatever the account size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500_000 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (users, share) => {
        const p = { ...policy, hourlyShare: share };
        const interval = refreshIntervalMs(p, users);
        const pagesPerHour = (pagesFor(users, 50) / interval) * HOUR;
        expect(interval).toBeGreaterThanOrEqual(HOUR);
        expect(pagesPerHour).toBeLessThanOrEqual(Math.max(1, share * 1620) + 1e-6);
      }),
    );
  });
});

describe('shouldStartRefresh', () => {
  const now = new Date('2026-03-10T12:00:00.000Z');
  const cursor: RefreshCursor = { version: 'v1', startedAt: '2026-03-10T11:00:00.000Z', offset: 500, total: 1000, pages: 10, userCount: 500, identityCount: 40, botIds: [], reason: 'schedule' };
  it.each([
    { why: 'no snapshot yet', inProgress: undefined, lastComplete: undefined, onDemand: false, expected: true },
    { why: 'a refresh under way continues instead', inProgress: cursor, lastComplete: undefined, onDemand: true, expected: false },
    { why: 'on demand', inProgress: undefined, lastComplete: { startedAt: '2026-03-10T11:59:00.000Z', userCount: 8 }, onDemand: true, expected: true },
    { why: 'the last one started under an interval ago', inProgress: undefined, lastComplete: { startedAt: '2026-03-10T11:30:00.000Z', userCount: 8 }, onDemand: false, expected: false },
    { why: 'the last one started an interval ago', inProgress: undefined, lastComplete: { startedAt: '2026-03-10T11:00:00.000Z', userCount: 8 }, onDemand: false, expected: true },
    { why: 'a large account waits longer', inProgress: undefined, lastComplete: { startedAt: '2026-03-10T10:00:00.000Z', userCount: 50_000 }, onDemand: false, expected: false },
  ])('$why', ({ inProgress, lastComplete, onDemand, expected }) => {
    expect(shouldStartRefresh({ now, policy, inProgress, lastComplete, onDemand })).toBe(expected);
  });
});

describe('pagesToAsk', () => {
  it.each([
    { why: 'one page while the account\'s size is unknown', cursor: { pages: 0, offset: 0, total: 0 }, expected: 1 },
    { why: 'a group of pages once the platform said how many users it holds', cursor: { pages: 1, offset: 50, total: 5000 }, expected: 10 },
    { why: 'no more than the pages left', cursor: { pages: 97, offset: 4850, total: 5000 }, expected: 3 },
    { why: 'a part page left counts as a page', cursor: { pages: 99, offset: 4950, total: 4960 }, expected: 1 },
    { why: 'one page to learn the end when the total is reached or shrank', cursor: { pages: 100, offset: 5000, total: 4900 }, expected: 1 },
  ])('$why', ({ cursor, expected }) => {
    expect(pagesToAsk(policy, cursor)).toBe(expected);
  });

  it('never asks fewer than one or more than pagesPerTurn', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 27 }), (pages, offset, total, perTurn) => {
        const n = pagesToAsk({ pageSize: 50, pagesPerTurn: perTurn }, { pages, offset, total });
        expect(n).toBeGreaterThanOrEqual(1);
        expect(n).toBeLessThanOrEqual(perTurn);
        if (pages > 0 && total > offset) expect(n).toBe(Math.min(perTurn, Math.ceil((total - offset) / 50)));
      }),
    );
  });
});
