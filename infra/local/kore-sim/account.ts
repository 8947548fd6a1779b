/**
 * The simulated Kore.ai account: its bots, the users listed by `alluserroles` (everyone who
 * belongs to the account, with their bot and admin roles), and the end users who only ever
 * chatted with the bots (they are not in user-roles, so they may be erased).
 *
 * The demo identities are exported so tests and the local runtime elsewhere can name them.
 */
import type { KoreRoleUser } from '../../../functions/domain/kore';
import { seededRandom, seededUuid } from './random';

export interface SimBot {
  botId: string;
  botName: string;
}

/** The three bots of the demo account. */
export const DEMO_BOTS = {
  support: { botId: 'st-7a1c2e4b-3d5f-4a6b-8c9d-0e1f2a3b4c5d', botName: 'Support Bot' },
  billing: { botId: 'st-1b2c3d4e-5f60-4718-89ab-cdef01234567', botName: 'Billing Bot' },
  hr: { botId: 'st-9e8d7c6b-5a49-4382-a1b0-fedcba987654', botName: 'HR Helpdesk' },
} as const satisfies Record<string, SimBot>;

export const DEMO_BOT_IDS: readonly string[] = Object.values(DEMO_BOTS).map((b) => b.botId);

export const DEMO_ACCOUNT_ID = '6512a0c4e1b2c3d4e5f60718';

export interface DemoIdentity {
  /** Email (the `username`/`emailId` of user-roles). */
  email: string;
  /** Enterprise (org-assigned) user id, when the account assigns one. */
  orgUserId?: string;
  /** Kore's own user id (`u-…`). */
  userId: string;
}

/** The account owner (admin role `Account Owner`). The platform refuses to erase them. */
export const DEMO_ACCOUNT_OWNER: DemoIdentity = {
  email: 'owner@demo.example',
  orgUserId: 'emp-0001',
  userId: 'u-0b7e3c1a-2f4d-4e6a-9b8c-1d2e3f4a5b01',
};

/** Owners of bots (`Bot Owner`): the first owns Support and Billing, the second HR. */
export const DEMO_BOT_OWNERS: readonly (DemoIdentity & { botIds: readonly string[] })[] = [
  { email: 'dana.owner@demo.example', orgUserId: 'emp-0002', userId: 'u-0b7e3c1a-2f4d-4e6a-9b8c-1d2e3f4a5b02', botIds: [DEMO_BOTS.support.botId, DEMO_BOTS.billing.botId] },
  { email: 'eli.owner@demo.example', orgUserId: 'emp-0003', userId: 'u-0b7e3c1a-2f4d-4e6a-9b8c-1d2e3f4a5b03', botIds: [DEMO_BOTS.hr.botId] },
];

/** Co-developers (`Bot Developer`): the first of Support, the second of Billing and HR. */
export const DEMO_CO_DEVELOPERS: readonly (DemoIdentity & { botIds: readonly string[] })[] = [
  { email: 'frank.dev@demo.example', orgUserId: 'emp-0004', userId: 'u-0b7e3c1a-2f4d-4e6a-9b8c-1d2e3f4a5b04', botIds: [DEMO_BOTS.support.botId] },
  { email: 'gina.dev@demo.example', orgUserId: 'emp-0005', userId: 'u-0b7e3c1a-2f4d-4e6a-9b8c-1d2e3f4a5b05', botIds: [DEMO_BOTS.billing.botId, DEMO_BOTS.hr.botId] },
];

/** Plain members of the account (no bot role): still refused, they belong to the account. */
export const DEMO_MEMBERS: readonly DemoIdentity[] = [
  { email: 'hank@demo.example', orgUserId: 'emp-0006', userId: 'u-0b7e3c1a-2f4d-4e6a-9b8c-1d2e3f4a5b06' },
  { email: 'ivy@demo.example', orgUserId: 'emp-0007', userId: 'u-0b7e3c1a-2f4d-4e6a-9b8c-1d2e3f4a5b07' },
  { email: 'jack@demo.example', userId: 'u-0b7e3c1a-2f4d-4e6a-9b8c-1d2e3f4a5b08' },
];

/** End users who chatted with the bots: not in user-roles, so their data may be erased. */
export const DEMO_END_USERS = {
  alice: 'alice@example.com',
  bob: 'bob@example.com',
  carol: 'carol@example.com',
  /** Enterprise ids of end users known by their company's id rather than an email. */
  enterpriseId: 'emp-1001',
  enterpriseId2: 'emp-1002',
} as const;

/** Role ids as the platform shows them (ObjectId-like). */
export const ROLE_IDS = {
  accountOwner: '5c04ae921ad9976d311e9b40',
  botOwner: '5c04ae921ad9976d311e9b4f',
  botDeveloper: '5c04ae921ad9976d311e9b50',
} as const;

/** Why the platform refuses to erase an id (most significant first). */
export type RefusalReason = 'account-owner' | 'bot-owner' | 'co-developer' | 'account-member';

export interface SimAccount {
  readonly accountId: string;
  readonly bots: readonly SimBot[];
  /** Everyone listed by `alluserroles`, in listing order. */
  readonly users: readonly KoreRoleUser[];
  /**
   * Why an erasure of `id` (email, enterprise id or Kore user id) would be refused, or undefined
   * for an end user. Emails match case-insensitively, other ids exactly.
   */
  refusalOf(id: string): RefusalReason | undefined;
  hasBot(botId: string): boolean;
}

/** Upper bound of a generated account (the size the tests page through). */
export const MAX_GENERATED_USERS = 50_000;

export type AccountSpec = 'demo' | { generatedUsers: number; seed?: number };

