import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DeadlineAlreadyExtendedError,
  DeadlineExtensionError,
  ExtensionReasonRequiredError,
  ExtensionTooLateError,
  addCalendarMonths,
  daysUntilDue,
  dueAtFor,
  extendDeadline,
  isDueWithin,
  isOverdue,
} from '../../../functions/domain/deadlines';
import { FINAL_STATUSES } from '../../../functions/domain/lifecycle';
import { REQUEST_STATUSES } from '../../../functions/domain/model';

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('addCalendarMonths', () => {
  it.each([
    { from: '2025-01-31T10:15:00.000Z', months: 1, to: '2025-02-28T10:15:00.000Z', why: '31 Jan → last day of Feb in a common year' },
    { from: '2024-01-31T10:15:00.000Z', months: 1, to: '2024-02-29T10:15:00.000Z', why: '31 Jan → 29 Feb in a leap year' },
    { from: '2025-01-30T08:00:00.000Z', months: 1, to: '2025-02-28T08:00:00.000Z', why: '30 Jan → 28 Feb' },
    { from: '2024-01-30T08:00:00.000Z', months: 1, to: '2024-02-29T08:00:00.000Z', why: '30 Jan → 29 Feb in a leap year' },
    { from: '2025-01-28T08:00:00.000Z', months: 1, to: '2025-02-28T08:00:00.000Z', why: '28 Jan → 28 Feb' },
    { from: '2025-02-28T23:59:59.999Z', months: 1, to: '2025-03-28T23:59:59.999Z', why: '28 Feb → 28 Mar, not the end of March' },
    { from: '2024-02-29T12:00:00.000Z', months: 1, to: '2024-03-29T12:00:00.000Z', why: 'leap day → 29 Mar' },
    { from: '2025-03-31T00:00:00.000Z', months: 1, to: '2025-04-30T00:00:00.000Z', why: '31 Mar → 30 Apr' },
    { from: '2025-12-31T06:30:00.000Z', months: 1, to: '2026-01-31T06:30:00.000Z', why: '31 Dec → 31 Jan of the next year' },
    { from: '2024-11-30T09:00:00.000Z', months: 3, to: '2025-02-28T09:00:00.000Z', why: '30 Nov + 3 → 28 Feb' },
    { from: '2023-11-30T09:00:00.000Z', months: 3, to: '2024-02-29T09:00:00.000Z', why: '30 Nov + 3 → 29 Feb in a leap year' },
    { from: '2025-05-15T09:00:00.000Z', months: 0, to: '2025-05-15T09:00:00.000Z', why: 'zero months is the same instant' },
    { from: '2025-03-31T09:00:00.000Z', months: -1, to: '2025-02-28T09:00:00.000Z', why: 'negative months clamp too' },
    { from: '2100-01-31T09:00:00.000Z', months: 1, to: '2100-02-28T09:00:00.000Z', why: '2100 is not a leap year' },
    { from: '2000-01-31T09:00:00.000Z', months: 1, to: '2000-02-29T09:00:00.000Z', why: '2000 is a leap year' },
  ])('$why', ({ from, months, to }) => {
    expect(addCalendarMonths(at(from), months).toISOString()).toBe(to);
  });

  it('accepts an ISO string as well as a Date', () => {
    expect(addCalendarMonths('2025-01-31T10:15:00.000Z', 1).toISOString()).toBe('2025-02-28T10:15:00.000Z');
  });

  it('does not change the date it is given', () => {
    const date = at('2025-01-31T10:15:00.000Z');
    addCalendarMonths(date, 1);
    expect(date.toISOString()).toBe('2025-01-31T10:15:00.000Z');
  });

  it.each([{ months: 1.5 }, { months: NaN }])('refuses a fractional or non-numeric month count ($months)', ({ months }) => {
    expect(() => addCalendarMonths(at('2025-01-01T00:00:00Z'), months)).toThrow(RangeError);
  });

  it('refuses an invalid date', () => {
    expect(() => addCalendarMonths('not a date', 1)).toThrow(RangeError);
  });

  it('always lands in the target month, on the same day or the last day of that month, at the same time of day', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2200-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.integer({ min: -36, max: 36 }),
        (date, months) => {
          const result = addCalendarMonths(date, months);
          const monthIndex = (d: Date) => d.getUTCFullYear() * 12 + d.getUTCMonth();
          expect(monthIndex(result)).toBe(monthIndex(date) + months);
          const lastDay = new Date(Date.UTC(result.getUTCFullYear(), result.getUTCMonth() + 1, 0)).getUTCDate();
          expect(result.getUTCDate()).toBe(Math.min(date.getUTCDate(), lastDay));
          const timeOfDay = (d: Date) => [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()];
          expect(timeOfDay(result)).toEqual(timeOfDay(date));
        },
      ),
    );
  });
});

describe('dueAtFor', () => {
  it('is one calendar month after receipt (Art. 12(3))', () => {
    expect(dueAtFor(at('2025-01-31T10:15:00.000Z')).toISOString()).toBe('2025-02-28T10:15:00.000Z');
    expect(dueAtFor(at('2025-06-10T10:15:00.000Z')).toISOString()).toBe('2025-07-10T10:15:00.000Z');
  });
});

