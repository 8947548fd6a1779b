/**
 * The simulator against docs/kore-platform.md: one test per documented fact (D1…), and a check
 * that the file and this table name the same facts. Tokens here are made by hand, as the pages
 * describe them, so the simulator is held to the documentation rather than to the desk's client.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { KoreClient } from '../../../functions/adapters/kore/kore-client';
import { identitiesFromUser } from '../../../functions/domain/privileged-identities';
import {
  DEMO_ACCOUNT_OWNER,
  DEMO_BOT_OWNERS,
  DEMO_BOTS,
  DEMO_CO_DEVELOPERS,
  DEMO_END_USERS,
  DEMO_MEMBERS,
  DEV_KORE_CLIENT_ID,
  DEV_KORE_CLIENT_SECRET,
  RATE_LIMIT_MESSAGE,
  startKoreSimulator,
  type KoreSimulator,
  type KoreSimulatorOptions,
} from '../../../infra/local/kore-sim';

const DOC = readFileSync(join(import.meta.dirname, '..', '..', '..', 'docs', 'kore-platform.md'), 'utf8');
const key = new TextEncoder().encode(DEV_KORE_CLIENT_SECRET);

let sim: KoreSimulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function start(options: KoreSimulatorOptions = {}): Promise<KoreSimulator> {
  sim = await startKoreSimulator({ jobDurationMs: 0, ...options });
  return sim;
}

let jtiCounter = 0;
/** A token as the pages describe it; `claims` override or (with `undefined`) drop claims. */
async function token(claims: Record<string, unknown> = {}, { alg = 'HS256', secret = key, nowS = Math.floor(Date.now() / 1000) } = {}): Promise<string> {
  const payload: Record<string, unknown> = { appId: DEV_KORE_CLIENT_ID, sub: 'erasure-desk', iat: nowS, exp: nowS + 300, jti: `jti-${++jtiCounter}`, ...claims };
  for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).sign(secret);
}

async function call(s: KoreSimulator, method: string, path: string, { auth, body }: { auth?: string | null; body?: unknown } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const jwt = auth === undefined ? await token() : auth;
  if (jwt !== null) headers.auth = jwt;
  const response = await fetch(s.url + path, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json: json as Record<string, unknown> };
}

const ERASE = '/api/public/bot/eraseUsersData';
const STATUS = (id: string) => `/api/public/bot/eraseUsersData/status/${encodeURIComponent(id)}`;
const ROLES = (q = 'limit=50&offset=0') => `/api/public/alluserroles?${q}`;

