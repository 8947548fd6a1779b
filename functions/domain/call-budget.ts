/**
 * One Kore.ai call budget for the whole deployment: the pure rules.
 *
 * The platform limits admin-console public APIs per account (60 calls a minute, 1,800 an hour,
 * docs/kore-platform.md D13), and every call the desk makes — erase, status, user-roles paging,
 * the canary's — is such a call. Each caller takes its turn from one shared budget before it
 * calls, so the desk itself never causes a rate-limit refusal; a caller refused by the budget
 * waits (the workflow in a Step Functions Wait state) and asks again.
 *
 * How a window is counted. The platform's window kind is not documented; the simulator counts
 * sliding windows. Each window is cut into slots of equal length (`slots`, else the policy's
 * `slotsPerWindow`) and a turn counts the current slot and the window's slot count before it —
 * one slot more than the window — so every sliding window of the window's length lies inside
 * what is counted, and a budget that keeps the count at or under its allowance keeps every
 * sliding window there too. A turn leaves the count at most one slot later than it leaves the
 * platform's window: the slot length is what a full window costs a caller waiting for it.
 *
 * Priorities. Erasure submissions come first, then status checks, then role paging, then the
 * read-back that verifies a completed erasure (the lowest: it never delays an erasure). Each
 * priority may fill a window only up to its ceiling (a share of the allowance): what lies above a
 * lower priority's ceiling is a reserve only higher priorities may take.
 *
 * Refusals by the platform (other apps on the account use the same limits) block every caller
 * for a while (`blockedUntil`), so the desk backs off as one.
 */

/** Who asks for a turn, most important first. */
export const CALL_PRIORITIES = ['erase', 'status', 'roles', 'verify'] as const;
export type CallPriority = (typeof CALL_PRIORITIES)[number];

/** One limit of the platform: at most `limit` calls in any `lengthMs`. */
export interface BudgetWindow {
  lengthMs: number;
  limit: number;
  /** Slots this window is counted in, when not the policy's `slotsPerWindow`. */
  slots?: number;
}

export interface CallBudgetPolicy {
  /** The platform's limits (documented: 60 per 60 s and 1,800 per 3,600 s per account). */
  windows: readonly BudgetWindow[];
  /** Share of each limit the desk leaves unused (other apps, clock skew, calls in flight), 0 ≤ m < 1. */
  safetyMargin: number;
  /** Share of the allowance (limit less margin) each priority may fill; erase is 1. */
  ceilings: Readonly<Record<CallPriority, number>>;
  /** Slots a window is counted in unless it names its own (finer: closer to the limit, larger state). */
  slotsPerWindow: number;
  /** How long every caller waits after the platform refused a call for its rate limit and named no time. */
  refusalBackoffMs: number;
}

/** The documented per-account limits of admin-console public APIs (docs/kore-platform.md D13). */
export const DOCUMENTED_KORE_LIMITS = { perMinute: 60, perHour: 1800 } as const;

/** Slots the hour window is counted in by default: one a minute. */
export const HOUR_SLOTS = 60;

/**
 * The defaults, and why:
 * - margin 10 %: 54 a minute and 1,620 an hour stay for the desk; the rest absorbs calls in
 *   flight (a turn is taken before the call arrives), clocks a little apart and a small
 *   neighbour app on the account;
 * - status checks may fill 85 % and role paging 50 % of a window: submissions always find room,
 *   and a large account's paging never crowds out the polls;
 * - verification read-backs 20 %: they take a turn only while the window is four-fifths empty, so
 *   a burst of erasures finds at least 80 % of every window free of them;
 * - the minute in 12 slots of 5 s (counted over 65 s): a turn counted up to 5 s past its
 *   minute is slack for a call still in flight, which matters most on a compressed test clock;
 * - the hour in 60 slots of 1 min (counted over 61 min): a caller that filled the hour (the roles
 *   refresh of a large account) gets its turns back a minute after they leave the platform's
 *   hour, not five; the item holds at most 13 + 61 slot counts (about 2 KB);
 * - after a refusal without `Retry-After`, everyone waits 10 s (one sixth of the minute window).
 */
