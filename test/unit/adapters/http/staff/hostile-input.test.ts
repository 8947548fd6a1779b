/**
 * Whatever a caller puts in a staff path or query string, the answer is a 4xx (problem+json on the
 * APIs, an HTML page on the console), never a 5xx: malformed percent-escapes in path ids, cursors
 * whose inner store cursor the store never issued, and a property test over every query parameter
 * and path id of the audit, ops and console routes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createAuditApi } from '../../../../../functions/adapters/http/staff/audit-api';
import { createOpsApi } from '../../../../../functions/adapters/http/staff/ops-api';
import { recordingLogger } from '../../../../support/recording-logger';
import { routeTemplate } from '../../../../../functions/adapters/http/staff/http';
import { composeApplication, type ApplicationAdapters } from '../../../../../functions/composition/application';
import { deriveKeys } from '../../../../../functions/domain/subject';
import { createWithHistory, TO_FAILED } from '../../../../support/staff-fakes';
import { apiEvent, createHarness, jsonOf, SNAPSHOT, type Harness } from '../../../../support/staff-harness';

const MALFORMED_IDS = ['%E0%A4', '%', '%zz', '%C0%AF', 'req-1%', '%ED%A0%80', '%FF%FE', 'a%2', '%%'];

async function seeded(): Promise<Harness & { auditor: string; ops: string }> {
  const h = await createHarness({ submitOnBehalf: async () => ({ requestId: 'req-new', status: 'VERIFIED' }) });
  for (let i = 1; i <= 3; i++) {
    await createWithHistory(h.store, { requestId: `req-${i}`, receivedAt: `2026-02-2${i}T10:00:00.000Z`, dueAt: `2026-03-2${i}T10:00:00.000Z` }, [...TO_FAILED]);
  }
  return Object.assign(h, { auditor: await h.tokens.valid('auditor'), ops: await h.tokens.valid('ops') });
}

/** A signed-in console request (the bearer header needs no CSRF token for GETs and POSTs alike). */
function consoleEvent(token: string, path: string, query = '', method = 'GET', form?: Record<string, string>) {
  return apiEvent({ method, path, query, token, form });
}

describe('malformed percent-escapes in staff path ids', () => {
  it.each(MALFORMED_IDS)('GET /audit/requests/%s answers a 400 problem', async (id) => {
    const h = await seeded();
    const result = await h.auditApi(apiEvent({ path: `/audit/requests/${id}`, token: h.auditor }));
    expect(result.statusCode).toBe(400);
    expect(result.headers?.['content-type']).toMatch(/^application\/problem\+json/);
    expect(jsonOf(result)).toMatchObject({ status: 400, type: expect.stringContaining('invalid-path') });
  });

  it.each(MALFORMED_IDS)('POST /ops/requests/%s/retry answers a 400 problem and changes nothing', async (id) => {
    const h = await seeded();
    const result = await h.opsApi(apiEvent({ method: 'POST', path: `/ops/requests/${id}/retry`, token: h.ops, body: { reason: 'r' } }));
    expect(result.statusCode).toBe(400);
    expect(result.headers?.['content-type']).toMatch(/^application\/problem\+json/);
    expect(h.workflow.starts).toHaveLength(0);
  });

  it.each(MALFORMED_IDS)('the console answers /console/requests/%s (page and action) with a 400 page', async (id) => {
    const h = await seeded();
    const page = await h.console(consoleEvent(h.ops, `/console/requests/${id}`));
    expect(page.statusCode).toBe(400);
    expect(page.headers?.['content-type']).toMatch(/^text\/html/);
    const action = await h.console(consoleEvent(h.ops, `/console/requests/${id}/cancel`, '', 'POST', { reason: 'r', confirm: 'yes' }));
    expect(action.statusCode).toBe(400);
  });
});

