import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { IllegalTransitionError } from '../../../../../functions/domain/errors';
import { hashSubject, normaliseSubjectId } from '../../../../../functions/domain/subject';
import { CONTENT_SECURITY_POLICY } from '../../../../../functions/adapters/http/shared/messages';
import { createPublicApi } from '../../../../../functions/adapters/http/public/public-api';
import { sha256Hex, verifyReceipt } from '../../../../../functions/intake/receipts';
import { apiEvent, makeFixture, type Fixture } from '../../../../support/intake-fakes';

const BROWSER = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
const FORM = { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded' };

type Res = APIGatewayProxyStructuredResultV2 & { headers: Record<string, string> };

function expectPageHeaders(res: Res) {
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
  expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline|script-src/);
  expect(res.headers['strict-transport-security']).toMatch(/^max-age=\d{8,}/);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['cache-control']).toBe('no-store');
  // No script, no inline style or handler in any tag (escaped text may mention them harmlessly).
  expect(res.body).not.toMatch(/<script|<[^>]*\s(style|on[a-z]+)=/i);
}

/** Loads the form like a browser: the page's CSRF token and the cookie that goes with it. */
async function openForm(f: Fixture, api = createPublicApi(f.deps)) {
  const res = (await api(apiEvent({ path: '/', headers: BROWSER }))) as Res;
  const token = /name="csrf" value="([^"]+)"/.exec(res.body!)![1]!;
  const cookie = res.cookies![0]!.split(';')[0]!;
  return { api, res, token, cookie };
}

async function postForm(f: Fixture, fields: string, extraHeaders: Record<string, string> = {}) {
  const { api, token, cookie } = await openForm(f);
  return (await api(
    apiEvent({ method: 'POST', path: '/requests', headers: { ...FORM, ...extraHeaders }, cookies: [cookie], body: `csrf=${encodeURIComponent(token)}&${fields}` }),
  )) as Res;
}

function pathAndQuery(url: string) {
  const u = new URL(url);
  return { path: u.pathname, query: u.search.slice(1) };
}

describe('GET / (the form)', () => {
  it('serves an accessible form with a CSRF field and a strict, secure cookie', async () => {
    const f = await makeFixture();
    const { res, token } = await openForm(f);
    expect(res.statusCode).toBe(200);
    expectPageHeaders(res);
    const body = res.body!;
    expect(body).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(body).toContain('<html lang="en">');
    expect(body).toMatch(/<label for="email">/);
    expect(body).toMatch(/<input type="email" id="email" name="email" autocomplete="email"/);
    expect(body).toMatch(/<fieldset>\s*<legend>/);
    expect(body).toContain('aria-describedby="email-hint"');
    expect(body).toContain('<link rel="stylesheet" href="/assets/site.css">');
    expect(body).toMatch(/What will be erased[\s\S]*What happens next[\s\S]*Privacy notice[\s\S]*keyed hash[\s\S]*audit trail/);
    expect(res.cookies![0]).toBe(`__Host-csrf=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=7200; Secure`);
  });

  it('uses a plain `csrf` cookie without Secure when the site runs on local http', async () => {
    const f = await makeFixture({ publicBaseUrl: 'http://127.0.0.1:3000' });
    const { res } = await openForm(f);
    expect(res.cookies![0]).toMatch(/^csrf=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=7200$/);
    const ok = await postForm(f, 'email=jane%40example.com');
    expect(ok.statusCode).toBe(303);
  });

  it('serves the stylesheet the pages link to', async () => {
    const f = await makeFixture();
    const res = (await createPublicApi(f.deps)(apiEvent({ path: '/assets/site.css' }))) as Res;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(res.body).toContain(':focus-visible');
  });
});

