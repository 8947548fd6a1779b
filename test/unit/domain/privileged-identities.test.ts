import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KoreRoleUser } from '../../../functions/domain/kore';
import { PrivilegedIdentityIndex, identitiesFromUser, subjectIdsOf } from '../../../functions/domain/privileged-identities';
import { detectSubjectKind, hashSubject, normaliseSubjectId } from '../../../functions/domain/subject';

const KEY = 'test-hmac-key-of-32-bytes-length';
const hash = (normalisedId: string) => hashSubject(normalisedId, KEY);
/** How a lookup hashes what a subject typed. */
const lookup = (raw: string) => hash(normaliseSubjectId(raw, detectSubjectKind(raw)));

type BtRole = NonNullable<KoreRoleUser['btRoles']>[number];
const botRole = (roleName: string, botId: string): BtRole => ({ roleId: `r-${botId}`, roleName, botId, botName: `Bot ${botId}`, groups: [] });

/** A fresh user-roles record: a plain account member unless overridden. */
function user(overrides: Partial<KoreRoleUser> = {}): KoreRoleUser {
  return {
    userId: 'u-1',
    username: 'Jane.Doe@Example.com',
    emailId: 'Jane.Doe@Example.com',
    orgUserId: 'EMP-001',
    accountId: 'acc-1',
    isDeveloper: true,
    canCreateBot: true,
    btRoles: [],
    adminRoles: [],
    ...overrides,
  };
}

describe('identitiesFromUser', () => {
  it('indexes a user under its email and under its enterprise id', () => {
    const identities = identitiesFromUser(user(), hash);
    expect(identities.map((i) => i.subjectHash).sort()).toEqual([lookup('jane.doe@example.com'), lookup('EMP-001')].sort());
  });

  it('finds the email whatever case and surrounding spaces the subject types', () => {
    const hashes = identitiesFromUser(user(), hash).map((i) => i.subjectHash);
    expect(hashes).toContain(lookup('  JANE.DOE@EXAMPLE.COM '));
  });

  it('keeps the case of the enterprise id', () => {
    const hashes = identitiesFromUser(user(), hash).map((i) => i.subjectHash);
    expect(hashes).not.toContain(lookup('emp-001'));
  });

  it('uses the username as email when there is no emailId', () => {
    const hashes = identitiesFromUser(user({ emailId: undefined, username: 'dev@example.com' }), hash).map((i) => i.subjectHash);
    expect(hashes).toContain(lookup('dev@example.com'));
  });

  it('does not take a username that is not an email for an id', () => {
    expect(subjectIdsOf(user({ emailId: undefined, username: 'janedoe', orgUserId: undefined }))).toEqual([]);
    expect(identitiesFromUser(user({ emailId: undefined, username: 'janedoe', orgUserId: undefined }), hash)).toEqual([]);
  });

  it('indexes an enterprise id that looks like an email in both its exact and its email form', () => {
    const ids = subjectIdsOf(user({ emailId: undefined, username: undefined, orgUserId: 'Jane@Corp.example' }));
    expect(ids.sort()).toEqual(['Jane@Corp.example', 'jane@corp.example']);
  });

  it('lists each id once when email, username and enterprise id coincide', () => {
    const ids = subjectIdsOf(user({ emailId: 'jane@example.com', username: 'JANE@example.com', orgUserId: 'jane@example.com' }));
    expect(ids).toEqual(['jane@example.com']);
  });

  it('marks every listed user as an account member, and nothing more for a plain member', () => {
    for (const identity of identitiesFromUser(user(), hash)) {
      expect(identity).toMatchObject({ accountMember: true, accountOwner: false, ownedBotIds: [], coDeveloperBotIds: [] });
    }
  });

  it.each([
    { roleName: 'Account Owner', owner: true },
    { roleName: 'Master Admin', owner: true },
    { roleName: 'account owner', owner: true },
    { roleName: 'MASTER ADMIN', owner: true },
    { roleName: 'Bot Admin', owner: false },
    { roleName: 'Billing Admin', owner: false },
  ])('maps the admin role $roleName to account owner: $owner', ({ roleName, owner }) => {
    const [identity] = identitiesFromUser(user({ adminRoles: [{ roleId: 'a1', roleName }] }), hash);
    expect(identity!.accountOwner).toBe(owner);
  });

  it('maps Bot Owner to owned bots and Bot Developer to co-developed bots, sorted and unique', () => {
    const btRoles = [
      botRole('Bot Owner', 'st-c'),
      botRole('Bot Developer', 'st-b'),
      botRole('Bot Owner', 'st-a'),
      botRole('Bot Owner', 'st-a'),
      botRole('bot developer', 'st-d'),
      botRole('Bot Tester', 'st-e'),
    ];
    const [identity] = identitiesFromUser(user({ btRoles }), hash);
    expect(identity).toMatchObject({ ownedBotIds: ['st-a', 'st-c'], coDeveloperBotIds: ['st-b', 'st-d'] });
  });
});

