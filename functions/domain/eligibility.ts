/**
 * The owner/co-developer rules of the Kore.ai platform, applied before anything is sent there,
 * so the subject gets a clear answer (the rule and the bots involved) instead of an opaque
 * platform refusal later. Every decision records how old the snapshot it relied on was.
 */
import { DomainError } from './errors';
import type { EligibilityDecision, EligibilityRule, PrivilegedIdentity, SnapshotInfo } from './model';

/** The rules in order of specificity: the first that applies is the one reported. */
export const RULE_ORDER: readonly EligibilityRule[] = ['ACCOUNT_OWNER', 'BOT_OWNER', 'BOT_CO_DEVELOPER', 'ACCOUNT_MEMBER'];

/** The snapshot's `takenAt` is not a point in time: the snapshot cannot vouch for anything. */
export class InvalidSnapshotError extends DomainError {
  constructor() {
    super('The privileged-identity snapshot has no valid takenAt');
    this.name = 'InvalidSnapshotError';
  }
}

/**
 * Whole seconds between the snapshot and `now`, never negative (a snapshot stamped slightly in
 * the future by clock skew counts as brand new).
 * @throws InvalidSnapshotError when `snapshot.takenAt` is not a valid timestamp.
 */
export function snapshotAgeSeconds(snapshot: SnapshotInfo, now: Date): number {
  const takenAt = Date.parse(snapshot.takenAt);
  if (Number.isNaN(takenAt)) throw new InvalidSnapshotError();
  return Math.max(0, Math.floor((now.getTime() - takenAt) / 1000));
}

/**
 * True when the snapshot is at most `maxAgeSeconds` old, i.e. good enough to decide on; callers
 * refresh it (or defer the decision) otherwise.
 * @throws InvalidSnapshotError when `snapshot.takenAt` is not a valid timestamp.
 */
export function isSnapshotFreshEnough(snapshot: SnapshotInfo, now: Date, maxAgeSeconds: number): boolean {
  return snapshotAgeSeconds(snapshot, now) <= maxAgeSeconds;
}

/** Every rule that applies to `identity`, in `RULE_ORDER`. */
export function applyingRules(identity: PrivilegedIdentity): EligibilityRule[] {
  const applies: Record<EligibilityRule, boolean> = {
    ACCOUNT_OWNER: identity.accountOwner,
    BOT_OWNER: identity.ownedBotIds.length > 0,
    BOT_CO_DEVELOPER: identity.coDeveloperBotIds.length > 0,
    ACCOUNT_MEMBER: identity.accountMember,
  };
  return RULE_ORDER.filter((rule) => applies[rule]);
}

/**
 * Decides whether the platform would accept erasing this subject. A subject absent from the
 * snapshot (an end user of the bots) is eligible; one listed there is not, with every applying
 * rule, the most specific one as `rule`, and the bots involved (owned and co-developed, sorted).
 * @throws InvalidSnapshotError when `snapshot.takenAt` is not a valid timestamp.
 */
export function decideEligibility(identity: PrivilegedIdentity | undefined, snapshot: SnapshotInfo, now: Date): EligibilityDecision {
  const age = snapshotAgeSeconds(snapshot, now);
  const rules = identity ? applyingRules(identity) : [];
  const [rule] = rules;
  if (!identity || rule === undefined) return { eligible: true, snapshot, snapshotAgeSeconds: age };
  const botIds = [...new Set([...identity.ownedBotIds, ...identity.coDeveloperBotIds])].sort();
  return { eligible: false, rule, rules, botIds, snapshot, snapshotAgeSeconds: age };
}

/** What the subject reads when a request is rejected. */
export interface RejectionExplanation {
  title: string;
  whatToDo: string;
}

const RECHECK = 'then ask us to re-check your request.';

function bots(botIds: readonly string[], owned: boolean): string {
  const n = new Set(botIds).size;
  if (n === 0) return owned ? 'the bots you own' : 'the bots you work on';
  return n === 1 ? 'the bot listed below' : `the ${n} bots listed below`;
}

/**
 * A plain-words explanation of a rejection for the subject: why the platform cannot erase the
 * data yet and what would change that. Carries no personal data (only a count of bots; the bot
 * ids are listed by the caller). `PLATFORM_RULES` is a refusal by the platform itself, which does
 * not say which rule applied.
 */
export function explainRejection(rule: EligibilityRule | 'PLATFORM_RULES', botIds: readonly string[]): RejectionExplanation {
  switch (rule) {
    case 'PLATFORM_RULES':
      return {
        title: 'The platform refused to erase your data',
        whatToDo: `The platform does not erase the data of account owners, account members, bot owners or bot co-developers, and it refused this request under those rules. Ask the account administrator to transfer or remove any such role you hold, ${RECHECK}`,
      };
    case 'ACCOUNT_OWNER':
      return {
        title: 'You own the Kore.ai account',
        whatToDo: `The platform does not erase the data of an account owner. Transfer ownership of the account to another administrator, ${RECHECK}`,
      };
    case 'BOT_OWNER':
      return {
        title: 'You own one or more bots',
        whatToDo: `The platform does not erase the data of a bot owner. Ask the account administrator to transfer ownership of ${bots(botIds, true)} to someone else, ${RECHECK}`,
      };
    case 'BOT_CO_DEVELOPER':
      return {
        title: 'You are a co-developer of one or more bots',
        whatToDo: `The platform does not erase the data of a bot's co-developer. Ask the bot owner or the account administrator to remove you from ${bots(botIds, false)}, ${RECHECK}`,
      };
    case 'ACCOUNT_MEMBER':
      return {
        title: 'You belong to the Kore.ai account',
        whatToDo: `The platform does not erase the data of a user who belongs to the account. Ask the account administrator to remove you from the account, ${RECHECK}`,
      };
  }
}