export function defaultCallBudgetPolicy(options: { perMinute?: number; perHour?: number; safetyMargin?: number; timeScale?: number } = {}): CallBudgetPolicy {
  const scale = options.timeScale ?? 1;
  if (!(scale > 0 && scale <= 1)) throw new RangeError('timeScale must be in (0, 1]');
  return validPolicy({
    windows: [
      { lengthMs: Math.round(60_000 * scale), limit: options.perMinute ?? DOCUMENTED_KORE_LIMITS.perMinute },
      { lengthMs: Math.round(3_600_000 * scale), limit: options.perHour ?? DOCUMENTED_KORE_LIMITS.perHour, slots: HOUR_SLOTS },
    ],
    safetyMargin: options.safetyMargin ?? 0.1,
    ceilings: { erase: 1, status: 0.85, roles: 0.5, verify: 0.2 },
    slotsPerWindow: 12,
    refusalBackoffMs: Math.max(1, Math.round(10_000 * scale)),
  });
}

/**
 * The budget's state as stored: calls counted per slot (`<windowLength>@<slotStart>` → count)
 * and the time until which every caller waits after a platform refusal (epoch ms, 0 = none).
 */
export interface BudgetState {
  slots: Record<string, number>;
  blockedUntil: number;
}

export const EMPTY_BUDGET: BudgetState = Object.freeze({ slots: Object.freeze({}) as Record<string, number>, blockedUntil: 0 });

export type TurnDecision = { granted: true; state: BudgetState } | { granted: false; waitMs: number };

/** @throws RangeError when the policy cannot be kept (no window, a limit below 1, shares outside 0..1). */
export function validPolicy(policy: CallBudgetPolicy): CallBudgetPolicy {
  if (policy.windows.length === 0) throw new RangeError('A call budget needs at least one window');
  if (!Number.isInteger(policy.slotsPerWindow) || policy.slotsPerWindow < 1) throw new RangeError('slotsPerWindow must be a positive integer');
  for (const w of policy.windows) {
    if (w.slots !== undefined && !(Number.isInteger(w.slots) && w.slots >= 1)) throw new RangeError('A window\'s slots must be a positive integer');
    if (!Number.isInteger(w.lengthMs) || w.lengthMs < slotsOf(w, policy)) throw new RangeError('A window must be an integer number of ms, at least one per slot');
    if (!Number.isInteger(w.limit) || w.limit < 1) throw new RangeError('A window limit must be a positive integer');
  }
  if (!(policy.safetyMargin >= 0 && policy.safetyMargin < 1)) throw new RangeError('safetyMargin must be in [0, 1)');
  for (const p of CALL_PRIORITIES) {
    const c = policy.ceilings[p];
    if (!(c > 0 && c <= 1)) throw new RangeError(`The ceiling of ${p} must be in (0, 1]`);
  }
  if (policy.ceilings.erase !== 1) throw new RangeError('Erasure submissions may fill the whole allowance (ceiling 1)');
  if (!(policy.ceilings.status >= policy.ceilings.roles)) throw new RangeError('Status checks rank above role paging (ceiling status ≥ roles)');
  if (!(policy.ceilings.roles >= policy.ceilings.verify)) throw new RangeError('Role paging ranks above verification read-backs (ceiling roles ≥ verify)');
  if (!(policy.refusalBackoffMs > 0)) throw new RangeError('refusalBackoffMs must be positive');
  return policy;
}

/** Calls the desk allows itself in a window: the limit less the margin (at least 1). */
export function allowance(window: BudgetWindow, policy: CallBudgetPolicy): number {
  return Math.max(1, Math.floor(window.limit * (1 - policy.safetyMargin)));
}

/** What `priority` may fill of a window: its ceiling's share of the allowance (at least 1). */
export function ceilingOf(window: BudgetWindow, policy: CallBudgetPolicy, priority: CallPriority): number {
  return Math.max(1, Math.floor(allowance(window, policy) * policy.ceilings[priority]));
}

