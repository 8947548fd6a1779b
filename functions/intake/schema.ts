/**
 * The one description of what a data subject (or staff on their behalf) may send: used to
 * validate JSON and form posts alike, to generate the OpenAPI entry, and to turn every problem
 * into a plain-language message naming the field.
 *
 * Strict on purpose: unknown fields are refused rather than ignored, strings have upper bounds,
 * and bot ids must be in Kore.ai's `st-<uuid>` format, so nothing unexpected reaches the store.
 */
import * as z from '../domain/validation';
import type { FieldError } from '../domain/validation';

/** Kore.ai bot ids: `st-` followed by a lower-case UUID. */
export const BOT_ID_PATTERN = /^st-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** RFC 5321: a forward path holds at most 254 characters, a local part at most 64. */
export const MAX_EMAIL_LENGTH = 254;
export const MAX_LOCAL_PART_LENGTH = 64;
export const MAX_BOT_IDS = 20;
export const MAX_ENTERPRISE_ID_LENGTH = 128;
/** Enterprise (org) user ids: letters, digits and a few separators; no spaces, quotes or markup. */
export const ENTERPRISE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@+\-]{0,127}$/;
/** Free text of staff (reason, identity check note): printable, newlines and tabs allowed, no other controls. */
const NO_CONTROL_CHARS = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;

const emailField = z
  .string({ error: (issue) => (issue.input === undefined ? 'Enter your email address.' : 'The email address must be text.') })
  .check(
    z.trim(),
    z.minLength(1, 'Enter your email address.'),
    z.maxLength(MAX_EMAIL_LENGTH, `The email address is too long: it can have at most ${MAX_EMAIL_LENGTH} characters.`),
    z.regex(z.EMAIL_PATTERN, 'Enter an email address in the form name@example.com.'),
    z.refine((email: string) => email.lastIndexOf('@') <= MAX_LOCAL_PART_LENGTH, 'The part of the email address before the @ is too long.'),
    z.meta({ format: 'email', description: 'The email address you use with the organisation’s bots.', examples: ['jane@example.com'] }),
  );

const botIdField = z
  .string({ error: 'Each bot id must be text.' })
  .check(z.regex(BOT_ID_PATTERN, 'A bot id looks like st-12345678-abcd-abcd-abcd-123456789abc (lower-case letters a–f and digits).'));

/** Sorted and de-duplicated, so the same set of bots always yields the same scope. */
const botIdsField = z
  .pipe(
    z.optional(
      z.array(botIdField, { error: 'The bot ids must be a list.' }).check(z.maxLength(MAX_BOT_IDS, `You can name at most ${MAX_BOT_IDS} bots; leave the list empty to erase from all bots.`)),
    ),
    z.transform((ids: string[] | undefined) => [...new Set(ids ?? [])].sort()),
  )
  .check(z.meta({ description: 'Only erase from these bots. Leave out (or empty) to erase from all bots of the organisation.' }));

/** A subject's own request, the same for JSON and form posts (the form's CSRF token is checked and removed before). */
export const submissionSchema = z.strictObject(
  {
    email: emailField,
    botIds: botIdsField,
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'The request must be an object with an email field.' : undefined) },
);
export type Submission = z.output<typeof submissionSchema>;

/** The form adds its CSRF token; only the form encoding may carry it. */
export const formSubmissionSchema = z.extend(submissionSchema, {
  csrf: z.string().check(z.maxLength(512), z.meta({ description: 'Anti-CSRF token of the form (form encoding only).' })),
});

const subjectIdField = z.string({ error: 'The subject id must be text.' }).check(
  z.trim(),
  z.minLength(1, 'Enter the subject’s email address or enterprise id.'),
  z.maxLength(MAX_EMAIL_LENGTH, `The subject id is too long: it can have at most ${MAX_EMAIL_LENGTH} characters.`),
  z.superRefine((id: string, ctx) => {
    if (id.includes('@')) {
      if (!z.EMAIL_PATTERN.test(id) || id.lastIndexOf('@') > MAX_LOCAL_PART_LENGTH) {
        ctx.addIssue({ code: 'custom', message: 'This looks like an email address but is not a valid one.' });
      }
    } else if (id.length > MAX_ENTERPRISE_ID_LENGTH || !ENTERPRISE_ID_PATTERN.test(id)) {
      ctx.addIssue({
        code: 'custom',
        message: `An enterprise id has at most ${MAX_ENTERPRISE_ID_LENGTH} characters: letters, digits and . _ : @ + - (starting with a letter or digit).`,
      });
    }
  }),
  z.meta({ description: 'The subject’s email address, or their enterprise (org) user id at Kore.ai.' }),
);

