/**
 * Validation of the staff routes' query strings and bodies (zod): shared by the APIs and the
 * console so both accept exactly the same inputs.
 */
import * as z from '../../../domain/validation';
import { REQUEST_STATUSES, type RequestStatus } from '../../../domain/model';
import { OPS_LISTS } from '../../../staff/ops-deps';

/** Request ids are opaque, URL-safe tokens; anything else is not a request of ours. */
export const REQUEST_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** `failed`, `FAILED`, `timed-out`, `TIMED_OUT` all name TIMED_OUT / FAILED. */
export function parseStatus(value: string): RequestStatus | undefined {
  const upper = value.trim().toUpperCase().replace(/-/g, '_');
  return (REQUEST_STATUSES as readonly string[]).includes(upper) ? (upper as RequestStatus) : undefined;
}

const statusValue = z.pipe(
  z.string().check(
    z.maxLength(40),
    z.refine((v: string) => parseStatus(v) !== undefined, `must be one of ${REQUEST_STATUSES.join(', ')}`),
  ),
  z.transform((v: string) => parseStatus(v)!),
);

/** One status, several repeated, or a comma-separated list; empty strings are ignored. */
export const statusesParam = z.pipe(
  z.pipe(
    z.union([z.string().check(z.maxLength(400)), z.array(z.string().check(z.maxLength(40))).check(z.maxLength(REQUEST_STATUSES.length * 2))]),
    z.transform((v: string | string[]) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s !== '')),
  ),
  z.array(statusValue),
);

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

function instantMs(v: string): number {
  return DATE_ONLY.test(v) ? Date.parse(`${v}T00:00:00.000Z`) : WITH_ZONE.test(v) ? Date.parse(v) : Number.NaN;
}

/**
 * An instant as an ISO date (`2026-01-31`) or date-time with zone, normalised to the stored
 * `toISOString()` form so string comparison is time comparison. A date-only `to` means the end of
 * that day.
 */
function instant(endOfDay: boolean) {
  return z.pipe(
    z.string().check(
      z.maxLength(40),
      z.refine((v: string) => !Number.isNaN(instantMs(v)), 'must be an ISO date or date-time with a time zone'),
    ),
    z.transform((v: string) => new Date(DATE_ONLY.test(v) && endOfDay ? instantMs(v) + 86_400_000 - 1 : instantMs(v)).toISOString()),
  );
}

/** zod's preprocess: `fn` runs on the raw input before `schema`. */
const preprocess = <T extends z.ZodMiniType>(fn: (v: unknown) => unknown, schema: T) => z.pipe(z.transform(fn), schema);

const bool = z.pipe(
  z.enum(['true', 'false', '1', '0', 'on']),
  z.transform((v) => v === 'true' || v === '1' || v === 'on'),
);
const single = <T extends z.ZodMiniType>(schema: T) => preprocess((v) => (Array.isArray(v) ? v[0] : v), schema);
const blankToUndefined = (v: unknown) => ((Array.isArray(v) ? v[0] : v) === '' ? undefined : Array.isArray(v) ? v[0] : v);
const emptyToUndefined = (v: unknown) => (v === '' ? undefined : v);
const limitParam = z.optional(z.coerce.number().check(z.int(), z.gte(1), z.lte(500)));
const fromBeforeTo = z.refine<{ from?: string | undefined; to?: string | undefined }>((q) => !q.from || !q.to || q.from <= q.to, { message: 'from must not be after to', path: ['from'] });

export const listQuerySchema = z
  .object({
    status: preprocess(emptyToUndefined, z.optional(statusesParam)),
    from: preprocess(blankToUndefined, z.optional(instant(false))),
    to: preprocess(blankToUndefined, z.optional(instant(true))),
    subject: preprocess(blankToUndefined, z.optional(z.string().check(z.minLength(1), z.maxLength(320)))),
    overdue: single(z.optional(bool)),
    includeCanary: single(z.optional(bool)),
    order: single(z.optional(z.enum(['asc', 'desc']))),
    limit: single(limitParam),
    cursor: preprocess(blankToUndefined, z.optional(z.string().check(z.maxLength(16384)))),
  })
  .check(fromBeforeTo);

export const exportQuerySchema = z
  .object({
    format: single(z._default(z.enum(['csv', 'json']), 'csv')),
    status: preprocess(emptyToUndefined, z.optional(statusesParam)),
    from: preprocess(blankToUndefined, z.optional(instant(false))),
    to: preprocess(blankToUndefined, z.optional(instant(true))),
    includeCanary: single(z.optional(bool)),
  })
  .check(fromBeforeTo);

export const reportQuerySchema = z
  .object({
    from: preprocess(blankToUndefined, z.optional(instant(false))),
    to: preprocess(blankToUndefined, z.optional(instant(true))),
  })
  .check(fromBeforeTo);

export const opsListQuerySchema = z.object({
  status: single(z.enum(OPS_LISTS)),
  limit: single(limitParam),
  cursor: preprocess(blankToUndefined, z.optional(z.string().check(z.maxLength(16384)))),
});

const reasonText = z.string().check(z.trim(), z.minLength(1, 'required'), z.maxLength(1000));

export const reasonBodySchema = z.object({ reason: single(reasonText) });

const RETRY_STATUS = z.enum(['FAILED', 'TIMED_OUT', 'failed', 'timed-out']);

export const bulkRetrySchema = z
  .object({
    reason: reasonText,
    ids: z.optional(z.array(z.string().check(z.regex(REQUEST_ID, 'not a request id'))).check(z.minLength(1), z.maxLength(100))),
    status: z.optional(
      z.pipe(
        z.union([RETRY_STATUS, z.array(RETRY_STATUS).check(z.minLength(1), z.maxLength(2))]),
        z.transform((v) => (Array.isArray(v) ? v : [v]).map((s) => parseStatus(s) as 'FAILED' | 'TIMED_OUT')),
      ),
    ),
    limit: z.optional(z.int().check(z.gte(1), z.lte(100))),
  })
  .check(z.refine((b: { ids?: unknown; status?: unknown }) => (b.ids === undefined) !== (b.status === undefined), { message: 'give either ids or status', path: ['ids'] }));

export const refreshBodySchema = z.object({ reason: single(z.optional(z.string().check(z.trim(), z.maxLength(1000)))) });
