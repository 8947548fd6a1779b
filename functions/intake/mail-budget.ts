/**
 * How many mails a public submission may make the desk send into one mailbox.
 *
 * Anyone can type anyone's address, so every mail the intake sends before the address is
 * verified is a mail a stranger may have asked for. Two rules bound them, and neither can be
 * turned against the mailbox's owner:
 *
 * - **The address's own all-bots request is paced, never counted.** A subject has at most one
 *   open request per scope, and its mails (the link, then a reminder when asked again) are at
 *   least `resendAfterSeconds` apart, while each link works for 30 minutes. So whoever asks,
 *   however often, the owner who asks for "all bots" either gets a mail now or already holds a
 *   link that still works: there is no budget to use up.
 * - **Everything else shares one budget per mailbox** (`perMailbox`, 4 an hour): requests limited
 *   to some bots, and every `+tag` variant of the address. Plus-address and case variants
 *   (`victim+1@…`, `VICTIM@…`) reach one mailbox, so they count as one.
 *
 * The mailbox is only the *budget key*: the address is stored and erased as typed (lower-cased,
 * see `normaliseSubjectId`), because `victim+1@example.com` may be a different user at Kore.ai.
 * Only `+` tags and case are folded; provider-specific aliases (dots at some providers, other
 * separators) are not, and are listed in docs/SECURITY.md.
 */

/**
 * The mailbox an address delivers to: Unicode NFC, trimmed, lower-cased, and the local part cut
 * at its first `+` (unless nothing would be left of it). Idempotent.
 */
export function mailboxOf(address: string): string {
  const lower = address.normalize('NFC').trim().toLowerCase().normalize('NFC');
  const at = lower.lastIndexOf('@');
  if (at <= 0) return lower;
  const local = lower.slice(0, at);
  const plus = local.indexOf('+');
  return plus > 0 ? `${local.slice(0, plus)}${lower.slice(at)}` : lower;
}

/** Which budget a mail about an unverified request (or a reminder of an open one) draws on. */
export type MailBudget =
  /** The address's own request for all bots: paced by the resend interval, never refused. */
  | { kind: 'paced' }
  /** Everything else: the mailbox's shared hourly budget. */
  | { kind: 'mailbox'; mailbox: string };

/**
 * The budget of a mail to `address` about a request of scope `scopeKey` (`*` = all bots).
 * `address` is the request's stored address (already normalised by `normaliseSubjectId`).
 */
export function mailBudgetOf(address: string, scopeKey: string): MailBudget {
  const mailbox = mailboxOf(address);
  const own = mailbox === address.normalize('NFC').trim().toLowerCase().normalize('NFC');
  return own && scopeKey === '*' ? { kind: 'paced' } : { kind: 'mailbox', mailbox };
}