const staffText = (what: string, min: number, max: number, description: string) =>
  z
    .string({ error: `The ${what} must be text.` })
    .check(
      z.trim(),
      z.minLength(min, `The ${what} needs at least ${min} characters.`),
      z.maxLength(max, `The ${what} can have at most ${max} characters.`),
      z.regex(NO_CONTROL_CHARS, `The ${what} contains control characters.`),
      z.meta({ description }),
    );

/** Staff submitting a request received by letter or phone (`POST /ops/requests`, role ops). */
export const onBehalfSchema = z.strictObject(
  {
    subjectId: subjectIdField,
    botIds: botIdsField,
    reason: staffText('reason', 10, 500, 'Why staff submit this request (e.g. "letter of 3 May, ref 12").'),
    identityCheckedBy: staffText('identity check note', 3, 200, 'How the subject’s identity was checked, e.g. "ID document seen at the front desk".'),
  },
  { error: (issue) => (issue.code === 'invalid_type' ? 'The request must be an object.' : undefined) },
);
export type OnBehalfSubmission = z.output<typeof onBehalfSchema>;

/**
 * What a successful submission answers (JSON): the same words for a new request and for an open
 * one found, so the answer says nothing about the address; the links go by email.
 */
export const submissionAcceptedSchema = z
  .object({
    message: z.string().check(z.meta({ description: 'What happens next: a confirmation link, or the open request’s status link, is emailed to the address.' })),
    linkValidMinutes: z.int().check(z.meta({ description: 'How long the emailed confirmation link works.' })),
  })
  .check(z.meta({ id: 'SubmissionAccepted' }));

/** Keys that could reach an object's prototype when assigned; refused in every encoding. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const MAX_FIELD_ERRORS = 20;
const MAX_KEY_SHOWN = 64;

function shown(key: string): string {
  return key.length > MAX_KEY_SHOWN ? `${key.slice(0, MAX_KEY_SHOWN)}…` : key;
}

/**
 * Zod issues as `FieldError[]`: one plain-language message per field (the first problem found),
 * unknown fields named one by one, at most 20 errors. Paths are `a/b/0`; the root is `''`.
 */
export function toFieldErrors(error: z.ZodError): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  const add = (field: string, message: string) => {
    if (seen.has(field) || out.length >= MAX_FIELD_ERRORS) return;
    seen.add(field);
    out.push({ field, message });
  };
  for (const issue of error.issues) {
    const path = issue.path.map(String).join('/');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) add(path ? `${path}/${shown(key)}` : shown(key), 'This field is not expected here; remove it.');
    } else {
      add(path, issue.message);
    }
  }
  return out;
}

/** A validation outcome: the value, or the field errors to show. */
export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** Validates a subject's submission (JSON body or normalised form fields without `csrf`). */
export function validateSubmission(input: unknown): Validated<Submission> {
  const result = submissionSchema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, errors: toFieldErrors(result.error) };
}

/** Validates a staff submission on a subject's behalf. */
export function validateOnBehalf(input: unknown): Validated<OnBehalfSubmission> {
  const result = onBehalfSchema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, errors: toFieldErrors(result.error) };
}

/**
 * The bot ids of a form: repeated `botIds` fields and/or one textarea with ids separated by
 * commas, spaces or newlines. Blank entries are dropped; validation of each id is the schema's.
 */
export function splitBotIds(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(/[\s,]+/)).filter((v) => v !== '');
}

/**
 * Turns decoded form fields into the object the schema validates: `email` must occur once,
 * `botIds` may be repeated or a textarea, anything else is passed on so that the strict schema
 * names it. The caller removes `csrf` first.
 */
export function formFieldsToInput(fields: ReadonlyMap<string, readonly string[]>): { input: Record<string, unknown>; errors: FieldError[] } {
  const input: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const [name, values] of fields) {
    if (FORBIDDEN_KEYS.has(name)) {
      errors.push({ field: name, message: 'This field name is not allowed.' });
    } else if (name === 'botIds' || name === 'botIds[]') {
      input.botIds = [...((input.botIds as string[] | undefined) ?? []), ...splitBotIds(values)];
    } else if (values.length > 1) {
      errors.push({ field: shown(name), message: 'This field was sent more than once.' });
    } else {
      input[name] = values[0];
    }
  }
  return { input, errors };
}