/** Each documented fact of docs/kore-platform.md and the test that holds the simulator to it. */
const FACTS: Record<string, { what: string; check: () => Promise<void> }> = {
  D1: {
    what: 'every call needs the JWT in the auth header',
    check: async () => {
      const s = await start();
      for (const [method, path] of [['DELETE', ERASE], ['GET', STATUS('eud-1')], ['GET', ROLES()]] as const) {
        expect((await call(s, method, path, { auth: null, body: method === 'DELETE' ? { userIds: [DEMO_END_USERS.alice], botIds: [] } : undefined })).status).toBe(401);
      }
      expect((await call(s, 'GET', ROLES())).status).toBe(200);
    },
  },
  D2: {
    what: 'HS256 with the client secret, nothing else',
    check: async () => {
      const s = await start();
      expect((await call(s, 'GET', ROLES(), { auth: await token({}, { alg: 'HS512' }) })).status).toBe(401);
      expect((await call(s, 'GET', ROLES(), { auth: await token({}, { secret: new TextEncoder().encode('another-secret-another-secret-0000') }) })).status).toBe(401);
      expect((await call(s, 'GET', ROLES(), { auth: await token() })).status).toBe(200);
    },
  },
  D3: {
    what: 'appId and sub required, jti optional',
    check: async () => {
      const s = await start();
      expect((await call(s, 'GET', ROLES(), { auth: await token({ sub: undefined }) })).status).toBe(401);
      expect((await call(s, 'GET', ROLES(), { auth: await token({ appId: 'cs-someone-else' }) })).status).toBe(401);
      expect((await call(s, 'GET', ROLES(), { auth: await token({ jti: undefined }) })).status).toBe(200);
    },
  },
  D4: {
    what: 'with a jti: expiry within an hour, never replayed',
    check: async () => {
      const s = await start();
      const nowS = Math.floor(Date.now() / 1000);
      expect((await call(s, 'GET', ROLES(), { auth: await token({ exp: nowS + 3600 + 30 }) })).status).toBe(401);
      const once = await token({ exp: nowS + 3500 });
      expect((await call(s, 'GET', ROLES(), { auth: once })).status).toBe(200);
      expect((await call(s, 'GET', ROLES(), { auth: once })).status).toBe(401);
      // Without a jti no replay rule is documented: the same token works twice.
      const plain = await token({ jti: undefined });
      expect((await call(s, 'GET', ROLES(), { auth: plain })).status).toBe(200);
      expect((await call(s, 'GET', ROLES(), { auth: plain })).status).toBe(200);
      expect(s.calls().map((c) => c.outcome)).toEqual(['unauthorized', 'ok', 'replayed', 'ok', 'ok']);
    },
  },
  D5: {
    what: 'an admin-console app (credentials of the account)',
    check: async () => {
      const s = await start({ clientId: 'cs-tenant-app', clientSecret: 'tenant-secret-tenant-secret-000000' });
      expect((await call(s, 'GET', ROLES())).status).toBe(401);
    },
  },
  D6: {
    what: 'erase takes userIds (a batch, any kind of id), botIds and RemoveDataFromAllBots',
    check: async () => {
      const s = await start();
      const userIds = [DEMO_END_USERS.alice, DEMO_END_USERS.enterpriseId, 'u-0b7e3c1a-0000-4000-8000-00000000abcd', ...Array.from({ length: 150 }, (_, i) => `chan-user-${i}`)];
      const all = await call(s, 'DELETE', ERASE, { body: { userIds, botIds: [], RemoveDataFromAllBots: true } });
      const scoped = await call(s, 'DELETE', ERASE, { body: { userIds: [DEMO_END_USERS.bob], botIds: [DEMO_BOTS.support.botId] } });
      expect([all.status, scoped.status]).toEqual([200, 200]);
      const status = await call(s, 'GET', STATUS(String(all.json.requestId)));
      expect((status.json.response as unknown[]).length).toBe(userIds.length);
    },
  },
  D7: {
    what: 'erase answers { requestId, status }',
    check: async () => {
      const s = await start();
      const { status, json } = await call(s, 'DELETE', ERASE, { body: { userIds: [DEMO_END_USERS.alice], botIds: [], RemoveDataFromAllBots: true } });
      expect(status).toBe(200);
      expect(Object.keys(json).sort()).toEqual(['requestId', 'status']);
      expect(json).toMatchObject({ requestId: expect.stringMatching(/^eud-/), status: 'in-progress' });
    },
  },
  D8: {
    what: 'owners, members, bot owners and co-developers are refused; end users are not',
    check: async () => {
      const s = await start();
      for (const id of [DEMO_ACCOUNT_OWNER.email, DEMO_MEMBERS[0]!.email, DEMO_BOT_OWNERS[0]!.userId, DEMO_CO_DEVELOPERS[0]!.orgUserId!]) {
        const { status } = await call(s, 'DELETE', ERASE, { body: { userIds: [id], botIds: [], RemoveDataFromAllBots: true } });
        expect(status).toBe(400);
      }
      expect((await call(s, 'DELETE', ERASE, { body: { userIds: [DEMO_END_USERS.carol], botIds: [], RemoveDataFromAllBots: true } })).status).toBe(200);
      expect(s.calls().map((c) => c.outcome)).toEqual(['refused', 'refused', 'refused', 'refused', 'accepted']);
    },
  },
  D9: {
    what: 'status at /eraseUsersData/status/:reqId with the erase requestId',
    check: async () => {
      const s = await start();
      const { json } = await call(s, 'DELETE', ERASE, { body: { userIds: [DEMO_END_USERS.alice], botIds: [], RemoveDataFromAllBots: true } });
      expect((await call(s, 'GET', STATUS(String(json.requestId)))).status).toBe(200);
      expect((await call(s, 'GET', STATUS('eud-does-not-exist'))).status).toBe(404);
    },
  },
  D10: {
    what: 'status answers { _id, createdOn, lastUpdatedOn, RemoveDataFromAllBots, response[{ userId, status }] } ending in SUCCESS',
    check: async () => {
      const s = await start();
      const { json } = await call(s, 'DELETE', ERASE, { body: { userIds: [DEMO_END_USERS.alice, DEMO_END_USERS.bob], botIds: [], RemoveDataFromAllBots: true } });
      const { json: job } = await call(s, 'GET', STATUS(String(json.requestId)));
      expect(Object.keys(job).sort()).toEqual(['RemoveDataFromAllBots', '_id', 'createdOn', 'lastUpdatedOn', 'response']);
      expect(job).toMatchObject({ _id: json.requestId, RemoveDataFromAllBots: true });
      expect(job.response).toEqual([
        { userId: DEMO_END_USERS.alice, status: 'SUCCESS' },
        { userId: DEMO_END_USERS.bob, status: 'SUCCESS' },
      ]);
    },
  },
  D11: {
    what: 'user roles pages with limit (records returned) and offset (records skipped)',
    check: async () => {
      const s = await start({ account: { generatedUsers: 120 } });
      const first = await call(s, 'GET', ROLES('limit=50&offset=0'));
      const last = await call(s, 'GET', ROLES('limit=50&offset=100'));
      expect((first.json.users as unknown[]).length).toBe(50);
      expect((last.json.users as unknown[]).length).toBe(20);
      expect([first.json.availableMore, last.json.availableMore]).toEqual([true, false]);
    },
  },
  D12: {
    what: 'user roles answer { total, availableMore, users[] } with the documented user fields',
    check: async () => {
      const s = await start();
      const { json } = await call(s, 'GET', ROLES('limit=50'));
      expect(Object.keys(json).sort()).toEqual(['availableMore', 'total', 'users']);
      const developer = (json.users as Record<string, unknown>[]).find((u) => u.userId === DEMO_CO_DEVELOPERS[0]!.userId)!;
      for (const field of ['username', 'orgUserId', 'accountId', 'isDeveloper', 'canCreateBot', 'userId', 'btRoles', 'adminRoles']) expect(developer).toHaveProperty(field);
      expect(developer.btRoles).toContainEqual(expect.objectContaining({ roleName: 'Bot Developer', botId: expect.stringMatching(/^st-/), roleId: expect.any(String), groups: [] }));
    },
  },
  D13: {
    what: 'per account 60 calls a minute and 1,800 an hour',
    check: async () => {
      let t = Date.parse('2026-03-01T12:00:00Z');
      const s = await start({ rateLimits: true, now: () => t });
      const nowS = () => Math.floor(t / 1000);
      const statuses: number[] = [];
      for (let i = 0; i < 61; i++) statuses.push((await call(s, 'GET', ROLES('limit=1'), { auth: await token({}, { nowS: nowS() }) })).status);
      expect(statuses.slice(0, 60).every((x) => x === 200)).toBe(true);
      expect(statuses[60]).toBe(429);
      // The minute passes: calls go through again, until 1,800 in the hour.
      let hourly = 60;
      for (let minute = 1; hourly < 1800; minute++) {
        t += 60_000;
        for (let i = 0; i < 60 && hourly < 1800; i++, hourly++) expect((await call(s, 'GET', ROLES('limit=1'), { auth: await token({}, { nowS: nowS() }) })).status).toBe(200);
      }
      t += 60_000;
      expect((await call(s, 'GET', ROLES('limit=1'), { auth: await token({}, { nowS: nowS() }) })).status).toBe(429);
      t += 3_600_000;
      expect((await call(s, 'GET', ROLES('limit=1'), { auth: await token({}, { nowS: nowS() }) })).status).toBe(200);
    },
  },
  D14: {
    what: 'over the limit: the documented message, no Retry-After unless configured',
    check: async () => {
      const s = await start({ rateLimits: { perMinute: 1 } });
      await call(s, 'GET', ROLES('limit=1'));
      const refused = await call(s, 'GET', ROLES('limit=1'));
      expect(refused.text).toContain('Rate limit for this API has been reached');
      expect(RATE_LIMIT_MESSAGE).toMatch(/^Rate limit for this API has been reached/);
      expect(refused.headers.get('retry-after')).toBeNull();
      expect(s.calls().at(-1)).toMatchObject({ outcome: 'rate-limited', httpStatus: 429 });
    },
  },
  D15: {
    what: 'Master Admin and Primary Master Admin are account-level ownership roles for the desk',
    check: async () => {
      const user = (roleName: string) => ({ userId: 'u-1', username: 'x@example.com', adminRoles: [{ roleId: 'r', roleName }] });
      for (const roleName of ['Master Admin', 'Primary Master Admin', 'Account Owner']) expect(identitiesFromUser(user(roleName), (id) => id)[0]?.accountOwner).toBe(true);
    },
  },
};

