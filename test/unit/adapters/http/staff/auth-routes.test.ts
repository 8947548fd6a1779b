import { describe, expect, it } from 'vitest';
import { createLocalJWKSet, generateKeyPair, exportJWK } from 'jose';
import { createStaffAuthenticator, rolesFromClaim, StaffAuthConfigError } from '../../../../../functions/adapters/http/staff/auth';
import { apiEvent, createHarness, jsonOf, type Harness } from '../../../../support/staff-harness';
import { createWithHistory, TO_FAILED } from '../../../../support/staff-fakes';

type Route = { app: 'audit' | 'ops' | 'console'; method: string; path: string; query?: string; body?: Record<string, unknown>; needs: 'read' | 'act' };

const ROUTES: Route[] = [
  { app: 'audit', method: 'GET', path: '/audit/requests', needs: 'read' },
  { app: 'audit', method: 'GET', path: '/audit/requests/req-1', needs: 'read' },
  { app: 'audit', method: 'GET', path: '/audit/export', query: 'format=csv', needs: 'read' },
  { app: 'audit', method: 'GET', path: '/audit/export', query: 'format=json', needs: 'read' },
  { app: 'audit', method: 'GET', path: '/audit/report', needs: 'read' },
  { app: 'ops', method: 'GET', path: '/ops/requests', query: 'status=failed', needs: 'act' },
  { app: 'ops', method: 'GET', path: '/ops/requests', query: 'status=stuck', needs: 'act' },
  { app: 'ops', method: 'POST', path: '/ops/requests', body: { email: 'a@b.example', reason: 'phone call' }, needs: 'act' },
  { app: 'ops', method: 'POST', path: '/ops/requests/req-1/retry', body: { reason: 'platform fixed' }, needs: 'act' },
  { app: 'ops', method: 'POST', path: '/ops/requests/req-1/cancel', body: { reason: 'withdrawn' }, needs: 'act' },
  { app: 'ops', method: 'POST', path: '/ops/requests/req-2/recheck', body: { reason: 'ownership transferred' }, needs: 'act' },
  { app: 'ops', method: 'POST', path: '/ops/requests/req-3/extend', body: { reason: 'complex case' }, needs: 'act' },
  { app: 'ops', method: 'POST', path: '/ops/retry', body: { reason: 'outage over', status: 'FAILED' }, needs: 'act' },
  { app: 'ops', method: 'POST', path: '/ops/roles/refresh', body: { reason: 'transfer done' }, needs: 'act' },
  { app: 'console', method: 'GET', path: '/console', needs: 'read' },
  { app: 'console', method: 'GET', path: '/console/requests', needs: 'read' },
  { app: 'console', method: 'GET', path: '/console/requests/req-1', needs: 'read' },
  { app: 'console', method: 'GET', path: '/console/export', query: 'format=csv', needs: 'read' },
];

async function seeded(): Promise<Harness> {
  const h = await createHarness({ submitOnBehalf: async () => ({ requestId: 'req-new', status: 'VERIFIED' }) });
  await createWithHistory(h.store, { requestId: 'req-1' }, [...TO_FAILED]);
  await createWithHistory(h.store, { requestId: 'req-2' }, [
    { type: 'VERIFICATION_SENT', status: 'AWAITING_VERIFICATION' },
    { type: 'IDENTITY_VERIFIED', status: 'VERIFIED' },
    { type: 'REQUEST_REJECTED', status: 'REJECTED', patch: { rejection: { rule: 'BOT_OWNER', botIds: ['st-1'], source: 'snapshot' } } },
  ]);
  await createWithHistory(h.store, { requestId: 'req-3', receivedAt: '2026-02-20T10:00:00.000Z', dueAt: '2026-03-20T10:00:00.000Z' }, [{ type: 'VERIFICATION_SENT', status: 'AWAITING_VERIFICATION' }]);
  return h;
}