/** A genuine listing cursor of the unfiltered audit list, decoded. */
async function genuineCursor(h: Harness & { auditor: string }): Promise<{ v: number; f: string; a?: string; p?: { s: string; c?: string }[] }> {
  const first = await h.auditApi(apiEvent({ path: '/audit/requests', query: 'limit=1', token: h.auditor }));
  const cursor = jsonOf<{ cursor: string }>(first).cursor;
  return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
}

const encode = (state: unknown) => Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');

describe('listing cursors the store never issued', () => {
  it('answers an outer cursor carrying a forged inner store cursor with a 400 invalid-cursor problem', async () => {
    const h = await seeded();
    const state = await genuineCursor(h);
    const forged = { ...state, p: (state.p ?? []).map((p) => ({ ...p, c: Buffer.from('not a key the store made', 'utf8').toString('base64url') })) };
    const result = await h.auditApi(apiEvent({ path: '/audit/requests', query: `limit=1&cursor=${encode(forged)}`, token: h.auditor }));
    expect(result.statusCode).toBe(400);
    expect(jsonOf(result)).toMatchObject({ status: 400, type: expect.stringContaining('invalid-cursor'), errors: [{ field: 'cursor' }] });
    const page = await h.console(consoleEvent(h.auditor, '/console/requests', `limit=1&cursor=${encode(forged)}`));
    expect(page.statusCode).toBe(400);
  });

  it('answers any inner store cursor in an otherwise genuine outer cursor with 200 or 400, never more', async () => {
    const h = await seeded();
    const state = await genuineCursor(h);
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.base64String(), fc.stringMatching(/^[A-Za-z0-9_-]{0,60}$/)), fc.option(fc.string({ maxLength: 40 })), async (inner, after) => {
        const forged = { ...state, ...(after !== null ? { a: after } : {}), p: (state.p ?? []).map((p) => ({ ...p, c: inner })) };
        const result = await h.auditApi(apiEvent({ path: '/audit/requests', query: `cursor=${encode(forged)}`, token: h.auditor }));
        expect([200, 400]).toContain(result.statusCode);
      }),
      { numRuns: 150 },
    );
  });
});