const SESSIONS = '/api/public/getSessions';
const DAY = 86_400_000;
const sessionsOf = async (s: KoreSimulator, body: Record<string, unknown>, path = SESSIONS) => call(s, 'POST', path, { body });

/** The Sessions History facts (S…) of docs/kore-platform.md. */
const SESSION_FACTS: Record<string, { what: string; check: () => Promise<void> }> = {
  S1: {
    what: 'POST /api/public/getSessions is the admin-console form, with an optional containmentType query',
    check: async () => {
      const s = await start();
      expect((await sessionsOf(s, { userId: DEMO_END_USERS.alice })).status).toBe(200);
      expect((await sessionsOf(s, { userId: DEMO_END_USERS.alice }, `${SESSIONS}?containmentType=selfService`)).status).toBe(200);
      expect((await call(s, 'GET', SESSIONS)).status).toBe(405);
      expect((await call(s, 'POST', SESSIONS, { auth: null, body: {} })).status).toBe(401);
    },
  },
  S2: {
    what: 'the call needs the admin scope Bot Analytics > Bot Sessions',
    check: async () => {
      const s = await start({ faults: { sessionsScopeMissing: true } });
      const refused = await sessionsOf(s, { userId: DEMO_END_USERS.alice });
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('Bot Analytics > Bot Sessions');
    },
  },
  S3: {
    what: 'userId, skip or offset, and limit select a user and a page',
    check: async () => {
      const s = await start();
      const all = await sessionsOf(s, { userId: DEMO_END_USERS.alice, limit: 100 });
      const bySkip = await sessionsOf(s, { userId: DEMO_END_USERS.alice, skip: 1, limit: 1 });
      const byOffset = await sessionsOf(s, { userId: DEMO_END_USERS.alice, offset: 1, limit: 1 });
      expect((all.json.sessions as unknown[]).length).toBe(3);
      expect(bySkip.json.sessions).toEqual(byOffset.json.sessions);
      expect((bySkip.json.sessions as unknown[]).length).toBe(1);
      expect((await sessionsOf(s, { userId: DEMO_END_USERS.bob, limit: 100 })).json.sessions).not.toEqual(all.json.sessions);
    },
  },
  S4: {
    what: 'dates are yyyy-mm-dd or ISO times; without them, the 7 days before today',
    check: async () => {
      const s = await start();
      s.sessions.add('dates@example.com', DEMO_BOTS.hr.botId, Date.now() - 3 * DAY);
      s.sessions.add('dates@example.com', DEMO_BOTS.hr.botId, Date.now() - 9 * DAY);
      const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
      expect((await sessionsOf(s, { userId: 'dates@example.com' })).json.total).toBe(1);
      expect((await sessionsOf(s, { userId: 'dates@example.com', dateFrom: day(Date.now() - 10 * DAY), dateTo: day(Date.now()) })).json.total).toBe(2);
      expect((await sessionsOf(s, { userId: 'dates@example.com', dateFrom: new Date(Date.now() - 10 * DAY).toISOString(), dateTo: new Date(Date.now() - 5 * DAY).toISOString() })).json.total).toBe(1);
    },
  },
  S5: {
    what: 'sessions come newest first',
    check: async () => {
      const s = await start();
      for (const daysAgo of [4, 1, 6, 2]) s.sessions.add('order@example.com', DEMO_BOTS.hr.botId, Date.now() - daysAgo * DAY);
      const starts = ((await sessionsOf(s, { userId: 'order@example.com' })).json.sessions as { start_time: string }[]).map((x) => Date.parse(x.start_time));
      expect(starts).toEqual([...starts].sort((a, b) => b - a));
      expect(starts).toHaveLength(4);
    },
  },
  S6: {
    what: 'a session names its user and its bot',
    check: async () => {
      const s = await start();
      const sessions = (await sessionsOf(s, { userId: DEMO_END_USERS.carol })).json.sessions as { userId: string; botId: string }[];
      expect(sessions.every((x) => x.userId === DEMO_END_USERS.carol && x.botId.startsWith('st-'))).toBe(true);
    },
  },
};

