/**
 * The words of the domain: a request to erase one data subject's data at Kore.ai,
 * its attempts, and the audit events that record every step.
 *
 * Pure types, no AWS. Everything else (store, workflow, HTTP) speaks these.
 */

/** Every status a request can be in; see `lifecycle.ts` for the legal moves between them. */
export const REQUEST_STATUSES = [
  'RECEIVED',
  'AWAITING_VERIFICATION',
  'VERIFIED',
  'REJECTED',
  'QUEUED',
  'SUBMITTED',
  'IN_PROGRESS',
  'COMPLETED',
  'FAILED',
  'TIMED_OUT',
  'CANCELLED',
  'EXPIRED',
] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** The owner/co-developer rules of the Kore.ai platform that forbid an erasure. */
export const ELIGIBILITY_RULES = ['ACCOUNT_OWNER', 'ACCOUNT_MEMBER', 'BOT_OWNER', 'BOT_CO_DEVELOPER'] as const;
export type EligibilityRule = (typeof ELIGIBILITY_RULES)[number];

/** How the subject is known at Kore.ai: an email address, or an enterprise (org) user id. */
export type SubjectKind = 'email' | 'enterpriseId';

/** Where a request came from. Canary requests are synthetic and kept out of reports. */
export type RequestChannel = 'web' | 'ops' | 'canary';

/** Who did something: the subject, the system (a component) or a staff member (`staff:<sub>`). */
export type Actor = 'subject' | `system:${string}` | `staff:${string}`;

/** Which bots to erase from: all bots of the account, or a list of bot ids (`st-…`). */
export interface ErasureScope {
  /** Empty means all bots (`RemoveDataFromAllBots: true`). Sorted, de-duplicated. */
  botIds: string[];
}

/**
 * The current state of a request: the `META` item, a projection of its event chain
 * (denormalised for listing). The event chain is the source of truth.
 */
export interface ErasureRequest {
  requestId: string;
  status: RequestStatus;
  channel: RequestChannel;
  /** HMAC-SHA256 (hex) of the normalised subject id: lookup and duplicate detection without the plain id. */
  subjectHash: string;
  subjectKind: SubjectKind;
  scope: ErasureScope;
  /** `*` for all bots, else the sorted bot ids joined by `,`: the idempotency key together with the subject. */
  scopeKey: string;
  receivedAt: string;
  /** Art. 12(3): received + one calendar month, or + three months once extended. */
  dueAt: string;
  extended?: { at: string; reason: string; by: Actor };
  /** Current attempt number; 0 until first queued, +1 at each (re)queue. */
  attempt: number;
  /** Kore.ai's `requestId` for the current attempt, once the DELETE was accepted. */
  koreRequestId?: string;
  /**
   * Set when REJECTED: the rule and the bots involved. When the platform itself refused the DELETE
   * it does not say which rule applied: `PLATFORM_RULES` then.
   */
  rejection?: { rule: EligibilityRule | 'PLATFORM_RULES'; botIds: string[]; source: 'snapshot' | 'platform' };
  /** Short machine-readable reason of the last failure (error name), never personal data. */
  failureReason?: string;
  /**
   * Set while the current attempt needs a person to look at it though it goes on (e.g.
   * `UNKNOWN_KORE_STATUS`: the platform answered a per-user status word the desk does not know);
   * a short machine-readable reason, never personal data. Listed by the ops list `needs-review`.
   */
  needsReview?: string;
  completedAt?: string;
  /**
   * Set once a completed erasure is chosen for read-back (functions/domain/verification.ts): the
   * read-back's stage and, once it stands, its outcome. No personal data.
   */
  verification?: import('./verification').Verification;
  updatedAt: string;
  /** Sequence number and hash of the newest event applied to this projection. */
  lastSeq: number;
  lastHash: string;
  /** The plain subject id, encrypted; present only while the request is open. */
  subjectCipher?: string;
}

/** JSON values, the only things allowed in event details (they are hashed as canonical JSON). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The kinds of audit event. Transitions are named in `lifecycle.ts`; the rest record steps. */
export const AUDIT_EVENT_TYPES = [
  'REQUEST_RECEIVED',
  'VERIFICATION_SENT',
  'IDENTITY_VERIFIED',
  'REQUEST_REJECTED',
  'ERASURE_QUEUED',
  'EXECUTION_STARTED',
  'ERASURE_SUBMITTING',
  'ERASURE_CALL_FAILED',
  'ERASURE_SUBMITTED',
  'STATUS_CHECKED',
  'ERASURE_COMPLETED',
  'ERASURE_FAILED',
  'ERASURE_TIMED_OUT',
  'REQUEST_CANCELLED',
  'REQUEST_EXPIRED',
  'RETRY_REQUESTED',
  'RECHECK_REQUESTED',
  'ELIGIBILITY_CHECKED',
  'DEADLINE_EXTENDED',
  'NOTICE_SENT',
  'SUBJECT_ID_DROPPED',
  'STATUS_LINKS_REVOKED',
  'VERIFICATION_REQUESTED',
  'VERIFICATION_RECHECK',
  'ERASURE_VERIFIED',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** What a caller supplies to append an event; the store adds `seq`, `prevHash` and `hash`. */
export interface AuditEventInput {
  type: AuditEventType;
  at: string;
  actor: Actor;
  attempt: number;
  /** Status of the request after this event (unchanged for non-transition events). */
  status: RequestStatus;
  details: { [key: string]: JsonValue };
}

/** One link of a request's tamper-evident chain. */
export interface AuditEvent extends AuditEventInput {
  requestId: string;
  seq: number;
  /** Hash of the previous event, or the genesis hash for seq 1. */
  prevHash: string;
  /** sha256(prevHash ‖ canonical JSON of the event without prevHash/hash), hex. */
  hash: string;
}

/**
 * What the platform's user-roles data says about one identity, keyed by the HMAC of its
 * normalised id (an identity is indexed under its email and under its enterprise id).
 * Only privileged identities are kept: everyone listed in user-roles belongs to the account.
 */
export interface PrivilegedIdentity {
  subjectHash: string;
  accountOwner: boolean;
  /** Listed in the account's user-roles: the platform refuses to erase account members. */
  accountMember: boolean;
  /** Bots this identity owns (`Bot Owner`). */
  ownedBotIds: string[];
  /** Bots this identity co-develops (`Bot Developer`). */
  coDeveloperBotIds: string[];
}

/** Identification of a privileged-identity snapshot: when it was taken and how large the account was. */
export interface SnapshotInfo {
  version: string;
  takenAt: string;
  userCount: number;
  identityCount: number;
  /**
   * How many bots the account has (every bot that appears in anyone's bot roles). Absent on
   * snapshots written before the snapshot carried its bot list: the intake then cannot tell
   * known bots from made-up ids and refuses named bots until the next refresh.
   */
  botCount?: number;
}

/** The outcome of the owner/co-developer rules for one subject. */
export type EligibilityDecision =
  | { eligible: true; snapshot: SnapshotInfo; snapshotAgeSeconds: number }
  | {
      eligible: false;
      /** The most specific rule that applies (owner before co-developer before member). */
      rule: EligibilityRule;
      /** Every rule that applies. */
      rules: EligibilityRule[];
      /** The bots involved (owned and co-developed), sorted. */
      botIds: string[];
      snapshot: SnapshotInfo;
      snapshotAgeSeconds: number;
    };
