/** What every intake action needs (ports, limits, site) and the small helpers they share: ids, scopes, answers. */
import { DEFAULT_INTAKE_STALE_CLAIM_SECONDS, DEFAULT_VERIFICATION_RESEND_SECONDS } from '../domain/timings';
import { randomBytes } from 'node:crypto';
import type { Actor, AuditEvent, ErasureRequest, RequestStatus } from '../domain/model';
import type { AuditStore, BotCatalogue, Clock, Logger, Mailer, OpenRequestClaims, RateLimiter, Signer, SingleUseTokens, SnapshotReader, WorkflowStarter } from '../domain/ports';
import { type SubjectKeys } from '../domain/subject';
import { statusUrlFor, VERIFY_LINK_TTL_SECONDS } from './links';
import { DEFAULT_SITE, type SiteInfo } from './notices';

/** Limits of the intake; every one can be overridden in the deps. */
export interface IntakeLimits {
  /**
   * Mails a public submission may cause per mailbox (lower-cased, `+tag` removed), except those
   * about the address's own all-bots request, which are paced instead (see `mail-budget.ts`).
   */
  perMailbox: { limit: number; windowSeconds: number };
  /** Open requests limited to some bots, per address; a request for all bots never needs a slot. */
  openBotScopesPerAddress: number;
  /** Submissions per client: an IPv4 address, or an IPv6 /64 (see `client-address.ts`). */
  perClient: { limit: number; windowSeconds: number };
  /** A resubmission re-sends the verification email only when the last one is older than this. */
  resendAfterSeconds: number;
  /** A claim whose request is missing or still RECEIVED after this long is left over from a failure. */
  staleClaimSeconds: number;
}

export const DEFAULT_LIMITS: IntakeLimits = {
  // Room for a few genuine asks an hour (a request limited to some bots, a reminder of it, a
  // +tag address) while the mailbox's owner never depends on it: their all-bots request is paced.
  perMailbox: { limit: 4, windowSeconds: 3600 },
  // One bot-limited request can name 20 bots, so a person rarely needs a second one open; 3
  // leaves room for follow-ups while bounding what one address can hold open (each one a mail).
  openBotScopesPerAddress: 3,
  perClient: { limit: 30, windowSeconds: 600 },
  resendAfterSeconds: DEFAULT_VERIFICATION_RESEND_SECONDS,
  staleClaimSeconds: DEFAULT_INTAKE_STALE_CLAIM_SECONDS,
};

/** Everything the use cases need: ports and configuration. */
export interface IntakeDeps {
  store: AuditStore;
  claims: OpenRequestClaims;
  tokens: SingleUseTokens;
  rateLimiter: RateLimiter;
  mailer: Mailer;
  signer: Signer;
  /** The roles snapshot: eligibility lookups, and the account's bots (submitted bot ids must be among them). */
  snapshots: SnapshotReader & BotCatalogue;
  workflow: WorkflowStarter;
  clock: Clock;
  subjectKeys: SubjectKeys;
  /** ≥ 32 bytes; signs verification links, status tokens and CSRF tokens. */
  linkKey: Uint8Array;
  /** Where the public site is reached, without a trailing slash, e.g. `https://erase.example.com`. */
  publicBaseUrl: string;
  limits?: Partial<IntakeLimits>;
  site?: Partial<SiteInfo>;
  /** The log (the domain's port): gets ids, statuses and error names only. */
  logger: Logger;
  /** Paths of the other APIs (staff), merged into `GET /openapi.json`. */
  extraOpenApiPaths?: Record<string, unknown>;
}

/**
 * What a subject's submission answers, word for word the same whether it created a request or
 * found an open one: the answer must not tell whoever typed an address that the address has a
 * request, nor how far it got. The status link travels by email only.
 */
export type SubmissionResult = {
  message: string;
  /** How long the emailed confirmation link works. */
  linkValidMinutes: number;
};

/** What staff get for a request: its id, status and the status link to pass on. */
export type RequestReference = {
  requestId: string;
  status: RequestStatus;
  statusUrl: string;
};

export const INTAKE: Actor = 'system:intake';

/** A rejection's rule: one of the owner/co-developer rules, or the platform's own refusal. */
export type RejectionRule = NonNullable<ErasureRequest['rejection']>['rule'];

export function limitsOf(deps: Pick<IntakeDeps, 'limits'>): IntakeLimits {
  return { ...DEFAULT_LIMITS, ...deps.limits };
}

/** What the "check your email" page tells a subject: how long the link works, when to ask again. */
export function checkEmailFacts(deps: Pick<IntakeDeps, 'limits'>): { linkValidMinutes: number; resendAfterMinutes: number } {
  return { linkValidMinutes: VERIFY_LINK_TTL_SECONDS / 60, resendAfterMinutes: Math.ceil(limitsOf(deps).resendAfterSeconds / 60) };
}

export function siteOf(deps: Pick<IntakeDeps, 'site'>): SiteInfo {
  return { ...DEFAULT_SITE, ...deps.site };
}

export const errorName = (error: unknown) => (error instanceof Error ? error.name : typeof error);

/** `*` for all bots, else the sorted, unique bot ids joined by `,`. */
export function scopeKeyOf(botIds: readonly string[]): string {
  return botIds.length === 0 ? '*' : [...new Set(botIds)].sort().join(',');
}

/**
 * A new request id: a UUIDv7 (48-bit millisecond time, then randomness), so ids sort by time
 * and a left-over claim can tell how old its request id is.
 */
export function newRequestId(now: Date): string {
  const bytes = randomBytes(16);
  let ms = BigInt(now.getTime());
  for (let i = 5; i >= 0; i--) {
    bytes[i] = Number(ms & 0xffn);
    ms >>= 8n;
  }
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The creation time of a UUIDv7 request id, or undefined for ids of another form. */
export function requestIdTime(requestId: string): Date | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(requestId)) return undefined;
  return new Date(parseInt(requestId.replace(/-/g, '').slice(0, 12), 16));
}

/**
 * When the newest verification email of a request was sent (VERIFICATION_SENT, or a re-send
 * recorded as NOTICE_SENT kind `verification`): its link works until then + 30 minutes, so the
 * sweeper expires AWAITING_VERIFICATION requests only after that.
 */
export function lastVerificationMailAt(timeline: readonly AuditEvent[]): Date | undefined {
  for (let i = timeline.length - 1; i >= 0; i--) {
    const e = timeline[i]!;
    if (e.type === 'VERIFICATION_SENT' || (e.type === 'NOTICE_SENT' && e.details.kind === 'verification')) return new Date(e.at);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Problems

export async function answer(deps: IntakeDeps, requestId: string, status: RequestStatus, now: Date): Promise<RequestReference> {
  return { requestId, status, statusUrl: await statusUrlFor(deps.publicBaseUrl, deps.linkKey, requestId, now) };
}