describe('the simulator holds to docs/kore-platform.md', () => {
  it('has a test for every documented fact of the file, and no test for a fact it does not list', () => {
    const documented = [...DOC.matchAll(/^\| (D\d+) \|/gm)].map((m) => m[1]);
    expect(Object.keys(FACTS)).toEqual(documented);
    expect(Object.keys(SESSION_FACTS)).toEqual([...DOC.matchAll(/^\| (S\d+) \|/gm)].map((m) => m[1]));
  });

  for (const [id, fact] of Object.entries({ ...FACTS, ...SESSION_FACTS })) it(`${id}: ${fact.what}`, fact.check);
});

describe('the rate limits', () => {
  it('are on by default, at the documented 60 a minute and 1,800 an hour', async () => {
    const s = await start();
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) statuses.push((await call(s, 'GET', ROLES('limit=1'))).status);

    expect(s.config.rateLimits).toMatchObject({ perMinute: 60, perHour: 1800, minuteMs: 60_000, hourMs: 3_600_000, status: 429 });
    expect(statuses.filter((x) => x === 429)).toHaveLength(1);
  });

  it('are off only when a test asks', async () => {
    const s = await start({ rateLimits: false });
    const statuses: number[] = [];
    for (let i = 0; i < 70; i++) statuses.push((await call(s, 'GET', ROLES('limit=1'))).status);

    expect(s.config.rateLimits).toBeUndefined();
    expect(new Set(statuses)).toEqual(new Set([200]));
  });

  it('count over compressed windows when asked (a test clock)', async () => {
    let t = Date.parse('2026-03-01T12:00:00Z');
    const s = await start({ rateLimits: { perMinute: 2, perHour: 3, minuteMs: 100, hourMs: 1_000 }, now: () => t });
    const nowS = () => Math.floor(t / 1000);
    const statusAt = async () => (await call(s, 'GET', ROLES('limit=1'), { auth: await token({}, { nowS: nowS() }) })).status;

    expect([await statusAt(), await statusAt(), await statusAt()]).toEqual([200, 200, 429]);
    t += 100;
    expect([await statusAt(), await statusAt()]).toEqual([200, 429]);
    t += 1_000;
    expect(await statusAt()).toBe(200);
  });

  it('take another status and a Retry-After when configured', async () => {
    const s = await start({ rateLimits: { perMinute: 1, status: 400, retryAfterSeconds: 30 } });
    await call(s, 'GET', ROLES('limit=1'));
    const refused = await call(s, 'GET', ROLES('limit=1'));

    expect(refused.status).toBe(400);
    expect(refused.headers.get('retry-after')).toBe('30');
  });
});

