import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCallBudget } from '../../../functions/adapters/dynamo/call-budget-store';
import { allowance, ceilingOf, defaultCallBudgetPolicy, usedIn } from '../../../functions/domain/call-budget';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';

let db: DynaliteHandle;
beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

const T0 = Date.parse('2026-03-10T09:00:00.000Z');
const policy = defaultCallBudgetPolicy();
const minute = policy.windows[0]!;

async function budgetAt(at: { ms: number }) {
  const tableName = await db.createTable();
  return new DynamoCallBudget({ client: db.client, tableName, policy, clock: { now: () => new Date(at.ms) }, maxAttempts: 100 });
}

describe('DynamoCallBudget', () => {
  it('grants exactly the allowance to 80 concurrent callers in one minute, and tells the rest how long to wait', async () => {
    const at = { ms: T0 };
    const budget = await budgetAt(at);

    const results = await Promise.all(Array.from({ length: 80 }, () => budget.take('erase')));

    expect(results.filter((r) => r.granted)).toHaveLength(allowance(minute, policy));
    for (const r of results) if (!r.granted) expect(r.waitMs).toBe(65_000);
    expect(usedIn(await budget.read(), minute, policy, T0)).toBe(54);
  });

  it('keeps status checks and role paging under their ceilings while erasures still get in', async () => {
    const at = { ms: T0 };
    const budget = await budgetAt(at);

    const roles = await Promise.all(Array.from({ length: 40 }, () => budget.take('roles')));
    const status = await Promise.all(Array.from({ length: 40 }, () => budget.take('status')));
    const erase = await Promise.all(Array.from({ length: 20 }, () => budget.take('erase')));

    expect(roles.filter((r) => r.granted)).toHaveLength(ceilingOf(minute, policy, 'roles'));
    expect(status.filter((r) => r.granted)).toHaveLength(ceilingOf(minute, policy, 'status') - ceilingOf(minute, policy, 'roles'));
    expect(erase.filter((r) => r.granted)).toHaveLength(54 - 45);
  });

  it('grants a group of turns as far as they fit, never past the ceiling when groups and single turns race', async () => {
    const at = { ms: T0 };
    const budget = await budgetAt(at);
    await Promise.all(Array.from({ length: 5 }, () => budget.take('erase')));

    // 22 turns left under the paging ceiling of 27: a group of 10, then the racers share the 12 left.
    expect(await budget.takeUpTo('roles', 10)).toEqual({ granted: true, calls: 10 });
    const racing = await Promise.all([budget.takeUpTo('roles', 10), budget.takeUpTo('roles', 10), budget.take('roles'), budget.take('roles')]);

    const paging = racing.reduce((n, r) => n + (r.granted ? ('calls' in r ? r.calls : 1) : 0), 0);
    expect(paging).toBe(ceilingOf(minute, policy, 'roles') - 5 - 10);
    expect(usedIn(await budget.read(), minute, policy, T0)).toBe(ceilingOf(minute, policy, 'roles'));
    expect(await budget.takeUpTo('roles', 10)).toEqual({ granted: false, waitMs: 65_000 });
    // Erasures still find their reserve above it.
    expect(await budget.takeUpTo('erase', 10)).toEqual({ granted: true, calls: 10 });
  });

  it('grants again when the clock has moved past the counted slots', async () => {
    const at = { ms: T0 };
    const budget = await budgetAt(at);
    for (let i = 0; i < 54; i++) await budget.take('erase');
    expect((await budget.take('erase')).granted).toBe(false);

    at.ms = T0 + 65_000;
    expect(await budget.take('erase')).toEqual({ granted: true });
  });

  it('makes every caller wait after a platform refusal, and a shorter refusal does not shorten it', async () => {
    const at = { ms: T0 };
    const budget = await budgetAt(at);
    await budget.refused(30_000);
    await budget.refused(1_000);

    expect(await budget.take('erase')).toEqual({ granted: false, waitMs: 30_000 });
    at.ms = T0 + 30_000;
    expect(await budget.take('erase')).toEqual({ granted: true });
  });

  it('lets one of ten racing callers take the last turn of the minute, and tells the others to wait', async () => {
    const tableName = await db.createTable();
    const racing = new DynamoCallBudget({ client: db.client, tableName, policy, clock: { now: () => new Date(T0) }, maxAttempts: 1 });
    for (let i = 0; i < 53; i++) await racing.take('erase');

    const results = await Promise.all(Array.from({ length: 10 }, () => racing.take('erase')));

    expect(results.filter((r) => r.granted)).toHaveLength(1);
    for (const r of results) if (!r.granted) expect(r.waitMs).toBeGreaterThan(0);
    expect(usedIn(await racing.read(), minute, policy, T0)).toBe(54);
  });

  it('drops slots that no longer count from the item', async () => {
    const at = { ms: T0 };
    const budget = await budgetAt(at);
    await budget.take('erase');
    at.ms = T0 + 2 * 3_600_000;
    await budget.take('erase');

    expect(Object.keys((await budget.read()).slots)).toHaveLength(2);
  });

  it('remembers a refusal until its wait is over, for that priority and the lower ones, without reading the item', async () => {
    const at = { ms: T0 };
    const tableName = await db.createTable();
    const budget = new DynamoCallBudget({ client: db.client, tableName, policy, clock: { now: () => new Date(at.ms) } });
    for (let i = 0; i < 45; i++) await budget.take('status');
    expect(await budget.take('status')).toEqual({ granted: false, waitMs: 65_000 });
    // Someone resets the item: this container still knows the wait, erasures do not.
    const fresh = new DynamoCallBudget({ client: db.client, tableName: await db.createTable(), policy, clock: { now: () => new Date(at.ms) } });
    expect(await fresh.take('status')).toEqual({ granted: true });

    at.ms = T0 + 1_000;
    expect(await budget.take('roles')).toEqual({ granted: false, waitMs: 64_000 });
    expect(await budget.take('erase')).toEqual({ granted: true });
    at.ms = T0 + 65_000;
    expect(await budget.take('status')).toEqual({ granted: true });
  });
});
