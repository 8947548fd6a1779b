/**
 * The table of malformed submissions: every one, in either encoding, gets a 4xx problem+json,
 * creates no record, claims nothing and sends no email.
 */
import { describe, expect, it } from 'vitest';
import { flipSignatureCharacter } from '../../../../support/tamper';
import { issueCsrf } from '../../../../../functions/intake/links';
import { createPublicApi } from '../../../../../functions/adapters/http/public/public-api';
import { apiEvent, makeFixture } from '../../../../support/intake-fakes';

const GOOD_EMAIL = 'jane@example.com';
const BOT = 'st-11111111-aaaa-4aaa-8aaa-111111111111';
const bot = (i: number) => `st-${String(i).padStart(8, '0')}-aaaa-4aaa-8aaa-111111111111`;

interface Case {
  name: string;
  status: number;
  /** Raw JSON text, a value to stringify, or a form body (urlencoded). */
  json?: unknown;
  jsonText?: string;
  form?: string;
  contentType?: string;
  base64?: string;
  /** Leave out the CSRF field/cookie (form only). */
  csrf?: 'none' | 'field-only' | 'cookie-only' | 'wrong' | 'twice' | 'expired';
  /** Expected field name in `errors[]` (422 only). */
  field?: string;
}

const BAD_EMAILS: [string, unknown][] = [
  ['empty string', ''],
  ['blank', '   '],
  ['no at sign', 'plainaddress'],
  ['no local part', '@example.com'],
  ['no domain', 'jane@'],
  ['no top-level domain', 'jane@example'],
  ['two at signs', 'jane@@example.com'],
  ['space inside', 'jane doe@example.com'],
  ['double dot in domain', 'jane@example..com'],
  ['leading dot', '.jane@example.com'],
  ['trailing dot in local part', 'jane.@example.com'],
  ['domain starting with a hyphen', 'jane@-example.com'],
  ['one-letter top-level domain', 'jane@example.c'],
  ['local part of 65 characters', `${'a'.repeat(65)}@example.com`],
  ['255 characters', `${'a'.repeat(60)}@${'b'.repeat(190)}.com`],
  ['300 characters of junk', 'x'.repeat(300)],
  ['script tag', '<script>alert(1)</script>@example.com'],
  ['SQL injection', "jane@example.com'; DROP TABLE requests;--"],
  ['header injection', 'jane@example.com\nBcc: victim@example.com'],
  ['non-ASCII address', 'jäne@exämple.com'],
  ['quoted local part', '"jane"@example.com'],
  ['IP literal', 'jane@[127.0.0.1]'],
  ['template injection', '{{7*7}}@example.com'],
  ['shell injection', '$(rm -rf /)@example.com'],
  ['null byte', 'jane\u0000@example.com'],
  ['number', 42],
  ['boolean', true],
  ['null', null],
  ['array', [GOOD_EMAIL]],
  ['object', { address: GOOD_EMAIL }],
];

const BAD_BOT_IDS: [string, unknown][] = [
  ['a string, not a list', BOT],
  ['a number in the list', [1]],
  ['null in the list', [null]],
  ['too short', ['st-123']],
  ['upper-case prefix', [BOT.toUpperCase()]],
  ['upper-case hex', ['st-11111111-AAAA-4aaa-8aaa-111111111111']],
  ['surrounding space', [` ${BOT}`]],
  ['one good, one bad', [BOT, 'bad']],
  ['21 bots', Array.from({ length: 21 }, (_, i) => bot(i))],
  ['a nested list', [[BOT]]],
  ['an object in the list', [{ id: BOT }]],
  ['markup', ['<img src=x onerror=alert(1)>']],
  ['SQL injection', ["st-' OR 1=1 --"]],
  ['an object', { a: BOT }],
  ['path traversal', ['../../etc/passwd']],
];