/** Slots `window` is counted in: its own count, else the policy's. */
export const slotsOf = (window: BudgetWindow, policy: CallBudgetPolicy): number => window.slots ?? policy.slotsPerWindow;
/** Length of one slot of `window` in ms. */
export const slotLength = (window: BudgetWindow, policy: CallBudgetPolicy): number => window.lengthMs / slotsOf(window, policy);
const slotKey = (window: BudgetWindow, start: number) => `${window.lengthMs}@${start}`;

/** The counted slots of one window at `nowMs`, oldest first: `[start, count]`. */
function countedSlots(state: BudgetState, window: BudgetWindow, policy: CallBudgetPolicy, nowMs: number): Array<[number, number]> {
  const length = slotLength(window, policy);
  const current = Math.floor(nowMs / length) * length;
  const oldest = current - slotsOf(window, policy) * length;
  const prefix = `${window.lengthMs}@`;
  const slots: Array<[number, number]> = [];
  for (const [key, count] of Object.entries(state.slots)) {
    if (!key.startsWith(prefix)) continue;
    const start = Number(key.slice(prefix.length));
    if (start >= oldest && start <= current && count > 0) slots.push([start, count]);
  }
  return slots.sort((a, b) => a[0] - b[0]);
}

/** Calls counted in a window at `nowMs`. */
export function usedIn(state: BudgetState, window: BudgetWindow, policy: CallBudgetPolicy, nowMs: number): number {
  return countedSlots(state, window, policy, nowMs).reduce((sum, [, count]) => sum + count, 0);
}

/**
 * What taking `calls` turns for `priority` at `nowMs` means for the stored counts: either a wait
 * (how long until the turns would be granted if nobody else took any), or, per window, the slot
 * to add the calls to and the most that slot may hold beforehand (`atMost`: the priority's
 * ceiling less the earlier counted slots and the calls), plus the slots that no longer count.
 *
 * Earlier slots never change once their time is over (every turn goes to the current slot), so
 * a store can apply a plan as one atomic conditional write on the current slots alone
 * (`slot <= atMost`), whatever other callers do at the same moment.
 * @throws RangeError when `calls` is not a positive integer or exceeds what the priority may ever take.
 */
export function planTurn(state: BudgetState, policy: CallBudgetPolicy, priority: CallPriority, nowMs: number, calls = 1): TurnPlan {
  if (!Number.isInteger(calls) || calls < 1) throw new RangeError('calls must be a positive integer');
  let waitMs = state.blockedUntil > nowMs ? state.blockedUntil - nowMs : 0;
  const add: TurnPlanSlot[] = [];
  const keep = new Set<string>();
  for (const window of policy.windows) {
    const ceiling = ceilingOf(window, policy, priority);
    if (calls > ceiling) throw new RangeError(`${calls} calls never fit the ${priority} ceiling of ${ceiling}`);
    const length = slotLength(window, policy);
    const current = Math.floor(nowMs / length) * length;
    const slots = countedSlots(state, window, policy, nowMs);
    for (const [start] of slots) keep.add(slotKey(window, start));
    const earlier = slots.filter(([start]) => start < current).reduce((sum, [, count]) => sum + count, 0);
    let used = slots.reduce((sum, [, count]) => sum + count, 0);
    add.push({ key: slotKey(window, current), atMost: ceiling - earlier - calls });
    if (used + calls <= ceiling) continue;
    // The oldest slots leave the count one by one: a slot starting at s is counted until
    // s + (slots + 1) × slot length.
    for (const [start, count] of slots) {
      used -= count;
      if (used + calls <= ceiling) {
        waitMs = Math.max(waitMs, Math.ceil(start + (slotsOf(window, policy) + 1) * length - nowMs));
        break;
      }
    }
  }
  if (waitMs > 0) return { granted: false, waitMs };
  for (const { key } of add) keep.add(key);
  return { granted: true, add, calls, prune: Object.keys(state.slots).filter((key) => !keep.has(key)) };
}

