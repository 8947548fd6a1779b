/**
 * The one import of zod for every schema of the desk (`import * as z from …/domain/validation`):
 * zod's mini build, whose functions tree-shake (a bundle carries the validators it uses, not
 * the whole library), with the English messages the classic build loads by itself. Import it as
 * a namespace and use its members directly: a namespace passed around as a value (or `z.core`,
 * `z.locales`) would pull all of zod back in.
 */
import { $ZodError, config, regexes } from 'zod/v4/core';
import en from 'zod/v4/locales/en.js';

config(en());

export * from 'zod/mini';
/** What a failed parse reports (`error instanceof ZodError`). */
export { $ZodError as ZodError };
/** zod's email pattern (the one its `z.email()` uses). */
export const EMAIL_PATTERN: RegExp = regexes.email;

/** A field that failed validation, in words a person reads (never the value itself). */
export interface FieldError {
  /** JSON pointer-ish path of the field, e.g. `email` or `botIds/2`. */
  field: string;
  message: string;
}