/** Parameter names the routes know, plus anything else. */
const KEYS = ['status', 'from', 'to', 'subject', 'overdue', 'includeCanary', 'order', 'limit', 'cursor', 'format', 'done'];
/** Raw query text as a client can send it: encoded or not, malformed escapes, repeated keys. */
const rawValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.stringMatching(/^[%0-9A-Fa-fxz.,:+-]{0,24}$/),
  fc.constantFrom('', '%', '%E0%A4', '%C0%AF', 'FAILED', 'failed,COMPLETED', '2026-01-01', '2026-13-45', '9999999999', '-1', '1e3', 'true', 'on', 'desc', 'csv', 'json', '__proto__', 'constructor'),
  fc.string({ maxLength: 20 }).map((s) => encodeURIComponent(s)),
);
const rawQuery = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), rawValue), { maxLength: 6 })
  .map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${v.replace(/[&#\s]/g, '')}`).join('&'));
const rawId = fc.oneof(fc.string({ maxLength: 40 }), fc.stringMatching(/^[%0-9A-Fa-f-]{1,20}$/), fc.constantFrom(...MALFORMED_IDS, 'req-1', '..', '.')).map((s) => s.replace(/[/?#\s]/g, '') || 'x');

describe('any staff query string or path id', () => {
  it('answers every query string of every listing route with a 2xx or a 4xx', async () => {
    const h = await seeded();
    const routes: { app: 'audit' | 'ops' | 'console'; path: string }[] = [
      { app: 'audit', path: '/audit/requests' },
      { app: 'audit', path: '/audit/export' },
      { app: 'audit', path: '/audit/report' },
      { app: 'ops', path: '/ops/requests' },
      { app: 'console', path: '/console' },
      { app: 'console', path: '/console/requests' },
      { app: 'console', path: '/console/export' },
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), rawQuery, async (route, query) => {
        const event = route.app === 'console' ? consoleEvent(h.ops, route.path, query) : apiEvent({ path: route.path, query, token: route.app === 'ops' ? h.ops : h.auditor });
        const result = await (route.app === 'audit' ? h.auditApi(event) : route.app === 'ops' ? h.opsApi(event) : h.console(event));
        expect(result.statusCode ?? 200, `${route.path}?${query}`).toBeLessThan(500);
        if (route.app !== 'console' && (result.statusCode ?? 200) >= 400) expect(result.headers?.['content-type']).toMatch(/^application\/problem\+json/);
      }),
      { numRuns: 400 },
    );
  });

  it('answers every path id of every route that takes one with a 2xx, 3xx or 4xx', async () => {
    const h = await seeded();
    await fc.assert(
      fc.asyncProperty(rawId, fc.constantFrom('audit', 'ops', 'console-page', 'console-action'), async (id, where) => {
        const result =
          where === 'audit'
            ? await h.auditApi(apiEvent({ path: `/audit/requests/${id}`, token: h.auditor }))
            : where === 'ops'
              ? await h.opsApi(apiEvent({ method: 'POST', path: `/ops/requests/${id}/recheck`, token: h.ops, body: { reason: 'fuzz' } }))
              : where === 'console-page'
                ? await h.console(consoleEvent(h.auditor, `/console/requests/${id}`))
                : await h.console(consoleEvent(h.ops, `/console/requests/${id}/extend`, '', 'POST', { reason: 'fuzz', confirm: 'yes' }));
        expect(result.statusCode ?? 200, `${where} ${id}`).toBeLessThan(500);
      }),
      { numRuns: 400 },
    );
  });
});

describe('staff logging', () => {
  const capture = () => recordingLogger();

  it('writes one line for a staff 500: route template, API Gateway request id and error name, and no personal data', async () => {
    const h = await seeded();
    const logger = capture();
    const broken = { ...h.deps, store: Object.assign(Object.create(h.store), { getRequest: async () => Promise.reject(new Error('lookup of alice@example.com failed')), getTimeline: async () => Promise.reject(new Error('lookup of alice@example.com failed')) }) };
    const api = createAuditApi({ ...broken, auth: h.tokens.auth, logger });
    const event = apiEvent({ path: '/audit/requests/alice-example-com', token: h.auditor });
    (event.requestContext as { requestId?: string }).requestId = 'gw-req-1';
    const result = await api(event);
    expect(result.statusCode).toBe(500);
    expect(logger.lines).toEqual([{ level: 'error', message: 'audit api failed', route: 'GET /audit/requests/{id}', httpRequestId: 'gw-req-1', error: 'Error' }]);
    expect(JSON.stringify(logger.lines)).not.toMatch(/alice/);
  });

  it('leaves a log line for every ops action, naming the action, the request and the actor', async () => {
    const h = await seeded();
    const logger = capture();
    const api = createOpsApi({ ...h.deps, auth: h.tokens.auth, logger, submitOnBehalf: async () => ({ requestId: 'req-new' }) });
    await api(apiEvent({ method: 'POST', path: '/ops/requests/req-1/retry', token: h.ops, body: { reason: 'outage over' } }));
    await api(apiEvent({ method: 'POST', path: '/ops/requests', token: h.ops, body: { email: 'bob@example.com', reason: 'letter' } }));
    await api(apiEvent({ method: 'POST', path: '/ops/roles/refresh', token: h.ops, body: { reason: 'transfer' } }));
    expect(logger.lines.filter((l) => l.message === 'ops action').map((l) => [l.message, l['action'], l['requestId']])).toEqual([
      ['ops action', 'retry', 'req-1'],
      ['ops action', 'submit-on-behalf', undefined],
      ['ops action', 'roles-refresh', undefined],
    ]);
    expect(logger.lines.every((l) => l['actor'] === 'staff:user-ops')).toBe(true);
    expect(logger.lines.find((l) => l.message === 'roles snapshot refreshed')).toMatchObject({ reasonGiven: true });
    expect(JSON.stringify(logger.lines)).not.toMatch(/bob|letter|outage|transfer/);
  });

  it('writes one line for an ops API 500, and nothing of the path as typed', async () => {
    const h = await seeded();
    const logger = capture();
    const broken = { ...h.deps, store: Object.assign(Object.create(h.store), { appendEvent: async () => Promise.reject(new Error('write for alice@example.com failed')) }) };
    const api = createOpsApi({ ...broken, auth: h.tokens.auth, logger });
    const event = apiEvent({ method: 'POST', path: '/ops/requests/req-1/cancel', token: h.ops, body: { reason: 'asked by alice' } });
    (event.requestContext as { requestId?: string }).requestId = 'gw-req-2';
    const result = await api(event);
    expect(result.statusCode).toBe(500);
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([{ level: 'error', message: 'ops api failed', route: 'POST /ops/requests/{id}/cancel', httpRequestId: 'gw-req-2', error: 'Error' }]);
    expect(JSON.stringify(logger.lines)).not.toMatch(/alice/);
  });

  it("gets the application's log from the composition: the audit and ops APIs as wired for a Lambda write their lines", async () => {
    const h = await seeded();
    const logger = recordingLogger();
    const entries = logger.lines;
    const failing = Object.assign(Object.create(h.store), { getRequest: async () => Promise.reject(new Error('store down')), getTimeline: async () => Promise.reject(new Error('store down')) });
    const refused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used here')) });
    const adapters = {
      ...h.deps,
      claims: refused,
      tokens: refused,
      rateLimiter: refused,
      kore: refused,
      mailer: refused,
      signer: refused,
      checkpointWriter: refused,
      staffAuth: h.tokens.auth,
      subjectKeys: deriveKeys('s'.repeat(32)),
      linkKey: new TextEncoder().encode('l'.repeat(48)),
      publicBaseUrl: 'https://erase.example.com',
      settings: { poll: { initialSeconds: 10, maxSeconds: 60, fraction: 0.25, deadlineSeconds: 600 }, snapshotMaxAgeSeconds: 3600, verificationTtlSeconds: 1800, stuckAfterSeconds: 900, receivedStaleSeconds: 900 },
      sessionRevocations: h.tokens.sessions,
      rolesRefresh: async () => SNAPSHOT,
      logger,
    } as unknown as ApplicationAdapters;

    const retried = await composeApplication(adapters).opsApi(apiEvent({ method: 'POST', path: '/ops/requests/req-1/retry', token: h.ops, body: { reason: 'outage over' } }));
    expect(retried.statusCode).toBe(200);
    const failed = await composeApplication({ ...adapters, store: failing }).auditApi(apiEvent({ path: '/audit/requests/req-1', token: h.auditor }));
    expect(failed.statusCode).toBe(500);

    expect(entries.filter((e) => e.message === 'ops action')).toEqual([expect.objectContaining({ level: 'info', action: 'retry', requestId: 'req-1', actor: 'staff:user-ops' })]);
    expect(entries.filter((e) => e.level === 'error')).toEqual([expect.objectContaining({ message: 'audit api failed', route: 'GET /audit/requests/{id}', error: 'Error' })]);
  });

  it('names routes by template, never by what the caller typed', () => {
    const t = (method: string, path: string) => routeTemplate(apiEvent({ method, path }));
    expect(t('GET', '/audit/requests/alice@example.com')).toBe('GET /audit/requests/{id}');
    expect(t('POST', '/ops/requests/req-1/retry')).toBe('POST /ops/requests/{id}/retry');
    expect(t('POST', '/ops/requests/req-1/alice')).toBe('POST /ops/requests/{id}/{id}');
    expect(t('GET', '/console/requests/x/y/z/../..')).toBe('GET /console/requests/{id}/{id}/{id}/{id}/{id}');
    expect(t('GET', '/audit/export/')).toBe('GET /audit/export');
  });
});
