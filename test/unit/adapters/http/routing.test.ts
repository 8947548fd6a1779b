/**
 * The routing of the four HTTP entries, as a snapshot: every method × every known path, plus
 * unknown paths, trailing slashes and odd encodings → status, `Allow` header and problem type
 * (or, for pages, the page's heading). Staff entries are asked with a valid ops token, so what
 * shows is routing, not authentication; a second table shows that a caller without a token learns
 * nothing about the routes (401 everywhere).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicApi } from '../../../../functions/adapters/http/public/public-api';
import { PROBLEM_TYPE_BASE } from '../../../../functions/adapters/http/shared/problem';
import { apiEvent as publicEvent, makeFixture } from '../../../support/intake-fakes';
import { apiEvent as staffEvent, createHarness, type Harness } from '../../../support/staff-harness';
import { createWithHistory, TO_FAILED } from '../../../support/staff-fakes';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const;

/** Paths no entry knows, and spellings of known ones that must not pass for them (or must). */
const ODD_PATHS = ['/nope', '//', '/%2e%2e/openapi.json', '/.%2e/', '/a%00b', '/%E0%A4', '/%'];

const ID = 'req-routing-1';

type Result = APIGatewayProxyStructuredResultV2 & { headers?: Record<string, string | number | boolean> };

/** One line per answer: status, Allow header, and the problem type (or the page's heading). */
function describeAnswer(res: Result): string {
  const headers = Object.fromEntries(Object.entries(res.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  const parts = [String(res.statusCode)];
  if (headers.allow !== undefined) parts.push(`allow=${headers.allow}`);
  const type = headers['content-type'] ?? '';
  if (type.startsWith('application/problem+json')) {
    const p = JSON.parse(res.body ?? '{}') as { type?: string; title?: string };
    parts.push(`problem=${(p.type ?? '').replace(PROBLEM_TYPE_BASE, '')} "${p.title}"`);
  } else if (type.startsWith('text/html')) {
    const h1 = /<h1[^>]*>([^<]*)<\/h1>/.exec(res.body ?? '');
    parts.push(`page "${h1?.[1] ?? ''}"`);
  } else if (type) {
    parts.push(type.split(';')[0]!);
  }
  return parts.join(' ');
}

async function table(paths: readonly string[], answer: (method: string, path: string) => Promise<Result>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const path of paths) for (const method of METHODS) out[`${method} ${path}`] = describeAnswer(await answer(method, path));
  return out;
}

describe('public API routing', () => {
  const known = ['/', '/assets/site.css', '/requests', '/check-email', '/verify', '/openapi.json', '/.well-known/jwks.json', `/requests/${ID}`];
  const odd = [...ODD_PATHS, '', '/requests/', '/requests//', '/verify/', `/requests/${ID}/`, '/requests/a/b', '/Requests', '/requests/a%2Fb', '/requests/%E0%A4', '/assets/site.css/x'];

  it('answers every method on every path as before', async () => {
    const f = await makeFixture();
    const api = createPublicApi(f.deps);
    const answers = await table([...known, ...odd], (method, path) => api(publicEvent({ method, path, headers: { accept: 'application/json' } })) as Promise<Result>);
    expect(answers).toMatchSnapshot();
  });

  it('answers browsers unknown paths and wrong methods with a page', async () => {
    const f = await makeFixture();
    const api = createPublicApi(f.deps);
    const browser = { accept: 'text/html' };
    const answers = await table(['/nope', '/verify', '/requests'], (method, path) => api(publicEvent({ method, path, headers: browser })) as Promise<Result>);
    expect(answers).toMatchSnapshot();
  });
});

describe('staff routing', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ submitOnBehalf: async () => ({ message: 'accepted' }) });
    await createWithHistory(h.store, { requestId: ID }, [...TO_FAILED]);
  });
  // The token kit is shared by the staff test files of a worker: forget the sign-outs made here.
  afterAll(() => h.tokens.sessions.revoked.clear());
  /** A fresh token per call: `POST /console/logout` revokes the one it is given. */
  const ask = (app: (e: APIGatewayProxyEventV2) => Promise<unknown>) => async (method: string, path: string) =>
    (await app(staffEvent({ method, path, token: await h.tokens.valid('ops') }))) as Result;

  const auditKnown = ['/audit/requests', `/audit/requests/${ID}`, '/audit/export', '/audit/report'];
  const auditOdd = [...ODD_PATHS, '/audit', '/audit/requests/', '/audit/requests//', `/audit/requests/${ID}/`, `/audit/requests/${ID}/x`, '/audit/requests/%E0%A4', '/audit/requests/a%2Fb', '/AUDIT/requests', '/ops/requests'];

  const actions = ['retry', 'cancel', 'recheck', 'extend', 'revoke-links', 'verify'];
  const opsKnown = ['/ops/requests', ...actions.map((a) => `/ops/requests/${ID}/${a}`), '/ops/retry', '/ops/roles/refresh'];
  const opsOdd = [...ODD_PATHS, '/ops', '/ops/requests/', `/ops/requests/${ID}`, `/ops/requests/${ID}/bogus`, `/ops/requests/${ID}/retry/`, '/ops/requests/%E0%A4/retry', '/ops/roles', '/audit/requests'];

  const consoleKnown = [
    '/console',
    '/console/login',
    '/console/logout',
    '/console/requests',
    '/console/requests/search',
    `/console/requests/${ID}`,
    ...actions.map((a) => `/console/requests/${ID}/${a}`),
    '/console/roles/refresh',
    '/console/export',
  ];
  const consoleOdd = [...ODD_PATHS, '/console/', '/consolex', '/favicon.ico', '/console/nope', `/console/requests/${ID}/bogus`, '/console/requests/%E0%A4', '/console/requests//'];

  it('answers the audit API as before', async () => {
    const answers = await table([...auditKnown, ...auditOdd], ask(h.auditApi));
    expect(answers).toMatchSnapshot();
  });

  it('answers the ops API as before', async () => {
    const answers = await table([...opsKnown, ...opsOdd], ask(h.opsApi));
    expect(answers).toMatchSnapshot();
  });

  it('answers the console as before', async () => {
    const answers = await table([...consoleKnown, ...consoleOdd], ask(h.console));
    expect(answers).toMatchSnapshot();
  });

  it('tells a caller without a token nothing about the routes', async () => {
    const anonymous = (app: (e: APIGatewayProxyEventV2) => Promise<Result>, paths: readonly string[]) =>
      table(paths, (method, path) => app(staffEvent({ method, path })));
    const audit = await anonymous(h.auditApi as never, [...auditKnown, '/nope', '/audit/nope']);
    const ops = await anonymous(h.opsApi as never, [...opsKnown, '/nope', '/ops/nope']);
    for (const answer of [...Object.values(audit), ...Object.values(ops)]) expect(answer).toMatch(/^401 problem=/);
    expect(await anonymous(h.console as never, [...consoleKnown, '/console/nope'])).toMatchSnapshot();
  });
});
