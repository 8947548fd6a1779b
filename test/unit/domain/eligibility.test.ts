import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidSnapshotError,
  RULE_ORDER,
  decideEligibility,
  explainRejection,
  isSnapshotFreshEnough,
  snapshotAgeSeconds,
} from '../../../functions/domain/eligibility';
import { ELIGIBILITY_RULES, type EligibilityRule, type PrivilegedIdentity, type SnapshotInfo } from '../../../functions/domain/model';

const NOW = new Date('2025-03-01T12:00:00.000Z');

function snapshot(overrides: Partial<SnapshotInfo> = {}): SnapshotInfo {
  return { version: 'snap-1', takenAt: '2025-03-01T11:00:00.000Z', userCount: 120, identityCount: 230, ...overrides };
}

function identity(overrides: Partial<PrivilegedIdentity> = {}): PrivilegedIdentity {
  return { subjectHash: 'a'.repeat(64), accountOwner: false, accountMember: false, ownedBotIds: [], coDeveloperBotIds: [], ...overrides };
}

describe('decideEligibility', () => {
  it('lets a subject absent from the snapshot be erased, recording the snapshot and its age', () => {
    const snap = snapshot();
    expect(decideEligibility(undefined, snap, NOW)).toEqual({ eligible: true, snapshot: snap, snapshotAgeSeconds: 3600 });
  });

  it('lets a listed identity with no applying rule be erased', () => {
    expect(decideEligibility(identity(), snapshot(), NOW).eligible).toBe(true);
  });

  const singleRules: { name: string; who: Partial<PrivilegedIdentity>; rule: EligibilityRule; botIds: string[] }[] = [
    { name: 'an account owner', who: { accountOwner: true }, rule: 'ACCOUNT_OWNER', botIds: [] },
    { name: 'a member of the account', who: { accountMember: true }, rule: 'ACCOUNT_MEMBER', botIds: [] },
    { name: 'the owner of any bot', who: { ownedBotIds: ['st-2', 'st-1'] }, rule: 'BOT_OWNER', botIds: ['st-1', 'st-2'] },
    { name: 'a co-developer of any bot', who: { coDeveloperBotIds: ['st-7'] }, rule: 'BOT_CO_DEVELOPER', botIds: ['st-7'] },
  ];

  it.each(singleRules)('rejects $name under $rule alone', ({ who, rule, botIds }) => {
    const decision = decideEligibility(identity(who), snapshot(), NOW);
    expect(decision).toMatchObject({ eligible: false, rule, rules: [rule], botIds, snapshotAgeSeconds: 3600 });
  });

  it('reports the owner rule before co-developer and member for a typical bot owner', () => {
    const decision = decideEligibility(
      identity({ accountMember: true, ownedBotIds: ['st-b'], coDeveloperBotIds: ['st-a', 'st-b'] }),
      snapshot(),
      NOW,
    );
    expect(decision).toMatchObject({ eligible: false, rule: 'BOT_OWNER', rules: ['BOT_OWNER', 'BOT_CO_DEVELOPER', 'ACCOUNT_MEMBER'], botIds: ['st-a', 'st-b'] });
  });

  it('lists exactly the applying rules in order, the first as the rule, and the sorted union of bots', () => {
    const botIds = fc.uniqueArray(fc.constantFrom('st-1', 'st-2', 'st-3', 'st-10', 'st-a'), { maxLength: 5 });
    fc.assert(
      fc.property(fc.boolean(), fc.boolean(), botIds, botIds, fc.integer({ min: 0, max: 10_000_000 }), (accountOwner, accountMember, owned, coDeveloped, ageSeconds) => {
        const who = identity({ accountOwner, accountMember, ownedBotIds: owned, coDeveloperBotIds: coDeveloped });
        const snap = snapshot({ takenAt: new Date(NOW.getTime() - ageSeconds * 1000).toISOString() });
        const decision = decideEligibility(who, snap, NOW);

        const expectedRules = [
          accountOwner && 'ACCOUNT_OWNER',
          owned.length > 0 && 'BOT_OWNER',
          coDeveloped.length > 0 && 'BOT_CO_DEVELOPER',
          accountMember && 'ACCOUNT_MEMBER',
        ].filter((r): r is EligibilityRule => r !== false);

        expect(decision.snapshot).toBe(snap);
        expect(decision.snapshotAgeSeconds).toBe(ageSeconds);
        expect(decision.eligible).toBe(expectedRules.length === 0);
        if (!decision.eligible) {
          expect(decision.rules).toEqual(expectedRules);
          expect(decision.rule).toBe(expectedRules[0]);
          expect(decision.botIds).toEqual([...new Set([...owned, ...coDeveloped])].sort());
        }
      }),
    );
  });

  it('throws InvalidSnapshotError when the snapshot has no valid time', () => {
    expect(() => decideEligibility(undefined, snapshot({ takenAt: 'yesterday-ish' }), NOW)).toThrow(InvalidSnapshotError);
  });
});