describe('extendDeadline', () => {
  const receivedAt = '2025-01-31T10:00:00.000Z';
  const ordinaryDue = '2025-02-28T10:00:00.000Z';

  it('moves the deadline to three calendar months after receipt', () => {
    expect(extendDeadline(receivedAt, ordinaryDue, at('2025-02-10T00:00:00Z'), 'Many systems to search').toISOString()).toBe(
      '2025-04-30T10:00:00.000Z',
    );
  });

  it('is still allowed at the very moment the first month ends', () => {
    expect(extendDeadline(receivedAt, ordinaryDue, at(ordinaryDue), 'Complex request').toISOString()).toBe('2025-04-30T10:00:00.000Z');
  });

  it('clamps the extended deadline to the end of a short month', () => {
    expect(extendDeadline('2024-11-30T09:00:00Z', '2024-12-30T09:00:00Z', at('2024-12-01T00:00:00Z'), 'Backlog').toISOString()).toBe(
      '2025-02-28T09:00:00.000Z',
    );
  });

  it.each([{ reason: '' }, { reason: '   ' }, { reason: '\n\t' }])('needs a reason (refuses $reason)', ({ reason }) => {
    expect(() => extendDeadline(receivedAt, ordinaryDue, at('2025-02-10T00:00:00Z'), reason)).toThrow(ExtensionReasonRequiredError);
  });

  it('can be done only once', () => {
    const extended = extendDeadline(receivedAt, ordinaryDue, at('2025-02-10T00:00:00Z'), 'Complex request');
    expect(() => extendDeadline(receivedAt, extended, at('2025-02-11T00:00:00Z'), 'Again')).toThrow(DeadlineAlreadyExtendedError);
  });

  it('refuses when the current deadline is not the ordinary one', () => {
    expect(() => extendDeadline(receivedAt, '2025-03-01T10:00:00.000Z', at('2025-02-10T00:00:00Z'), 'Complex')).toThrow(
      DeadlineAlreadyExtendedError,
    );
  });

  it('is refused once the first month has run out', () => {
    const late = new Date(at(ordinaryDue).getTime() + 1);
    expect(() => extendDeadline(receivedAt, ordinaryDue, late, 'Too late')).toThrow(ExtensionTooLateError);
  });

  it('throws named errors that share one base class', () => {
    let thrown: unknown;
    try {
      extendDeadline(receivedAt, ordinaryDue, at('2026-01-01T00:00:00Z'), 'late');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DeadlineExtensionError);
    expect(thrown).toMatchObject({ name: 'ExtensionTooLateError' });
  });
});

describe('isOverdue', () => {
  const dueAt = at('2025-02-28T10:00:00.000Z');
  const after = at('2025-02-28T10:00:00.001Z');
  const open = REQUEST_STATUSES.filter((s) => !FINAL_STATUSES.includes(s));

  it.each(open.map((status) => ({ status })))('is true for $status once the deadline has passed', ({ status }) => {
    expect(isOverdue(dueAt, after, status)).toBe(true);
  });

  it.each(open.map((status) => ({ status })))('is false for $status up to and including the deadline', ({ status }) => {
    expect(isOverdue(dueAt, dueAt, status)).toBe(false);
    expect(isOverdue(dueAt, at('2025-02-01T00:00:00Z'), status)).toBe(false);
  });

  it.each(FINAL_STATUSES.map((status) => ({ status })))('is never true for the final status $status', ({ status }) => {
    expect(isOverdue(dueAt, at('2030-01-01T00:00:00Z'), status)).toBe(false);
  });
});

describe('daysUntilDue and isDueWithin', () => {
  const dueAt = at('2025-02-28T10:00:00.000Z');
  const before = (ms: number) => new Date(dueAt.getTime() - ms);

  it.each([
    { now: before(10 * DAY), days: 10 },
    { now: before(10 * DAY - 1), days: 9 },
    { now: before(HOUR), days: 0 },
    { now: dueAt, days: 0 },
    { now: before(-HOUR), days: -1 },
    { now: before(-3 * DAY), days: -3 },
  ])('counts whole days left, rounded down ($days)', ({ now, days }) => {
    expect(daysUntilDue(dueAt, now)).toBe(days);
  });

  it.each([
    { now: before(7 * DAY), within: 7, expected: true },
    { now: before(7 * DAY + 1), within: 7, expected: false },
    { now: before(HOUR), within: 0, expected: false },
    { now: dueAt, within: 0, expected: true },
    { now: before(2 * DAY), within: 3, expected: true },
    { now: before(-1), within: 3, expected: false },
  ])('says whether a not yet overdue deadline falls within $within days ($expected)', ({ now, within, expected }) => {
    expect(isDueWithin(dueAt, now, within)).toBe(expected);
  });

  it('refuses a negative window', () => {
    expect(() => isDueWithin(dueAt, dueAt, -1)).toThrow(RangeError);
  });
});
