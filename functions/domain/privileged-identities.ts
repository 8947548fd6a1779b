/**
 * From the platform's user-roles data to the privileged identities the eligibility rules need.
 *
 * The platform refuses to erase an account owner, a user who belongs to the account (everyone
 * listed in user-roles does), the owner of any bot (`Bot Owner`) and a co-developer of any bot
 * (`Bot Developer`). Each user is indexed under the HMAC of every id a subject could name them
 * by, so a lookup is one map access whatever the subject typed.
 */
import type { KoreRoleUser } from './kore';
import type { PrivilegedIdentity } from './model';
import { detectSubjectKind, normaliseSubjectId } from './subject';

/** Turns a normalised subject id into its lookup key (in practice `hashSubject` with the HMAC key). */
export type SubjectHasher = (normalisedId: string) => string;

/** Admin roles that make a user the owner of the account (compared case-insensitively). */
export const ACCOUNT_OWNER_ROLES: readonly string[] = ['account owner', 'master admin', 'primary master admin'];
/** The bot role of the owner of a bot. */
export const BOT_OWNER_ROLE = 'bot owner';
/** The bot role of a co-developer of a bot. */
export const BOT_DEVELOPER_ROLE = 'bot developer';

const roleKey = (roleName: string | undefined) => (roleName ?? '').trim().toLowerCase();

interface Roles {
  accountOwner: boolean;
  owned: Set<string>;
  coDeveloped: Set<string>;
}

function rolesOf(user: KoreRoleUser): Roles {
  // An admin role the client could not read counts as ownership: the strictest rule, never a gap.
  const accountOwner = (user.adminRoles ?? []).some((r) => r.unrecognised === true || ACCOUNT_OWNER_ROLES.includes(roleKey(r.roleName)));
  const owned = new Set<string>();
  const coDeveloped = new Set<string>();
  for (const role of user.btRoles ?? []) {
    if (!role.botId) continue;
    const name = roleKey(role.roleName);
    if (name === BOT_OWNER_ROLE) owned.add(role.botId);
    else if (name === BOT_DEVELOPER_ROLE) coDeveloped.add(role.botId);
  }
  return { accountOwner, owned, coDeveloped };
}

/**
 * Every normalised id a subject could name this user by, without duplicates: the email
 * (`emailId`, and `username` when it is an email) and the enterprise id (`orgUserId`). An
 * enterprise id that looks like an email is also indexed in its email form, because a subject
 * typing it is taken to mean an email (see `detectSubjectKind`).
 */
export function subjectIdsOf(user: KoreRoleUser): string[] {
  const ids = new Set<string>();
  const addEmail = (raw: string | undefined) => {
    if (raw && detectSubjectKind(raw) === 'email') {
      const id = normaliseSubjectId(raw, 'email');
      if (id) ids.add(id);
    }
  };
  addEmail(user.emailId);
  addEmail(user.username);
  if (user.orgUserId) {
    const id = normaliseSubjectId(user.orgUserId, 'enterpriseId');
    if (id) ids.add(id);
    addEmail(user.orgUserId);
  }
  return [...ids];
}

const sorted = (ids: Iterable<string>) => [...ids].sort();

/**
 * The privileged identities of one user-roles record, one per distinct hash of its ids, all with
 * the same roles. A user without any id a subject could use yields none.
 */
export function identitiesFromUser(user: KoreRoleUser, hash: SubjectHasher): PrivilegedIdentity[] {
  const roles = rolesOf(user);
  const hashes = new Set(subjectIdsOf(user).map(hash));
  return [...hashes].map((subjectHash) => ({
    subjectHash,
    accountOwner: roles.accountOwner,
    accountMember: true,
    ownedBotIds: sorted(roles.owned),
    coDeveloperBotIds: sorted(roles.coDeveloped),
  }));
}

interface Entry {
  accountOwner: boolean;
  accountMember: boolean;
  owned: Set<string>;
  coDeveloped: Set<string>;
}

/**
 * Accumulates the privileged identities of an account page by page (O(1) per id, so O(n) over
 * users). An identity seen twice (the same hash from two user records, e.g. one user's email is
 * another's enterprise id, or a user repeated across pages) is merged: union of bots, OR of flags.
 */
export class PrivilegedIdentityIndex {
  readonly #hash: SubjectHasher;
  readonly #entries = new Map<string, Entry>();
  readonly #userIds = new Set<string>();
  readonly #botIds = new Set<string>();

  constructor(hash: SubjectHasher) {
    this.#hash = hash;
  }

  /** Adds one page (or any batch) of user-roles records. */
  add(users: readonly KoreRoleUser[]): void {
    for (const user of users) {
      this.#userIds.add(user.userId);
      // Every bot has an owner, so the bots named in anyone's roles are all the account's bots.
      for (const role of user.btRoles ?? []) if (role.botId) this.#botIds.add(role.botId);
      const roles = rolesOf(user);
      for (const id of subjectIdsOf(user)) {
        const subjectHash = this.#hash(id);
        const entry = this.#entries.get(subjectHash);
        if (!entry) {
          this.#entries.set(subjectHash, { accountOwner: roles.accountOwner, accountMember: true, owned: new Set(roles.owned), coDeveloped: new Set(roles.coDeveloped) });
          continue;
        }
        entry.accountOwner ||= roles.accountOwner;
        for (const botId of roles.owned) entry.owned.add(botId);
        for (const botId of roles.coDeveloped) entry.coDeveloped.add(botId);
      }
    }
  }

  /** The identity indexed under `subjectHash`, or undefined when the subject is not privileged. */
  get(subjectHash: string): PrivilegedIdentity | undefined {
    const entry = this.#entries.get(subjectHash);
    return entry && toIdentity(subjectHash, entry);
  }

  /** Every identity, each with sorted, unique bot ids. */
  *values(): IterableIterator<PrivilegedIdentity> {
    for (const [subjectHash, entry] of this.#entries) yield toIdentity(subjectHash, entry);
  }

  /** Number of distinct identities (hashes). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Every bot id named in any user's bot roles (any role name), sorted: the account's bots, so
   * the intake can refuse ids of bots that do not exist.
   */
  botIds(): string[] {
    return sorted(this.#botIds);
  }

  /** Number of distinct bots seen. */
  get botCount(): number {
    return this.#botIds.size;
  }

  /** Number of distinct user records seen (by Kore `userId`). */
  get userCount(): number {
    return this.#userIds.size;
  }
}

function toIdentity(subjectHash: string, entry: Entry): PrivilegedIdentity {
  return {
    subjectHash,
    accountOwner: entry.accountOwner,
    accountMember: entry.accountMember,
    ownedBotIds: sorted(entry.owned),
    coDeveloperBotIds: sorted(entry.coDeveloped),
  };
}
