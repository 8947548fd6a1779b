/**
 * The simulator's conversation sessions, per user and bot, as the Sessions History API
 * (`POST /api/public/getSessions`, docs/kore-platform.md S1–S6) reads them, and as an erasure job
 * removes them when it ends.
 *
 * Which sessions exist is the simulator's own choice (the platform's data is not documented, of
 * course): the demo end users have one session in each demo bot, dated a day before the simulator
 * started; any other user named in an erase gets one session in each bot of the job, a day before
 * the job, the first time an erase names them (a user being erased has talked to a bot). A job
 * that ends SUCCESS removes that user's sessions in its bots (all bots with
 * `RemoveDataFromAllBots`), unless the `sessionsLeftBehind` fault was on when the job was created.
 */
import { DEMO_BOT_IDS, DEMO_END_USERS } from './account';

export interface SimSession {
  sessionId: string;
  botId: string;
  userId: string;
  /** Epoch ms. */
  startTime: number;
}

const DAY_MS = 86_400_000;

const keyOf = (id: string) => (id.includes('@') ? id.trim().toLowerCase() : id);

export class SimSessions {
  readonly #byUser = new Map<string, SimSession[]>();
  readonly #seeded = new Set<string>();
  #next = 1;

  /** Seeds the demo end users' sessions (one per demo bot, a day before `now`). */
  constructor(now: number, seedDemo = true) {
    if (seedDemo) for (const userId of Object.values(DEMO_END_USERS)) this.seed(userId, DEMO_BOT_IDS, now);
  }

  /** Gives a user one session in each bot, a day before `at`, the first time the simulator hears of them. */
  seed(userId: string, botIds: readonly string[], at: number): void {
    const key = keyOf(userId);
    if (this.#seeded.has(key)) return;
    this.#seeded.add(key);
    for (const botId of botIds) this.add(userId, botId, at - DAY_MS);
  }

  add(userId: string, botId: string, startTime: number): SimSession {
    const session = { sessionId: `sess-${String(this.#next++).padStart(6, '0')}`, botId, userId, startTime };
    const key = keyOf(userId);
    this.#seeded.add(key);
    this.#byUser.set(key, [...(this.#byUser.get(key) ?? []), session]);
    return session;
  }

  /** Removes a user's sessions in `botIds`, or in every bot when `botIds` is `'all'`. Returns how many went. */
  remove(userId: string, botIds: readonly string[] | 'all'): number {
    const key = keyOf(userId);
    const before = this.#byUser.get(key) ?? [];
    const kept = botIds === 'all' ? [] : before.filter((s) => !botIds.includes(s.botId));
    this.#byUser.set(key, kept);
    return before.length - kept.length;
  }

  /** A user's sessions that started in [from, to], newest first (the documented order), one page of them. */
  query(userId: string, from: number, to: number, skip: number, limit: number): { sessions: SimSession[]; total: number } {
    const all = (this.#byUser.get(keyOf(userId)) ?? []).filter((s) => s.startTime >= from && s.startTime <= to).sort((a, b) => b.startTime - a.startTime);
    return { sessions: all.slice(skip, skip + limit), total: all.length };
  }

  /** Every session of a user (tests). */
  of(userId: string): SimSession[] {
    return [...(this.#byUser.get(keyOf(userId)) ?? [])];
  }
}
