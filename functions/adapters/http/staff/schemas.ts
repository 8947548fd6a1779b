/**
 * Validation of the staff routes' query strings and bodies (zod): shared by the APIs and the
 * console so both accept exactly the same inputs.
 */
import { z } from 'zod';
import { REQUEST_STATUSES, type RequestStatus } from '../../../domain/model';
import { OPS_LISTS } from '../../../staff/ops';

/** Request ids are opaque, URL-safe tokens; anything else is not a request of ours. */
export const REQUEST_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** `failed`, `FAILED`, `timed-out`, `TIMED_OUT` all name TIMED_OUT / FAILED. */
export function parseStatus(value: string): RequestStatus | undefined {
  const upper = value.trim().toUpperCase().replace(/-/g, '_');
  return (REQUEST_STATUSES as readonly string[]).includes(upper) ? (upper as RequestStatus) : undefined;
}

const statusValue = z
  .string()
  .max(40)
  .transform((v, ctx) => {
    const s = parseStatus(v);
    if (!s) {
      ctx.addIssue({ code: 'custom', message: `must be one of ${REQUEST_STATUSES.join(', ')}` });
      return z.NEVER;
    }
    return s;
  });

/** One status, several repeated, or a comma-separated list; empty strings are ignored. */
export const statusesParam = z
  .union([z.string().max(400), z.array(z.string().max(40)).max(REQUEST_STATUSES.length * 2)])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s !== ''))
  .pipe(z.array(statusValue));

/**
 * An instant as an ISO date (`2026-01-31`) or date-time with zone, normalised to the stored
 * `toISOString()` form so string comparison is time comparison. A date-only `to` means the end of
 * that day.
 */
function instant(endOfDay: boolean) {
  return z
    .string()
    .max(40)
    .transform((v, ctx) => {
      const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(v);
      const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(v);
      const ms = dateOnly ? Date.parse(`${v}T00:00:00.000Z`) : withZone ? Date.parse(v) : Number.NaN;
      if (Number.isNaN(ms)) {
        ctx.addIssue({ code: 'custom', message: 'must be an ISO date or date-time with a time zone' });
        return z.NEVER;
      }
      return new Date(dateOnly && endOfDay ? ms + 86_400_000 - 1 : ms).toISOString();
    });
}

const bool = z.enum(['true', 'false', '1', '0', 'on']).transform((v) => v === 'true' || v === '1' || v === 'on');
const single = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (Array.isArray(v) ? v[0] : v), schema);
const blankToUndefined = (v: unknown) => (Array.isArray(v) ? v[0] : v) === '' ? undefined : Array.isArray(v) ? v[0] : v;

export const listQuerySchema = z
  .object({
    status: z.preprocess((v) => (v === '' ? undefined : v), statusesParam.optional()),
    from: z.preprocess(blankToUndefined, instant(false).optional()),
    to: z.preprocess(blankToUndefined, instant(true).optional()),
    subject: z.preprocess(blankToUndefined, z.string().min(1).max(320).optional()),
    overdue: single(bool.optional()),
    includeCanary: single(bool.optional()),
    order: single(z.enum(['asc', 'desc']).optional()),
    limit: single(z.coerce.number().int().min(1).max(500).optional()),
    cursor: z.preprocess(blankToUndefined, z.string().max(16384).optional()),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'from must not be after to', path: ['from'] });

export const exportQuerySchema = z
  .object({
    format: single(z.enum(['csv', 'json']).default('csv')),
    status: z.preprocess((v) => (v === '' ? undefined : v), statusesParam.optional()),
    from: z.preprocess(blankToUndefined, instant(false).optional()),
    to: z.preprocess(blankToUndefined, instant(true).optional()),
    includeCanary: single(bool.optional()),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'from must not be after to', path: ['from'] });

export const reportQuerySchema = z
  .object({
    from: z.preprocess(blankToUndefined, instant(false).optional()),
    to: z.preprocess(blankToUndefined, instant(true).optional()),
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'from must not be after to', path: ['from'] });

export const opsListQuerySchema = z.object({
  status: single(z.enum(OPS_LISTS)),
  limit: single(z.coerce.number().int().min(1).max(500).optional()),
  cursor: z.preprocess(blankToUndefined, z.string().max(16384).optional()),
});

const reasonText = z.string().trim().min(1, 'required').max(1000);

export const reasonBodySchema = z.object({ reason: single(reasonText) });

export const bulkRetrySchema = z
  .object({
    reason: reasonText,
    ids: z.array(z.string().regex(REQUEST_ID, 'not a request id')).min(1).max(100).optional(),
    status: z
      .union([z.enum(['FAILED', 'TIMED_OUT', 'failed', 'timed-out']), z.array(z.enum(['FAILED', 'TIMED_OUT', 'failed', 'timed-out'])).min(1).max(2)])
      .transform((v) => (Array.isArray(v) ? v : [v]).map((s) => parseStatus(s) as 'FAILED' | 'TIMED_OUT'))
      .optional(),
    limit: z.number().int().min(1).max(100).optional(),
  })
  .refine((b) => (b.ids === undefined) !== (b.status === undefined), { message: 'give either ids or status', path: ['ids'] });

export const refreshBodySchema = z.object({ reason: single(z.string().trim().max(1000).optional()) });
