import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchAllUserRoles, pageUserRoles } from '../../../functions/domain/user-roles-pager';
import type { KorePlatform, KoreRoleUser, KoreUserRolesPage } from '../../../functions/domain/kore';
import { PrivilegedIdentityIndex } from '../../../functions/domain/privileged-identities';
import { DEMO_ACCOUNT_OWNER, DEMO_BOT_OWNERS, DEMO_BOTS, DEMO_CO_DEVELOPERS, DEMO_END_USERS, DEMO_MEMBERS } from '../../../infra/local/kore-sim';
import { startPair, type Pair } from './fixtures';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.sim.stop();
  pair = undefined;
});

/** An in-memory platform whose user-roles pages may lie about `availableMore` and `total`. */
function fakePlatform(size: number, lie: { alwaysMore?: boolean; totalDelta?: number } = {}) {
  const users: KoreRoleUser[] = Array.from({ length: size }, (_, i) => ({ userId: `u-${i}` }));
  const requests: { offset: number; limit: number }[] = [];
  const platform: KorePlatform = {
    eraseUsersData: () => Promise.reject(new Error('not used')),
    getEraseStatus: () => Promise.reject(new Error('not used')),
    getUserRoles: async (offset, limit): Promise<KoreUserRolesPage> => {
      requests.push({ offset, limit });
      const page = users.slice(offset, offset + Math.min(limit, 50));
      const total = Math.max(0, size + (lie.totalDelta ?? 0));
      return { total, availableMore: lie.alwaysMore === true || offset + page.length < size, users: page };
    },
  };
  return { platform, requests };
}

describe('paging through user roles', () => {
  it('yields every user of a 50,000-user generated account exactly once, 50 at a time', async () => {
    // The pager alone, as fast as it goes: 1,000 calls is more than an account allows an hour, so
    // the limits are off here; the refresh paces the same walk within the call budget.
    pair = await startPair({ account: { generatedUsers: 50_000, seed: 7 }, rateLimits: false });
    const { client, sim } = pair;

    const seen: string[] = [];
    let pages = 0;
    for await (const page of pageUserRoles(client)) {
      pages++;
      expect(page.users.length).toBeLessThanOrEqual(50);
      expect(page.total).toBe(50_000);
      for (const user of page.users) seen.push(user.userId);
    }

    expect(seen).toHaveLength(50_000);
    expect(new Set(seen).size).toBe(50_000);
    expect(new Set(seen)).toEqual(new Set(sim.account.users.map((u) => u.userId)));
    expect(pages).toBe(1000);
    expect(sim.calls().every((c) => c.outcome === 'ok')).toBe(true);
  });

  it('caps the page size at 50 like the platform', async () => {
    pair = await startPair({ account: { generatedUsers: 120 } });

    const page = await pair.client.getUserRoles(0, 500);

    expect(page.users).toHaveLength(50);
    expect(page).toMatchObject({ total: 120, availableMore: true });
  });

  it('lists the demo account so the domain index finds owner, bot owners, co-developers and members, and no end user', async () => {
    pair = await startPair();
    const users = await fetchAllUserRoles(pair.client, 3);
    const index = new PrivilegedIdentityIndex((id) => id);

    index.add(users);

    expect(index.get(DEMO_ACCOUNT_OWNER.email)).toMatchObject({ accountOwner: true });
    expect(index.get(DEMO_BOT_OWNERS[0]!.email)?.ownedBotIds).toEqual([DEMO_BOTS.support.botId, DEMO_BOTS.billing.botId].sort());
    expect(index.get(DEMO_CO_DEVELOPERS[1]!.orgUserId!)?.coDeveloperBotIds).toEqual([DEMO_BOTS.billing.botId, DEMO_BOTS.hr.botId].sort());
    expect(index.get(DEMO_MEMBERS[0]!.email)).toMatchObject({ accountOwner: false, accountMember: true, ownedBotIds: [], coDeveloperBotIds: [] });
    for (const endUser of Object.values(DEMO_END_USERS)) expect(index.get(endUser)).toBeUndefined();
    expect(index.userCount).toBe(8);
  });

  it('builds the same generated account from the same seed, and another from another seed', async () => {
    pair = await startPair({ account: { generatedUsers: 300, seed: 3 } });
    const again = await startPair({ account: { generatedUsers: 300, seed: 3 } });
    const other = await startPair({ account: { generatedUsers: 300, seed: 4 } });
    try {
      const [a, b, c] = await Promise.all([fetchAllUserRoles(pair.client), fetchAllUserRoles(again.client), fetchAllUserRoles(other.client)]);
      expect(b).toEqual(a);
      expect(c).not.toEqual(a);
      expect(a.filter((u) => u.btRoles?.some((r) => r.roleName === 'Bot Developer')).length).toBeGreaterThan(0);
    } finally {
      await Promise.all([again.sim.stop(), other.sim.stop()]);
    }
  });

  it('yields every user exactly once whatever the account and page size, even from a platform that always claims more', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 400 }), fc.integer({ min: 1, max: 50 }), fc.boolean(), fc.integer({ min: -5, max: 5 }), async (size, pageSize, alwaysMore, totalDelta) => {
        const { platform, requests } = fakePlatform(size, { alwaysMore, totalDelta });
        const ids = (await fetchAllUserRoles(platform, pageSize)).map((u) => u.userId);
        // A platform under-reporting its total can hide its tail; nothing is ever repeated.
        expect(new Set(ids).size).toBe(ids.length);
        if (totalDelta >= 0 || !alwaysMore) expect(ids.length).toBeLessThanOrEqual(size);
        if (totalDelta >= 0) expect(ids).toHaveLength(size);
        expect(requests.length).toBeLessThanOrEqual(Math.ceil(size / pageSize) + 1);
      }),
      { numRuns: 150 },
    );
  });

  it('streams: asks for the next page only when the consumer wants it', async () => {
    const { platform, requests } = fakePlatform(120);
    const pages = pageUserRoles(platform, 50);

    const first = await pages.next();
    const afterFirst = requests.length;
    await pages.next();
    await pages.next();
    const end = await pages.next();

    expect(first.value?.users).toHaveLength(50);
    expect(afterFirst).toBe(1);
    expect(requests.map((r) => r.offset)).toEqual([0, 50, 100]);
    expect(end.done).toBe(true);
  });

  it.each([0, 51, 2.5])('refuses a page size of %s', async (pageSize) => {
    const { platform } = fakePlatform(3);
    await expect(pageUserRoles(platform, pageSize).next()).rejects.toBeInstanceOf(RangeError);
  });
});