describe('snapshot age', () => {
  it.each([
    { takenAt: '2025-03-01T12:00:00.000Z', age: 0 },
    { takenAt: '2025-03-01T11:59:59.500Z', age: 0 },
    { takenAt: '2025-03-01T11:59:59.000Z', age: 1 },
    { takenAt: '2025-02-28T12:00:00.000Z', age: 86_400 },
    { takenAt: '2025-03-01T12:05:00.000Z', age: 0 },
  ])('is $age s for a snapshot taken at $takenAt (whole seconds, never negative)', ({ takenAt, age }) => {
    expect(snapshotAgeSeconds(snapshot({ takenAt }), NOW)).toBe(age);
  });

  it.each([
    { takenAt: '2025-03-01T11:00:00.000Z', max: 3600, fresh: true },
    { takenAt: '2025-03-01T10:59:59.000Z', max: 3600, fresh: false },
    { takenAt: '2025-03-01T12:00:00.000Z', max: 0, fresh: true },
    { takenAt: '2025-02-01T12:00:00.000Z', max: 86_400, fresh: false },
  ])('is fresh enough within $max s: $fresh ($takenAt)', ({ takenAt, max, fresh }) => {
    expect(isSnapshotFreshEnough(snapshot({ takenAt }), NOW, max)).toBe(fresh);
  });
});

describe('explainRejection', () => {
  it('covers the rules in the order of the model', () => {
    expect([...RULE_ORDER].sort()).toEqual([...ELIGIBILITY_RULES].sort());
  });

  it.each([
    { rule: 'ACCOUNT_OWNER', says: /transfer ownership of the account/i },
    { rule: 'BOT_OWNER', says: /transfer ownership of the 2 bots listed/i },
    { rule: 'BOT_CO_DEVELOPER', says: /remove you from the 2 bots listed/i },
    { rule: 'ACCOUNT_MEMBER', says: /remove you from the account/i },
    { rule: 'PLATFORM_RULES', says: /transfer or remove any such role/i },
  ] as const)('tells the subject what to do under $rule, and to ask for a re-check', ({ rule, says }) => {
    const text = explainRejection(rule, ['st-1', 'st-2']);
    expect(text.title.length).toBeGreaterThan(0);
    expect(text.whatToDo).toMatch(says);
    expect(text.whatToDo).toMatch(/re-check/);
  });

  it('speaks of a single bot in the singular', () => {
    expect(explainRejection('BOT_OWNER', ['st-1']).whatToDo).toContain('the bot listed below');
  });

  it('still makes sense when no bot ids are known', () => {
    expect(explainRejection('BOT_OWNER', []).whatToDo).toContain('the bots you own');
    expect(explainRejection('BOT_CO_DEVELOPER', []).whatToDo).toContain('the bots you work on');
  });

  it('puts neither bot ids nor anything else from the input into the text', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ELIGIBILITY_RULES, 'PLATFORM_RULES' as const), fc.array(fc.string({ minLength: 8 }).map((s) => `st-${s}`), { maxLength: 4 }), (rule, botIds) => {
        const { title, whatToDo } = explainRejection(rule, botIds);
        for (const id of botIds) {
          expect(title).not.toContain(id);
          expect(whatToDo).not.toContain(id);
        }
      }),
    );
  });
});
