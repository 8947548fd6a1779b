import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpProblem } from '../../../functions/adapters/http/shared/problem';
import { parseForm, parseJson } from '../../../functions/adapters/http/shared/messages';
import {
  checkCsrf,
  checkStatusToken,
  createStatusToken,
  createVerifyToken,
  issueCsrf,
  verifyVerifyToken,
} from '../../../functions/intake/links';
import { LinkExpiredError, LinkInvalidError } from '../../../functions/domain/errors';
import { composeNotice, type NoticeKind } from '../../../functions/intake/notices';

const KEY = new Uint8Array(32).fill(3);
const NOW = new Date('2026-03-10T09:00:00.000Z');
const ID = '0190f0e0-0000-7000-8000-000000000001';
const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

describe('verification links', () => {
  it('carry the request id and a fresh jti, and work for 30 minutes', async () => {
    const a = await createVerifyToken(KEY, ID, NOW);
    const b = await createVerifyToken(KEY, ID, NOW);
    expect(a.jti).not.toBe(b.jti);
    expect(await verifyVerifyToken(KEY, a.token, later(29 * 60))).toEqual({ requestId: ID, jti: a.jti, expiresAt: later(30 * 60) });
    await expect(verifyVerifyToken(KEY, a.token, later(30 * 60 + 1))).rejects.toBeInstanceOf(LinkExpiredError);
  });

  it('cannot stand in for a status token, nor the other way round', async () => {
    const link = await createVerifyToken(KEY, ID, NOW);
    const status = await createStatusToken(KEY, ID, NOW);
    expect(await checkStatusToken(KEY, link.token, ID, NOW)).toBe(false);
    await expect(verifyVerifyToken(KEY, status, NOW)).rejects.toBeInstanceOf(LinkInvalidError);
  });

  it('refuse a request id that is not URL-safe', async () => {
    await expect(createVerifyToken(KEY, '../x', NOW)).rejects.toThrow(RangeError);
  });

  it('need a key of at least 32 bytes', async () => {
    await expect(createVerifyToken(new Uint8Array(16), ID, NOW)).rejects.toThrow(RangeError);
  });
});

describe('status tokens', () => {
  it('open exactly one request for 400 days', async () => {
    const token = await createStatusToken(KEY, ID, NOW);
    expect(await checkStatusToken(KEY, token, ID, later(399 * 86400))).toBe(true);
    expect(await checkStatusToken(KEY, token, ID, later(401 * 86400))).toBe(false);
    expect(await checkStatusToken(KEY, token, '0190f0e0-0000-7000-8000-000000000002', NOW)).toBe(false);
    expect(await checkStatusToken(new Uint8Array(32).fill(4), token, ID, NOW)).toBe(false);
  });
});

describe('CSRF double submit', () => {
  it('accepts the issued pair until it expires, and nothing else', () => {
    const { token, cookie } = issueCsrf(KEY, NOW, true);
    expect(cookie).toMatch(/^__Host-csrf=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=7200; Secure$/);
    expect(checkCsrf(KEY, token, token, later(7199))).toBe(true);
    expect(checkCsrf(KEY, token, token, later(7201))).toBe(false);
    expect(checkCsrf(KEY, token, undefined, NOW)).toBe(false);
    expect(checkCsrf(KEY, undefined, token, NOW)).toBe(false);
    const other = issueCsrf(KEY, NOW, true).token;
    expect(checkCsrf(KEY, token, other, NOW)).toBe(false);
    expect(checkCsrf(new Uint8Array(32).fill(5), token, token, NOW)).toBe(false);
    const [nonce, , mac] = token.split('.');
    const extended = `${nonce}.${Math.floor(later(99999).getTime() / 1000)}.${mac}`;
    expect(checkCsrf(KEY, extended, extended, NOW)).toBe(false);
  });
});

describe('body parsing', () => {
  it('reads back any fields encoded as a browser would', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' }), fc.string({ maxLength: 40, unit: 'grapheme' })), { maxLength: 6 }), (pairs) => {
        const body = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
        const expected = new Map<string, string[]>();
        for (const [k, v] of pairs) expected.set(k, [...(expected.get(k) ?? []), v]);
        expect(parseForm(body)).toEqual(expected);
      }),
    );
  });

  it('answers any other form text with fields or a 400 problem, never another error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (text) => {
        try {
          parseForm(text);
        } catch (error) {
          expect(error).toBeInstanceOf(HttpProblem);
          expect((error as HttpProblem).problem.status).toBe(400);
        }
      }),
    );
  });

  it('never turns percent-encoded invalid UTF-8 into replacement characters', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 12 }), (bytes) => {
        const encoded = [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
        let valid = true;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          valid = false;
        }
        if (valid) expect(parseForm(`v=${encoded}`).get('v')).toEqual([Buffer.from(bytes).toString('utf8')]);
        else expect(() => parseForm(`v=${encoded}`)).toThrow(HttpProblem);
      }),
    );
  });

  it('refuses prototype keys at any depth, but allows them as string values', () => {
    expect(parseJson('{"a":"__proto__"}')).toEqual({ a: '__proto__' });
    expect(() => parseJson('{"a":[{"b":{"__proto__":1}}]}')).toThrow(HttpProblem);
    expect(parseJson('{"a":"[[[[[[[[["}')).toEqual({ a: '[[[[[[[[[' });
  });
});

describe('notices', () => {
  const base = { requestId: ID, statusUrl: 'https://erase.example.test/requests/x?token=t', dueAt: '2026-04-10T09:00:00.000Z' };
  const contexts: Record<NoticeKind, Parameters<typeof composeNotice>[1]> = {
    verify: { ...base, verifyUrl: 'https://erase.example.test/verify?token=v' },
    received: base,
    'already-open': base,
    completed: base,
    'failed-needs-staff': base,
    rejected: { ...base, rejection: { rule: 'BOT_CO_DEVELOPER', botIds: ['st-11111111-aaaa-4aaa-8aaa-111111111111'] } },
    extended: { ...base, extension: { reason: 'The platform is down for maintenance <b>this week</b>', dueAt: '2026-06-10T09:00:00.000Z' } },
  };

  it.each(Object.keys(contexts) as NoticeKind[])('writes a %s email with a subject, text and escaped HTML carrying the reference', (kind) => {
    const notice = composeNotice(kind, contexts[kind]);
    expect(notice.subject.length).toBeGreaterThan(10);
    expect(notice.text).toContain(ID);
    expect(notice.html).toContain(ID);
    expect(notice.html).not.toContain('<b>this week</b>');
  });

  it('tells a rejected subject the reasons and their Art. 12(4) rights', () => {
    const { text } = composeNotice('rejected', contexts.rejected);
    expect(text).toMatch(/co-developer[\s\S]*st-11111111-aaaa-4aaa-8aaa-111111111111[\s\S]*Article 12\(4\)[\s\S]*supervisory authority[\s\S]*judicial remedy/);
  });

  it('names the new deadline and the reason of an extension', () => {
    const { text } = composeNotice('extended', contexts.extended);
    expect(text).toContain('10 June 2026');
    expect(text).toContain('maintenance');
  });

  it('refuses to compose a verification email without its link', () => {
    expect(() => composeNotice('verify', base)).toThrow(TypeError);
  });
});
