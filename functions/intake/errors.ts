/**
 * Named errors of the intake's use cases; the public HTTP adapter turns them into answers
 * (`public-api-app.ts`). Each sets its `name` as a literal, so a minifier renaming classes
 * cannot change what callers match on. None carries an address.
 */
import { DomainError } from '../domain/errors';

/**
 * Bot ids that are not bots of the organisation (per the current roles snapshot). Answered 422
 * naming the `botIds` field: made-up ids must not open requests (each one a mail) in anyone's name.
 */
export class UnknownBotsError extends DomainError {
  constructor(readonly botIds: readonly string[]) {
    super('Some bot ids are not bots of this organisation');
    this.name = 'UnknownBotsError';
  }
}

/**
 * Named bots cannot be checked right now: no roles snapshot yet, one written before snapshots
 * carried the bot list, or one past its retention. Fail-safe: requests naming bots are refused
 * (503, try again) rather than accepted unchecked; requests for all bots go on as usual.
 */
export class BotListUnavailableError extends DomainError {
  constructor(options?: { cause?: unknown }) {
    super('The list of bots cannot be checked right now', options);
    this.name = 'BotListUnavailableError';
  }
}