/**
 * How many turns `priority` could take at once at `nowMs`: the room left under its ceiling in the
 * fullest window, 0 while a refusal backoff is in force. `planTurn` grants any count from 1 up to
 * it, and refuses one more, so a caller that can use several turns (the roles refresh fetching
 * pages side by side) asks the store once for as many as fit.
 */
export function turnsAvailable(state: BudgetState, policy: CallBudgetPolicy, priority: CallPriority, nowMs: number): number {
  if (state.blockedUntil > nowMs) return 0;
  let room = Number.POSITIVE_INFINITY;
  for (const window of policy.windows) room = Math.min(room, ceilingOf(window, policy, priority) - usedIn(state, window, policy, nowMs));
  return Math.max(0, room);
}

/** One window's part of a granted plan: add the calls to `key` if it holds at most `atMost`. */
export interface TurnPlanSlot {
  key: string;
  atMost: number;
}

export type TurnPlan = { granted: true; add: TurnPlanSlot[]; calls: number; prune: string[] } | { granted: false; waitMs: number };

/**
 * Asks for `calls` turns for `priority` at `nowMs` (`planTurn` applied in memory). Granted: the
 * new state counts them (old slots pruned). Refused: how long to wait.
 * @throws RangeError as `planTurn`.
 */
export function takeTurn(state: BudgetState, policy: CallBudgetPolicy, priority: CallPriority, nowMs: number, calls = 1): TurnDecision {
  const plan = planTurn(state, policy, priority, nowMs, calls);
  if (!plan.granted) return plan;
  const slots = { ...state.slots };
  for (const key of plan.prune) delete slots[key];
  for (const { key } of plan.add) slots[key] = (slots[key] ?? 0) + calls;
  return { granted: true, state: { slots, blockedUntil: state.blockedUntil } };
}

/** A slot key as stored: `<window length ms>@<slot start ms>`. */
export const SLOT_KEY_PATTERN = /^\d+@\d+$/;

/**
 * The platform refused a call for its rate limit: every caller waits `retryAfterMs` when the
 * platform named it, else the policy's backoff. Never shortens a wait already in force.
 */
export function afterRefusal(state: BudgetState, policy: CallBudgetPolicy, nowMs: number, retryAfterMs?: number): BudgetState {
  const until = nowMs + (retryAfterMs !== undefined && retryAfterMs > 0 ? retryAfterMs : policy.refusalBackoffMs);
  return { slots: state.slots, blockedUntil: Math.max(state.blockedUntil, until) };
}

/** A wait in whole seconds for a Step Functions Wait state (at least 1). */
export function waitSecondsOf(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

/** What a caller gets from the shared budget (the DynamoDB adapter, or a fake in tests). */
export interface CallBudget {
  /**
   * Takes `calls` turns for `priority` now, or says how long to wait.
   * @throws StoreUnavailableError and the store's other errors.
   */
  take(priority: CallPriority, calls?: number): Promise<{ granted: true } | { granted: false; waitMs: number }>;
  /**
   * Takes as many turns for `priority` as fit now, from 1 up to `most`, in one go; or says how
   * long to wait when not even one fits. The caller makes every granted call at once.
   * @throws RangeError when `most` is not a positive integer; StoreUnavailableError and the store's other errors.
   */
  takeUpTo(priority: CallPriority, most: number): Promise<{ granted: true; calls: number } | { granted: false; waitMs: number }>;
  /** Tells every caller the platform refused a call for its rate limit; resolves to how long the caller waits. */
  refused(retryAfterMs?: number): Promise<{ waitMs: number }>;
}

/** A budget that always grants: for tools and tests that make a handful of calls. */
export const UNLIMITED_BUDGET: CallBudget = {
  take: async () => ({ granted: true }),
  takeUpTo: async (_priority, most) => ({ granted: true, calls: most }),
  refused: async (retryAfterMs) => ({ waitMs: retryAfterMs ?? 1000 }),
};