const CASES: Case[] = [
  // JSON: wrong values
  ...BAD_EMAILS.map(([name, email]): Case => ({ name: `JSON email: ${name}`, status: 422, json: { email }, field: 'email' })),
  ...BAD_BOT_IDS.map(([name, botIds]): Case => ({ name: `JSON botIds: ${name}`, status: 422, json: { email: GOOD_EMAIL, botIds }, field: 'botIds' })),
  // JSON: missing and extra fields
  { name: 'JSON: empty object', status: 422, json: {}, field: 'email' },
  { name: 'JSON: only botIds', status: 422, json: { botIds: [BOT] }, field: 'email' },
  { name: 'JSON: unknown field', status: 422, json: { email: GOOD_EMAIL, admin: true }, field: 'admin' },
  { name: 'JSON: csrf is for forms only', status: 422, json: { email: GOOD_EMAIL, csrf: 'x' }, field: 'csrf' },
  { name: 'JSON: field in other case', status: 422, json: { Email: GOOD_EMAIL }, field: 'Email' },
  { name: 'JSON: userIds smuggled in', status: 422, json: { email: GOOD_EMAIL, userIds: ['victim@example.com'] }, field: 'userIds' },
  { name: 'JSON: status smuggled in', status: 422, json: { email: GOOD_EMAIL, status: 'COMPLETED' }, field: 'status' },
  // JSON: wrong top-level types
  { name: 'JSON: an array', status: 422, json: [] },
  { name: 'JSON: a string', status: 422, json: GOOD_EMAIL },
  { name: 'JSON: a number', status: 422, json: 42 },
  { name: 'JSON: null', status: 422, jsonText: 'null' },
  { name: 'JSON: true', status: 422, json: true },
  // JSON: malformed
  { name: 'JSON: unterminated', status: 400, jsonText: '{' },
  { name: 'JSON: missing value', status: 400, jsonText: '{"email":}' },
  { name: 'JSON: single quotes', status: 400, jsonText: "{'email':'jane@example.com'}" },
  { name: 'JSON: trailing comma', status: 400, jsonText: '{"email":"jane@example.com",}' },
  { name: 'JSON: NaN', status: 400, jsonText: 'NaN' },
  { name: 'JSON: empty body', status: 400, jsonText: '' },
  { name: 'JSON: blank body', status: 400, jsonText: '   \n' },
  { name: 'JSON: undefined', status: 400, jsonText: 'undefined' },
  { name: 'JSON: trailing garbage', status: 400, jsonText: '{"email":"jane@example.com"} x' },
  { name: 'JSON: comment', status: 400, jsonText: '{"email":"jane@example.com" /* hi */}' },
  // JSON: nesting and prototype keys
  { name: 'JSON: 50 nested arrays', status: 400, jsonText: `${'['.repeat(50)}${']'.repeat(50)}` },
  { name: 'JSON: 5000 nested arrays', status: 400, jsonText: `${'['.repeat(5000)}${']'.repeat(5000)}` },
  { name: 'JSON: deeply nested object', status: 400, jsonText: `{"email":"jane@example.com","x":{"a":{"b":{"c":{"d":{"e":1}}}}}}` },
  { name: 'JSON: __proto__ key', status: 400, jsonText: '{"__proto__":{"admin":true},"email":"jane@example.com"}' },
  { name: 'JSON: constructor key', status: 400, jsonText: '{"constructor":{"prototype":{"admin":true}},"email":"jane@example.com"}' },
  { name: 'JSON: prototype key', status: 400, jsonText: '{"prototype":1,"email":"jane@example.com"}' },
  { name: 'JSON: __proto__ inside the list', status: 400, jsonText: '{"email":"jane@example.com","botIds":[{"__proto__":{}}]}' },
  // Encoding
  { name: 'bytes: lone 0xFF', status: 400, base64: Buffer.concat([Buffer.from('{"email":"jane'), Buffer.from([0xff]), Buffer.from('@example.com"}')]).toString('base64') },
  { name: 'bytes: bad continuation', status: 400, base64: Buffer.concat([Buffer.from('{"email":"'), Buffer.from([0xc3, 0x28]), Buffer.from('@example.com"}')]).toString('base64') },
  { name: 'bytes: overlong slash', status: 400, base64: Buffer.concat([Buffer.from('{"email":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('@example.com"}')]).toString('base64') },
  { name: 'bytes: UTF-16 surrogate', status: 400, base64: Buffer.concat([Buffer.from('{"email":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('@example.com"}')]).toString('base64') },
  { name: 'bytes: truncated sequence', status: 400, base64: Buffer.concat([Buffer.from('{"email":"jane@example.com"'), Buffer.from([0xe2, 0x82])]).toString('base64') },
  { name: 'bytes: not base64 at all', status: 400, base64: '!!!not base64!!!' },
  // Size
  { name: 'size: 16 KiB + 1 of JSON', status: 413, jsonText: JSON.stringify({ email: GOOD_EMAIL, pad: 'x'.repeat(16 * 1024) }) },
  { name: 'size: 1 MiB email', status: 413, json: { email: `${'a'.repeat(1024 * 1024)}@example.com` } },
  { name: 'size: 17 KiB base64 body', status: 413, base64: Buffer.alloc(17 * 1024, 0x20).toString('base64') },
  { name: 'size: multi-byte characters over the limit', status: 413, jsonText: JSON.stringify({ email: GOOD_EMAIL, pad: '€'.repeat(6000) }) },
  // Content types
  { name: 'type: none', status: 415, jsonText: JSON.stringify({ email: GOOD_EMAIL }), contentType: '' },
  { name: 'type: text/plain', status: 415, jsonText: JSON.stringify({ email: GOOD_EMAIL }), contentType: 'text/plain' },
  { name: 'type: application/xml', status: 415, jsonText: '<email>jane@example.com</email>', contentType: 'application/xml' },
  { name: 'type: multipart', status: 415, jsonText: '--x\r\n', contentType: 'multipart/form-data; boundary=x' },
  { name: 'type: JSON in Latin-1', status: 415, jsonText: JSON.stringify({ email: GOOD_EMAIL }), contentType: 'application/json; charset=iso-8859-1' },
  { name: 'type: text/html', status: 415, jsonText: '<p>hi</p>', contentType: 'text/html' },
  { name: 'type: json-patch', status: 415, jsonText: '[]', contentType: 'application/json-patch+json' },
  { name: 'type: form in Latin-1', status: 415, form: 'email=jane%40example.com', contentType: 'application/x-www-form-urlencoded; charset=iso-8859-1' },
  // Form: values
  ...BAD_EMAILS.filter(([, e]) => typeof e === 'string' && e.trim() !== '' && !e.includes('\u0000')).slice(0, 12).map(
    ([name, email]): Case => ({ name: `form email: ${name}`, status: 422, form: `email=${encodeURIComponent(email as string)}`, field: 'email' }),
  ),
  { name: 'form: no fields but csrf', status: 422, form: '', field: 'email' },
  { name: 'form: empty email', status: 422, form: 'email=', field: 'email' },
  { name: 'form: email twice', status: 422, form: 'email=jane%40example.com&email=other%40example.com', field: 'email' },
  { name: 'form: unknown field', status: 422, form: 'email=jane%40example.com&admin=1', field: 'admin' },
  { name: 'form: __proto__ field', status: 422, form: '__proto__=1&email=jane%40example.com', field: '__proto__' },
  { name: 'form: constructor field', status: 422, form: 'constructor=1&email=jane%40example.com', field: 'constructor' },
  { name: 'form: bad bot id', status: 422, form: 'email=jane%40example.com&botIds=st-bad', field: 'botIds' },
  { name: 'form: 21 bots in the textarea', status: 422, form: `email=jane%40example.com&botIds=${encodeURIComponent(Array.from({ length: 21 }, (_, i) => bot(i)).join('\n'))}`, field: 'botIds' },
  { name: 'form: markup as bot id', status: 422, form: `email=jane%40example.com&botIds=${encodeURIComponent('<script>x</script>')}`, field: 'botIds' },
  { name: 'form: JSON posted as a form', status: 422, form: JSON.stringify({ email: GOOD_EMAIL }) },
  // Form: encoding
  { name: 'form: broken percent escape', status: 400, form: 'email=%zz' },
  { name: 'form: lone percent', status: 400, form: 'email=jane%' },
  { name: 'form: invalid UTF-8 escape', status: 400, form: 'email=%ff%fe%40example.com' },
  { name: 'form: bad continuation escape', status: 400, form: 'email=a%c3%28%40example.com' },
  { name: 'form: 17 KiB', status: 413, form: `email=jane%40example.com&pad=${'x'.repeat(17 * 1024)}` },
  // Form: CSRF
  { name: 'csrf: none at all', status: 403, form: 'email=jane%40example.com', csrf: 'none' },
  { name: 'csrf: field without cookie', status: 403, form: 'email=jane%40example.com', csrf: 'field-only' },
  { name: 'csrf: cookie without field', status: 403, form: 'email=jane%40example.com', csrf: 'cookie-only' },
  { name: 'csrf: forged token', status: 403, form: 'email=jane%40example.com', csrf: 'wrong' },
  { name: 'csrf: sent twice', status: 403, form: 'email=jane%40example.com', csrf: 'twice' },
  { name: 'csrf: expired', status: 403, form: 'email=jane%40example.com', csrf: 'expired' },
];

describe('malformed submissions', () => {
  it('has at least 100 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(100);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s → 4xx problem, nothing stored or sent', async (_name, c) => {
    const f = await makeFixture();
    const api = createPublicApi(f.deps);
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: string | undefined;
    let isBase64Encoded = false;
    let cookies: string[] | undefined;
    if (c.form !== undefined) {
      headers['content-type'] = c.contentType ?? 'application/x-www-form-urlencoded';
      const good = issueCsrf(f.deps.linkKey, f.clock.now(), true);
      const cookie = good.cookie.split(';')[0]!;
      const expired = issueCsrf(f.deps.linkKey, new Date(f.clock.now().getTime() - 3 * 3600 * 1000), true);
      const field = {
        none: '',
        'cookie-only': '',
        'field-only': `csrf=${encodeURIComponent(good.token)}&`,
        wrong: `csrf=${encodeURIComponent(flipSignatureCharacter(good.token))}&`,
        twice: `csrf=${encodeURIComponent(good.token)}&csrf=${encodeURIComponent(good.token)}&`,
        expired: `csrf=${encodeURIComponent(expired.token)}&`,
      }[c.csrf ?? 'none'];
      body = c.csrf ? `${field}${c.form}` : `csrf=${encodeURIComponent(good.token)}${c.form ? `&${c.form}` : ''}`;
      if (c.csrf === 'wrong') cookies = [`__Host-csrf=${flipSignatureCharacter(good.token)}`];
      else if (c.csrf === 'expired') cookies = [expired.cookie.split(';')[0]!];
      else if (c.csrf !== 'none' && c.csrf !== 'field-only') cookies = [cookie];
    } else if (c.base64 !== undefined) {
      headers['content-type'] = c.contentType ?? 'application/json';
      body = c.base64;
      isBase64Encoded = true;
    } else {
      if (c.contentType !== '') headers['content-type'] = c.contentType ?? 'application/json';
      body = c.jsonText ?? JSON.stringify(c.json);
    }

    const res = await api(apiEvent({ method: 'POST', path: '/requests', headers, body, isBase64Encoded, cookies }));

    expect(res.statusCode).toBe(c.status);
    expect(res.headers?.['content-type']).toBe('application/problem+json');
    const problem = JSON.parse(res.body!);
    expect(problem).toMatchObject({ status: c.status, type: expect.stringMatching(/^https:\/\/erasure-desk\.dev\/problems\//), title: expect.any(String) });
    if (c.status === 422) {
      expect(problem.errors.length).toBeGreaterThan(0);
      if (c.field) expect(problem.errors.map((e: { field: string }) => e.field.split('/')[0])).toContain(c.field);
    }
    expect(res.body).not.toMatch(/at .*\.ts:\d+|stack/i);
    expect(f.store.requests.size).toBe(0);
    expect(f.claims.claims.size).toBe(0);
    expect(f.mailer.sent).toHaveLength(0);
    expect(f.logs.filter((l) => l.level === 'error')).toEqual([]);
  });
});
