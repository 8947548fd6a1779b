/**
 * Art. 12(3) GDPR deadlines: answer within one month of receipt; that period may be extended by
 * two further months once, with a reason given to the subject within the first month.
 *
 * All calendar arithmetic is in UTC, so a deadline does not move with the server's time zone.
 * Functions take a `Date` or an ISO string (what the request record stores).
 */
import { DomainError } from './errors';
import { isFinal } from './lifecycle';
import type { RequestStatus } from './model';

/** A point in time: a `Date`, or an ISO 8601 string as stored on the request. */
export type Instant = Date | string;

const DAY_MS = 86_400_000;

/** The months added to the receipt date for the ordinary deadline and for an extended one. */
export const DUE_MONTHS = 1;
export const EXTENDED_DUE_MONTHS = 3;

/** A deadline extension was refused; the subclass says why. Maps to HTTP 409/400. */
export class DeadlineExtensionError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeadlineExtensionError';
  }
}

/** An extension needs a reason: the subject must be told why (Art. 12(3)). */
export class ExtensionReasonRequiredError extends DeadlineExtensionError {
  constructor() {
    super('A deadline extension needs a reason');
    this.name = 'ExtensionReasonRequiredError';
  }
}

/** The deadline was already extended (or no longer is the ordinary one); it can be extended once. */
export class DeadlineAlreadyExtendedError extends DeadlineExtensionError {
  constructor() {
    super('The deadline has already been extended');
    this.name = 'DeadlineAlreadyExtendedError';
  }
}

/** The first month has run out: an extension must be decided while it is still running. */
export class ExtensionTooLateError extends DeadlineExtensionError {
  constructor() {
    super('The deadline can only be extended while the first month is still running');
    this.name = 'ExtensionTooLateError';
  }
}

function toDate(value: Instant, what: string): Date {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new RangeError(`${what} is not a valid point in time`);
  return date;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInUtcMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 1 && leap ? 29 : MONTH_DAYS[month]!;
}

/**
 * Adds whole calendar months in UTC, keeping the time of day. When the target month is shorter,
 * the day is clamped to its last day (31 Jan + 1 = 28/29 Feb, 31 Mar + 1 = 30 Apr), as the usual
 * reading of "one month" in Art. 12(3) (Regulation 1182/71, Art. 3(2)(c)) requires.
 * @throws RangeError when `months` is not an integer or the date is invalid.
 */
export function addCalendarMonths(date: Instant, months: number): Date {
  if (!Number.isInteger(months)) throw new RangeError('months must be an integer');
  const d = toDate(date, 'date');
  const monthIndex = d.getUTCFullYear() * 12 + d.getUTCMonth() + months;
  const year = Math.floor(monthIndex / 12);
  const month = monthIndex - year * 12;
  const day = Math.min(d.getUTCDate(), daysInUtcMonth(year, month));
  const result = new Date(0);
  result.setUTCFullYear(year, month, day);
  result.setUTCHours(d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
  return result;
}

/**
 * The ordinary deadline of a request: received + one calendar month (Art. 12(3)).
 * @throws RangeError when `receivedAt` is invalid.
 */
export function dueAtFor(receivedAt: Instant): Date {
  return addCalendarMonths(receivedAt, DUE_MONTHS);
}

/**
 * The extended deadline, received + three calendar months, after checking that the extension is
 * allowed: a reason is given, the deadline is still the ordinary one, and the first month is
 * still running (`now` up to and including the ordinary due date).
 * @throws ExtensionReasonRequiredError when `reason` is empty or blank.
 * @throws DeadlineAlreadyExtendedError when `currentDueAt` is not received + one month.
 * @throws ExtensionTooLateError when `now` is after the ordinary due date.
 * @throws RangeError when a date is invalid.
 */
export function extendDeadline(receivedAt: Instant, currentDueAt: Instant, now: Instant, reason: string): Date {
  if (reason.trim() === '') throw new ExtensionReasonRequiredError();
  const ordinaryDue = dueAtFor(receivedAt);
  if (toDate(currentDueAt, 'currentDueAt').getTime() !== ordinaryDue.getTime()) throw new DeadlineAlreadyExtendedError();
  if (toDate(now, 'now').getTime() > ordinaryDue.getTime()) throw new ExtensionTooLateError();
  return addCalendarMonths(receivedAt, EXTENDED_DUE_MONTHS);
}

/**
 * True when the request is past its deadline and has not ended for good (see `isFinal`): such
 * requests are listed for ops and auditors. Ended requests are never overdue, whenever they ended.
 * @throws RangeError when a date is invalid.
 */
export function isOverdue(dueAt: Instant, now: Instant, status: RequestStatus): boolean {
  if (isFinal(status)) return false;
  return toDate(now, 'now').getTime() > toDate(dueAt, 'dueAt').getTime();
}

/**
 * Whole days left until the deadline, rounded down: 0 means due within the next 24 hours,
 * a negative number means overdue (-1 within the first day past it).
 * @throws RangeError when a date is invalid.
 */
export function daysUntilDue(dueAt: Instant, now: Instant): number {
  return Math.floor((toDate(dueAt, 'dueAt').getTime() - toDate(now, 'now').getTime()) / DAY_MS);
}

/**
 * True when the deadline has not passed yet and falls within `days` days from `now` (inclusive):
 * the "due soon" list. Overdue requests are not "due within"; ask `isOverdue` for those.
 * @throws RangeError when a date is invalid or `days` is negative or not finite.
 */
export function isDueWithin(dueAt: Instant, now: Instant, days: number): boolean {
  if (!Number.isFinite(days) || days < 0) throw new RangeError('days must be a finite number ≥ 0');
  const left = toDate(dueAt, 'dueAt').getTime() - toDate(now, 'now').getTime();
  return left >= 0 && left <= days * DAY_MS;
}