describe('PrivilegedIdentityIndex', () => {
  it('finds a user by email and by enterprise id, and an end user not at all', () => {
    const index = new PrivilegedIdentityIndex(hash);
    index.add([user({ btRoles: [botRole('Bot Owner', 'st-1')] })]);
    expect(index.get(lookup('Jane.Doe@example.com'))).toMatchObject({ ownedBotIds: ['st-1'], accountMember: true });
    expect(index.get(lookup('EMP-001'))).toMatchObject({ ownedBotIds: ['st-1'], accountMember: true });
    expect(index.get(lookup('end.user@example.com'))).toBeUndefined();
    expect(index.size).toBe(2);
    expect(index.userCount).toBe(1);
  });

  it('merges an identity seen under two users: union of bots, OR of flags', () => {
    const index = new PrivilegedIdentityIndex(hash);
    index.add([
      user({ userId: 'u-1', orgUserId: 'EMP-1', btRoles: [botRole('Bot Owner', 'st-2'), botRole('Bot Developer', 'st-9')] }),
    ]);
    index.add([
      user({
        userId: 'u-2',
        emailId: 'JANE.DOE@example.com',
        username: undefined,
        orgUserId: 'EMP-2',
        adminRoles: [{ roleName: 'Account Owner' }],
        btRoles: [botRole('Bot Owner', 'st-1'), botRole('Bot Owner', 'st-2'), botRole('Bot Developer', 'st-3')],
      }),
    ]);
    expect(index.get(lookup('jane.doe@example.com'))).toEqual({
      subjectHash: lookup('jane.doe@example.com'),
      accountOwner: true,
      accountMember: true,
      ownedBotIds: ['st-1', 'st-2'],
      coDeveloperBotIds: ['st-3', 'st-9'],
    });
    // The enterprise ids stay apart: each keeps its own user's roles.
    expect(index.get(lookup('EMP-1'))).toMatchObject({ accountOwner: false, ownedBotIds: ['st-2'] });
    expect(index.get(lookup('EMP-2'))).toMatchObject({ accountOwner: true, ownedBotIds: ['st-1', 'st-2'] });
    expect(index.size).toBe(3);
    expect(index.userCount).toBe(2);
  });

  it('counts a user repeated across pages once', () => {
    const index = new PrivilegedIdentityIndex(hash);
    index.add([user()]);
    index.add([user()]);
    expect(index.userCount).toBe(1);
    expect(index.size).toBe(2);
  });

  it('lists every identity once through values()', () => {
    const index = new PrivilegedIdentityIndex(hash);
    index.add([user({ userId: 'u-1' }), user({ userId: 'u-2', emailId: 'b@example.com', username: 'b@example.com', orgUserId: 'EMP-2' })]);
    const hashes = [...index.values()].map((i) => i.subjectHash).sort();
    expect(hashes).toEqual([lookup('jane.doe@example.com'), lookup('EMP-001'), lookup('b@example.com'), lookup('EMP-2')].sort());
  });

  it('lists the account’s bots: every bot named in any role, whatever the role, once and sorted', () => {
    const index = new PrivilegedIdentityIndex(hash);
    index.add([user({ btRoles: [botRole('Bot Owner', 'st-2'), botRole('Bot Developer', 'st-1')] })]);
    index.add([user({ userId: 'u-2', emailId: 'b@example.com', username: 'b@example.com', orgUserId: 'EMP-2', btRoles: [botRole('Bot Tester', 'st-3'), botRole('Bot Owner', 'st-1')] })]);
    index.add([user({ userId: 'u-3', btRoles: [{ ...botRole('Bot Owner', 'st-9'), botId: '' }] })]);
    expect(index.botIds()).toEqual(['st-1', 'st-2', 'st-3']);
    expect(index.botCount).toBe(3);
  });

  it('hands out copies: changing a returned identity does not change the index', () => {
    const index = new PrivilegedIdentityIndex(hash);
    index.add([user({ btRoles: [botRole('Bot Owner', 'st-1')] })]);
    index.get(lookup('EMP-001'))!.ownedBotIds.push('st-x');
    expect(index.get(lookup('EMP-001'))!.ownedBotIds).toEqual(['st-1']);
  });

  it('gives the same identities whatever the order and batching of the users', () => {
    const roleArb = fc.record({ roleName: fc.constantFrom('Bot Owner', 'Bot Developer', 'Bot Tester'), botId: fc.constantFrom('st-1', 'st-2', 'st-3') });
    const userArb = fc.record({
      userId: fc.constantFrom('u-1', 'u-2', 'u-3', 'u-4'),
      emailId: fc.option(fc.constantFrom('a@x.example', 'B@x.example', 'b@X.example'), { nil: undefined }),
      orgUserId: fc.option(fc.constantFrom('E1', 'E2'), { nil: undefined }),
      owner: fc.boolean(),
      roles: fc.array(roleArb, { maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(userArb, { maxLength: 12 }), fc.integer({ min: 1, max: 5 }), (specs, batch) => {
        const users = specs.map((s) =>
          user({
            userId: s.userId,
            emailId: s.emailId,
            username: undefined,
            orgUserId: s.orgUserId,
            adminRoles: s.owner ? [{ roleName: 'Account Owner' }] : [],
            btRoles: s.roles.map((r) => botRole(r.roleName, r.botId)),
          }),
        );
        const all = new PrivilegedIdentityIndex(hash);
        all.add(users);
        const batched = new PrivilegedIdentityIndex(hash);
        const reversed = [...users].reverse();
        for (let i = 0; i < reversed.length; i += batch) batched.add(reversed.slice(i, i + batch));
        const sortedValues = (index: PrivilegedIdentityIndex) => [...index.values()].sort((a, b) => a.subjectHash.localeCompare(b.subjectHash));
        expect(sortedValues(batched)).toEqual(sortedValues(all));
        // Every identity is the merge of what each user gives for that hash.
        for (const identity of all.values()) {
          const parts = users.flatMap((u) => identitiesFromUser(u, hash)).filter((i) => i.subjectHash === identity.subjectHash);
          expect(identity.accountOwner).toBe(parts.some((p) => p.accountOwner));
          expect(identity.ownedBotIds).toEqual([...new Set(parts.flatMap((p) => p.ownedBotIds))].sort());
          expect(identity.coDeveloperBotIds).toEqual([...new Set(parts.flatMap((p) => p.coDeveloperBotIds))].sort());
        }
      }),
    );
  });

  it('indexes an account of 50,000 users', () => {
    const index = new PrivilegedIdentityIndex((id) => id); // identity hasher: this test is about the index, not the HMAC
    const users: KoreRoleUser[] = [];
    for (let i = 0; i < 50_000; i++) {
      users.push(user({ userId: `u-${i}`, emailId: `user${i}@example.com`, username: undefined, orgUserId: `EMP-${i}`, btRoles: i % 100 === 0 ? [botRole('Bot Owner', `st-${i}`)] : [] }));
    }
    for (let i = 0; i < users.length; i += 50) index.add(users.slice(i, i + 50));
    expect(index.userCount).toBe(50_000);
    expect(index.size).toBe(100_000);
    expect(index.get('user4200@example.com')).toMatchObject({ ownedBotIds: ['st-4200'] });
    expect(index.get('EMP-4201')).toMatchObject({ ownedBotIds: [] });
  });
});