function roleUser(identity: DemoIdentity, roles: { owner?: readonly string[]; developer?: readonly string[]; accountOwner?: boolean }, bots: Map<string, SimBot>): KoreRoleUser {
  const btRoles = [
    ...(roles.owner ?? []).map((botId) => ({ roleId: ROLE_IDS.botOwner, roleName: 'Bot Owner', botId, botName: bots.get(botId)?.botName ?? 'Bot', groups: [] })),
    ...(roles.developer ?? []).map((botId) => ({ roleId: ROLE_IDS.botDeveloper, roleName: 'Bot Developer', botId, botName: bots.get(botId)?.botName ?? 'Bot', groups: [] })),
  ];
  return {
    username: identity.email,
    emailId: identity.email,
    ...(identity.orgUserId !== undefined && { orgUserId: identity.orgUserId }),
    accountId: DEMO_ACCOUNT_ID,
    isDeveloper: btRoles.length > 0 || roles.accountOwner === true,
    canCreateBot: btRoles.length > 0 || roles.accountOwner === true,
    userId: identity.userId,
    btRoles,
    adminRoles: roles.accountOwner ? [{ roleId: ROLE_IDS.accountOwner, roleName: 'Account Owner' }] : [],
  };
}

function demoUsers(bots: Map<string, SimBot>): KoreRoleUser[] {
  return [
    roleUser(DEMO_ACCOUNT_OWNER, { accountOwner: true }, bots),
    ...DEMO_BOT_OWNERS.map((u) => roleUser(u, { owner: u.botIds }, bots)),
    ...DEMO_CO_DEVELOPERS.map((u) => roleUser(u, { developer: u.botIds }, bots)),
    ...DEMO_MEMBERS.map((u) => roleUser(u, {}, bots)),
  ];
}

/**
 * Builds an account. `'demo'` is the small demo account; `{ generatedUsers: N }` is the demo
 * account's users followed by generated members up to N users in all (at least the demo's
 * eight), about 2 % of them bot owners and 6 % co-developers of seeded bots. The same spec and
 * seed always build the same account.
 * @throws RangeError when N is not an integer in 1..50 000.
 */
export function buildAccount(spec: AccountSpec = 'demo'): SimAccount {
  const bots = new Map<string, SimBot>(Object.values(DEMO_BOTS).map((b) => [b.botId, b]));
  const users = demoUsers(bots);
  if (spec !== 'demo') {
    const { generatedUsers: n, seed = 1 } = spec;
    if (!Number.isInteger(n) || n < 1 || n > MAX_GENERATED_USERS) {
      throw new RangeError(`generatedUsers must be an integer in 1..${MAX_GENERATED_USERS}`);
    }
    const random = seededRandom(seed);
    const extraBots = Math.floor(n / 1000);
    for (let k = 1; k <= extraBots; k++) {
      const bot = { botId: `st-${seededUuid(random)}`, botName: `Generated Bot ${k}` };
      bots.set(bot.botId, bot);
    }
    const botIds = [...bots.keys()];
    const pick = () => botIds[Math.floor(random() * botIds.length)]!;
    for (let i = users.length + 1; i <= n; i++) {
      const num = String(i).padStart(6, '0');
      // The uuid's last group is the index: unique by construction, whatever the seed.
      const userId = `u-${seededUuid(random).slice(0, 24)}${i.toString(16).padStart(12, '0')}`;
      const identity = { email: `user-${num}@gen.example`, orgUserId: `gen-${num}`, userId };
      const r = random();
      if (r < 0.02) users.push(roleUser(identity, { owner: [pick()] }, bots));
      else if (r < 0.08) users.push(roleUser(identity, { developer: random() < 0.5 ? [pick()] : [...new Set([pick(), pick()])] }, bots));
      else users.push(roleUser(identity, {}, bots));
    }
  }
  return indexAccount(users, [...bots.values()]);
}

function refusalOfUser(user: KoreRoleUser): RefusalReason {
  if ((user.adminRoles ?? []).some((r) => ['account owner', 'master admin'].includes(r.roleName.toLowerCase()))) return 'account-owner';
  const roles = (user.btRoles ?? []).map((r) => r.roleName.toLowerCase());
  if (roles.includes('bot owner')) return 'bot-owner';
  if (roles.includes('bot developer')) return 'co-developer';
  return 'account-member';
}

const RANK: Record<RefusalReason, number> = { 'account-owner': 0, 'bot-owner': 1, 'co-developer': 2, 'account-member': 3 };

function indexAccount(users: KoreRoleUser[], bots: SimBot[]): SimAccount {
  const byEmail = new Map<string, RefusalReason>();
  const byExact = new Map<string, RefusalReason>();
  const put = (map: Map<string, RefusalReason>, key: string, reason: RefusalReason) => {
    const seen = map.get(key);
    if (seen === undefined || RANK[reason] < RANK[seen]) map.set(key, reason);
  };
  for (const user of users) {
    const reason = refusalOfUser(user);
    for (const email of [user.username, user.emailId]) if (email?.includes('@')) put(byEmail, email.toLowerCase(), reason);
    if (user.orgUserId) {
      put(byExact, user.orgUserId, reason);
      if (user.orgUserId.includes('@')) put(byEmail, user.orgUserId.toLowerCase(), reason);
    }
    put(byExact, user.userId, reason);
  }
  const botIds = new Set(bots.map((b) => b.botId));
  return {
    accountId: DEMO_ACCOUNT_ID,
    bots,
    users,
    refusalOf: (id) => byExact.get(id) ?? (id.includes('@') ? byEmail.get(id.trim().toLowerCase()) : undefined),
    hasBot: (botId) => botIds.has(botId),
  };
}