function call(h: Harness, route: Route, token?: string) {
  const event = apiEvent({ method: route.method, path: route.path, query: route.query, body: route.body, token });
  return route.app === 'audit' ? h.auditApi(event) : route.app === 'ops' ? h.opsApi(event) : h.console(event);
}

describe('every staff route', () => {
  const name = (r: Route) => `${r.method} ${r.path}${r.query ? `?${r.query}` : ''}`;

  it.each(ROUTES.map((r) => [name(r), r] as const))('%s refuses every bad token with 401', async (_n, route) => {
    const h = await seeded();
    const attacks = await h.tokens.attacks();
    for (const [attack, token] of Object.entries(attacks)) {
      const result = await call(h, route, token);
      // The console's front door answers the sign-in form itself; everything else is 401.
      const expected = route.path === '/console' && token === undefined ? 200 : 401;
      expect(result.statusCode, `${attack}`).toBe(expected);
      if (route.app === 'console') {
        expect(result.body).toContain('<h1>Sign in</h1>');
        expect(result.body).not.toContain('req-1');
      } else {
        expect(result.headers?.['content-type']).toMatch(/^application\/problem\+json/);
        expect(String(result.headers?.['www-authenticate'])).toMatch(/^Bearer/);
        if (token !== undefined) expect(String(result.headers?.['www-authenticate'])).toContain('error="invalid_token"');
      }
    }
    // Nothing was done on the subject's behalf by any refused call.
    expect(h.workflow.starts).toEqual([]);
    expect(h.store.events.get('req-1')).toHaveLength(6);
  });

  it.each(ROUTES.map((r) => [name(r), r] as const))('%s answers a valid token of the right role', async (_n, route) => {
    const h = await seeded();
    const result = await call(h, route, await h.tokens.valid(route.needs === 'act' ? 'ops' : 'auditor'));
    expect(result.statusCode, result.body).toBe(route.method === 'POST' && route.path === '/ops/requests' ? 202 : 200);
  });

  it.each(ROUTES.filter((r) => r.needs === 'act').map((r) => [name(r), r] as const))('%s refuses an auditor with 403', async (_n, route) => {
    const h = await seeded();
    const result = await call(h, route, await h.tokens.valid('auditor'));
    expect(result.statusCode).toBe(403);
    expect(jsonOf(result).title).toBe('Not allowed');
    expect(h.workflow.starts).toEqual([]);
  });

  it.each(ROUTES.filter((r) => r.app !== 'console').map((r) => [name(r), r] as const))('%s refuses a token without a staff role with 403', async (_n, route) => {
    const h = await seeded();
    const result = await call(h, route, await h.tokens.valid('none'));
    expect(result.statusCode).toBe(403);
  });

  it('lets ops read the audit routes (ops implies read)', async () => {
    const h = await seeded();
    const result = await h.auditApi(apiEvent({ path: '/audit/requests', token: await h.tokens.valid('ops') }));
    expect(result.statusCode).toBe(200);
  });
});

describe('createStaffAuthenticator', () => {
  it.each([['HS256'], ['none'], ['PBES2-HS256+A128KW']])('refuses to be configured with the non-asymmetric algorithm %s', async (alg) => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwks = createLocalJWKSet({ keys: [await exportJWK(publicKey)] });
    expect(() => createStaffAuthenticator({ issuer: 'i', audience: 'a', jwks, algorithms: [alg] })).toThrow(StaffAuthConfigError);
  });

  it.each([
    ['an array claim', { 'cognito:groups': ['ops', 'admins'] }, 'cognito:groups', ['ops']],
    ['a space-separated string', { scope: 'auditor openid' }, 'scope', ['auditor']],
    ['a dotted path', { realm_access: { roles: ['auditor', 'ops'] } }, 'realm_access.roles', ['auditor', 'ops']],
    ['a missing claim', {}, 'cognito:groups', []],
    ['a claim of another type', { 'cognito:groups': 42 }, 'cognito:groups', []],
  ])('reads roles from %s', (_n, payload, claim, roles) => {
    expect(rolesFromClaim(payload, claim)).toEqual(roles);
  });
});