/** The confirmation page's button: POSTs the emailed link's token to /verify. */
function confirmEvent(link: string, headers: Record<string, string> = BROWSER) {
  const token = new URL(link).searchParams.get('token') ?? '';
  return apiEvent({ method: 'POST', path: '/verify', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` });
}

describe('the subject’s journey over HTTP', () => {
  it('goes from form post to verified and queued, then shows the receipt once completed', async () => {
    const f = await makeFixture();
    const posted = await postForm(f, 'email=Jane%40Example.com&botIds=');
    expect(posted.statusCode).toBe(303);
    // The browser learns nothing about the address: every submission lands on the same page.
    expect(posted.headers.location).toBe('https://erase.example.test/check-email');

    const api = createPublicApi(f.deps);
    const landing = (await api(apiEvent({ path: '/check-email', headers: BROWSER }))) as Res;
    expect(landing.statusCode).toBe(200);
    expectPageHeaders(landing);
    expect(landing.body).toMatch(/<h1>Check your email<\/h1>[\s\S]*within 30 minutes[\s\S]*after 10 minutes/);

    // Opening the link shows what will happen and changes nothing (mail scanners open links too).
    const opened = (await api(apiEvent({ ...pathAndQuery(f.mailer.verifyLink()), headers: BROWSER }))) as Res;
    expect(opened.statusCode).toBe(200);
    expectPageHeaders(opened);
    expect(opened.body).toMatch(/<form method="post" action="\/verify">[\s\S]*name="token"[\s\S]*Confirm and erase my data/);
    expect(f.store.requests.values().next().value!.status).toBe('AWAITING_VERIFICATION');
    expect(f.workflow.starts).toHaveLength(0);

    const verified = (await api(confirmEvent(f.mailer.verifyLink()))) as Res;
    expect(verified.statusCode).toBe(303);
    const statusUrl = verified.headers.location!;
    expect(statusUrl).toMatch(/^https:\/\/erase\.example\.test\/requests\/[0-9a-f-]{36}\?token=/);
    expect(f.workflow.starts).toHaveLength(1);

    const [requestId] = [...f.store.requests.keys()];
    const rawStatusAnswer = '{"_id":"eud-1","response":[{"userId":"jane@example.com","status":"SUCCESS"}]}';
    await f.store.advance(requestId!, { type: 'ERASURE_SUBMITTED', actor: 'system:workflow', status: 'SUBMITTED', details: { koreRequestId: 'eud-1' } }, { koreRequestId: 'eud-1' });
    await f.store.advance(
      requestId!,
      { type: 'ERASURE_COMPLETED', actor: 'system:workflow', status: 'COMPLETED', at: '2026-03-10T09:30:00.000Z', details: { finalStatusSha256: sha256Hex(rawStatusAnswer) } },
      { completedAt: '2026-03-10T09:30:00.000Z', subjectCipher: null },
    );

    const json = (await api(apiEvent({ ...pathAndQuery(statusUrl), headers: { accept: 'application/json' } }))) as Res;
    expect(json.statusCode).toBe(200);
    const view = JSON.parse(json.body!);
    expect(view.status).toBe('COMPLETED');
    expect(view.timeline.map((t: { title: string }) => t.title)).toEqual([
      'Request received',
      'Confirmation email sent',
      'Request confirmed',
      'Erasure scheduled',
      'Erasure sent to the platform',
      'Erasure completed',
    ]);

    const jwks = JSON.parse(((await api(apiEvent({ path: '/.well-known/jwks.json' }))) as Res).body!);
    const claims = await verifyReceipt(view.receipt, jwks.keys[0]);
    expect(claims).toMatchObject({ requestId, koreRequestId: 'eud-1', finalStatusSha256: sha256Hex(rawStatusAnswer), completedAt: '2026-03-10T09:30:00.000Z', outcome: 'COMPLETED' });

    const page = (await api(apiEvent({ ...pathAndQuery(statusUrl), headers: BROWSER }))) as Res;
    expectPageHeaders(page);
    expect(page.body).toContain('Your erasure receipt');
    const shown = /<textarea id="receipt" class="receipt" readonly rows="6">([^<]+)<\/textarea>/.exec(page.body!)![1]!;
    expect(await verifyReceipt(shown, jwks.keys[0])).toEqual(claims);
    expect(page.body).toContain('https://erase.example.test/.well-known/jwks.json');
  });

  it('answers a JSON submission with 202 and the same words for a new and for an open request, naming neither', async () => {
    const f = await makeFixture();
    const post = async () =>
      (await createPublicApi(f.deps)(
        apiEvent({ method: 'POST', path: '/requests', headers: { 'content-type': 'application/json; charset=UTF-8' }, body: JSON.stringify({ email: 'jane@example.com', botIds: [] }) }),
      )) as Res;
    const fresh = await post();
    const again = await post();
    expect(fresh.statusCode).toBe(202);
    expect(fresh.headers['content-type']).toBe('application/json');
    expect(JSON.parse(fresh.body!)).toEqual({ message: expect.stringMatching(/^Check your email\./), linkValidMinutes: 30 });
    expect(again.statusCode).toBe(202);
    expect(again.body).toBe(fresh.body);
    expect(fresh.body).not.toMatch(/requests\/|token/);
  });

  it('confirms with the token as JSON too, and refuses a body without one with 400', async () => {
    const f = await makeFixture();
    await postForm(f, 'email=jane%40example.com');
    const api = createPublicApi(f.deps);
    const post = async (body: string) =>
      (await api(apiEvent({ method: 'POST', path: '/verify', headers: { 'content-type': 'application/json', accept: 'application/json' }, body }))) as Res;
    for (const body of ['{}', '{"token":42}', '["x"]', 'null', '"token"']) expect((await post(body)).statusCode).toBe(400);
    expect(f.workflow.starts).toHaveLength(0);
    const token = new URL(f.mailer.verifyLink()).searchParams.get('token');
    const confirmed = await post(JSON.stringify({ token }));
    expect(confirmed.statusCode).toBe(303);
    expect(f.workflow.starts).toHaveLength(1);
  });

  it('accepts a base64-encoded JSON body as API Gateway delivers it', async () => {
    const f = await makeFixture();
    const res = (await createPublicApi(f.deps)(
      apiEvent({ method: 'POST', path: '/requests', headers: { 'content-type': 'application/json' }, isBase64Encoded: true, body: Buffer.from(JSON.stringify({ email: 'jane@example.com' })).toString('base64') }),
    )) as Res;
    expect(res.statusCode).toBe(202);
  });

  it('takes bot ids from repeated fields and from a comma/newline separated textarea', async () => {
    const f = await makeFixture();
    const a = 'st-11111111-aaaa-4aaa-8aaa-111111111111';
    const b = 'st-22222222-bbbb-4bbb-8bbb-222222222222';
    const c = 'st-33333333-cccc-4ccc-8ccc-333333333333';
    const res = await postForm(f, `email=jane%40example.com&botIds=${encodeURIComponent(`${c},\r\n ${a}`)}&botIds=${b}&botIds=${a}`);
    expect(res.statusCode).toBe(303);
    expect([...f.store.requests.values()][0]!.scope.botIds).toEqual([a, b, c]);
  });

  it('sends an expired link to a 410 page that says to submit again, and a reused one to 410 as well', async () => {
    const f = await makeFixture();
    await postForm(f, 'email=jane%40example.com');
    const api = createPublicApi(f.deps);
    const link = f.mailer.verifyLink();
    expect(((await api(confirmEvent(link))) as Res).statusCode).toBe(303);
    const reused = (await api(confirmEvent(link))) as Res;
    expect(reused.statusCode).toBe(410);
    expectPageHeaders(reused);
    expect(reused.body).toContain('already been used');
    // Opening the used link again just leads to the request's status page.
    const reopened = (await api(apiEvent({ ...pathAndQuery(link), headers: BROWSER }))) as Res;
    expect(reopened.statusCode).toBe(303);
    expect(reopened.headers.location).toMatch(/\/requests\/[0-9a-f-]{36}\?token=/);

    const g = await makeFixture();
    await postForm(g, 'email=jane%40example.com');
    g.clock.advance(3600);
    const expired = (await createPublicApi(g.deps)(confirmEvent(g.mailer.verifyLink()))) as Res;
    expect(expired.statusCode).toBe(410);
    expectPageHeaders(expired);
    expect(expired.body).toContain('Please submit your request again');
    const openedExpired = (await createPublicApi(g.deps)(apiEvent({ ...pathAndQuery(g.mailer.verifyLink()), headers: BROWSER }))) as Res;
    expect(openedExpired.statusCode).toBe(410);
    expect(openedExpired.body).toContain('Please submit your request again');
  });
});

describe('the rejection page', () => {
  it('explains the rule in plain words, lists the bots and states the Art. 12(4) rights', async () => {
    const f = await makeFixture();
    const bot = 'st-11111111-aaaa-4aaa-8aaa-111111111111';
    const hash = hashSubject(normaliseSubjectId('jane@example.com', 'email'), f.deps.subjectKeys.hmacKey);
    f.snapshots.identities.set(hash, { subjectHash: hash, accountOwner: false, accountMember: true, ownedBotIds: [bot], coDeveloperBotIds: [] });
    await postForm(f, 'email=jane%40example.com');
    const api = createPublicApi(f.deps);
    const verified = (await api(confirmEvent(f.mailer.verifyLink()))) as Res;
    const page = (await api(apiEvent({ ...pathAndQuery(verified.headers.location!), headers: BROWSER }))) as Res;
    expectPageHeaders(page);
    expect(page.body).toMatch(/Why we cannot erase your data yet[\s\S]*You own one or more bots[\s\S]*transfer ownership/);
    expect(page.body).toContain(`<li><code>${bot}</code></li>`);
    expect(page.body).toMatch(/Article 12\(4\)[\s\S]*supervisory authority[\s\S]*judicial remedy/);
    expect(page.body).toContain('<a href="https://dpa.example.test/complaints">');
  });
});

describe('the form shown again', () => {
  it('re-shows the form with 422, the messages linked to the fields and the input escaped', async () => {
    const f = await makeFixture();
    const email = '"><script>alert(1)</script>';
    const bots = '</textarea><img src=x onerror=alert(2)>';
    const res = await postForm(f, `email=${encodeURIComponent(email)}&botIds=${encodeURIComponent(bots)}`);
    expect(res.statusCode).toBe(422);
    expectPageHeaders(res);
    expect(res.body).toContain('There is a problem');
    expect(res.body).toMatch(/<a href="#email">Enter an email address in the form name@example.com.<\/a>/);
    expect(res.body).toMatch(/<a href="#botIds">/);
    expect(res.body).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(res.body).toContain('&lt;/textarea&gt;&lt;img src=x onerror=alert(2)&gt;</textarea>');
    expect(res.body).not.toContain('<img src=x');
    expect(res.body).toContain('aria-invalid="true"');
    expect(res.cookies![0]).toMatch(/^__Host-csrf=/); // a fresh token for the next try
    expect(f.store.requests.size).toBe(0);
  });

  it.each([
    ['no token at all', (_t: string) => 'email=jane%40example.com', true],
    ['a forged token', (t: string) => `csrf=${encodeURIComponent(`${t}x`)}&email=jane%40example.com`, true],
    ['a valid token without its cookie', (t: string) => `csrf=${encodeURIComponent(t)}&email=jane%40example.com`, false],
  ])('refuses a form post with %s (403)', async (_name, body, withCookie) => {
    const f = await makeFixture();
    const { api, token, cookie } = await openForm(f);
    const res = (await api(apiEvent({ method: 'POST', path: '/requests', headers: FORM, cookies: withCookie ? [cookie] : undefined, body: body(token) }))) as Res;
    expect(res.statusCode).toBe(403);
    expectPageHeaders(res);
    expect(f.store.requests.size).toBe(0);
  });

  it('refuses a cross-site form post even with a valid token pair', async () => {
    const f = await makeFixture();
    const res = await postForm(f, 'email=jane%40example.com', { 'sec-fetch-site': 'cross-site' });
    expect(res.statusCode).toBe(403);
  });
});

describe('errors and limits', () => {
  it('answers the 31st submission of a client within ten minutes with 429 and Retry-After (page for browsers)', async () => {
    const f = await makeFixture();
    const api = createPublicApi(f.deps);
    const post = (i: number, headers: Record<string, string> = {}) =>
      api(apiEvent({ method: 'POST', path: '/requests', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ email: `u${i}@example.com` }) })) as Promise<Res>;
    for (let i = 0; i < 30; i++) expect((await post(i)).statusCode).toBe(202);
    const limited = await post(31);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toBe('application/problem+json');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const page = await post(32, BROWSER);
    expect(page.statusCode).toBe(429);
    expectPageHeaders(page);
    expect(page.headers['retry-after']).toBe(limited.headers['retry-after']);
  });

  it('gives one and the same 404 for an unknown id and for a wrong token', async () => {
    const f = await makeFixture();
    const api = createPublicApi(f.deps);
    await postForm(f, 'email=jane%40example.com');
    const statusUrl = ((await api(confirmEvent(f.mailer.verifyLink()))) as Res).headers.location!;
    const { path } = pathAndQuery(statusUrl);
    const wrong = (await api(apiEvent({ path, query: 'token=abc', headers: { accept: 'application/json' } }))) as Res;
    const none = (await api(apiEvent({ path, headers: { accept: 'application/json' } }))) as Res;
    const unknown = (await api(apiEvent({ path: '/requests/0190f0e0-0000-7000-8000-000000000000', query: pathAndQuery(statusUrl).query, headers: { accept: 'application/json' } }))) as Res;
    for (const res of [wrong, none, unknown]) {
      expect(res.statusCode).toBe(404);
      expect(res.body).toBe(wrong.body);
    }
    const page = (await api(apiEvent({ path, query: 'token=abc', headers: BROWSER }))) as Res;
    expect(page.statusCode).toBe(404);
    expectPageHeaders(page);
  });

  it('answers an unknown route with a 404 problem and a wrong method with 405 and Allow', async () => {
    const f = await makeFixture();
    const api = createPublicApi(f.deps);
    const missing = (await api(apiEvent({ path: '/admin' }))) as Res;
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toBe('application/problem+json');
    const wrong = (await api(apiEvent({ method: 'DELETE', path: '/requests' }))) as Res;
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers.allow).toBe('POST');
    const get = (await api(apiEvent({ method: 'PUT', path: '/' }))) as Res;
    expect(get.headers.allow).toBe('GET');
  });

  it('maps an illegal transition to 409', async () => {
    const f = await makeFixture();
    await postForm(f, 'email=jane%40example.com');
    f.store.appendEvent = async () => {
      throw new IllegalTransitionError('CANCELLED', 'VERIFIED');
    };
    const res = (await createPublicApi(f.deps)(confirmEvent(f.mailer.verifyLink(), {}))) as Res;
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toBe('application/problem+json');
  });

  it('turns anything unexpected into a bare 500 and logs the error name only', async () => {
    const f = await makeFixture();
    f.store.createRequest = async () => {
      throw new TypeError('cannot store jane@example.com');
    };
    const res = (await createPublicApi(f.deps)(
      apiEvent({ method: 'POST', path: '/requests', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'jane@example.com' }) }),
    )) as Res;
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body!)).toMatchObject({ status: 500, title: 'Something went wrong on our side' });
    expect(res.body).not.toContain('jane');
    expect(JSON.stringify(f.logs)).not.toContain('jane');
    expect(f.logs).toContainEqual(expect.objectContaining({ level: 'error', errorName: 'TypeError' }));
    expect(f.claims.claims.size).toBe(0);
  });
});

describe('GET /openapi.json', () => {
  it('describes the public routes from the validation schemas, with problem responses', async () => {
    const f = await makeFixture();
    const res = (await createPublicApi(f.deps)(apiEvent({ path: '/openapi.json' }))) as Res;
    const doc = JSON.parse(res.body!);
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/', '/requests', '/verify', '/requests/{id}', '/openapi.json']));
    const post = doc.paths['/requests'].post;
    const json = post.requestBody.content['application/json'].schema;
    expect(json).toMatchObject({ type: 'object', required: ['email'], additionalProperties: false });
    expect(json.properties.email).toMatchObject({ type: 'string', maxLength: 254, format: 'email' });
    expect(json.properties.botIds).toMatchObject({ type: 'array', maxItems: 20, items: { pattern: expect.stringContaining('st-') } });
    expect(post.requestBody.content['application/x-www-form-urlencoded'].schema.properties).toHaveProperty('csrf');
    expect(json.properties).not.toHaveProperty('csrf');
    for (const code of ['400', '403', '413', '415', '422', '429']) expect(post.responses[code].content).toHaveProperty('application/problem+json');
    expect(doc.components.schemas.Problem.required).toEqual(['type', 'title', 'status']);
  });
});