describe('what the pages leave open, as fault modes', () => {
  it('answers a status word the desk has never seen, and lifts it again', async () => {
    const s = await start({ faults: { unknownStatus: 'QUEUED' } });
    const { json } = await call(s, 'DELETE', ERASE, { body: { userIds: [DEMO_END_USERS.alice], botIds: [], RemoveDataFromAllBots: true } });
    const during = await call(s, 'GET', STATUS(String(json.requestId)));
    s.setFaults({ unknownStatus: '' });
    const after = await call(s, 'GET', STATUS(String(json.requestId)));

    expect(during.json.response).toEqual([{ userId: DEMO_END_USERS.alice, status: 'QUEUED' }]);
    expect(after.json.response).toEqual([{ userId: DEMO_END_USERS.alice, status: 'SUCCESS' }]);
  });

  it.each(['errors-msg', 'message', 'error-object', 'plain-text'] as const)('refuses in the %s shape, which the desk still reads as a refusal', async (refusalShape) => {
    const s = await start({ faults: { refusalShape } });
    const client = new KoreClient({ baseUrl: s.url, clientId: DEV_KORE_CLIENT_ID, clientSecret: DEV_KORE_CLIENT_SECRET });

    const error = await client.eraseUsersData([DEMO_ACCOUNT_OWNER.email], []).then(
      () => undefined,
      (e: unknown) => e as Error,
    );

    expect(error?.name).toBe('KoreRefusedError');
  });

  it('shows admin-role entries of varied shapes, which the desk reads without failing and counts as privileged', async () => {
    const s = await start({ faults: { adminRoleShapes: 'varied' } });
    const client = new KoreClient({ baseUrl: s.url, clientId: DEV_KORE_CLIENT_ID, clientSecret: DEV_KORE_CLIENT_SECRET });

    const raw = await call(s, 'GET', ROLES('limit=50'));
    const page = await client.getUserRoles(0, 50);

    const shapes = new Set((raw.json.users as { adminRoles: unknown[] }[]).flatMap((u) => u.adminRoles.map((r) => (typeof r === 'string' ? 'string' : Object.keys(r as object).sort().join(',')))));
    expect(shapes.size).toBeGreaterThanOrEqual(3);
    expect(page.users.every((u) => (u.adminRoles ?? []).some((r) => r.unrecognised))).toBe(true);
    expect(page.users.map((u) => identitiesFromUser(u, (id) => id)[0]?.accountOwner)).not.toContain(false);
  });
});
