import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../../../functions/domain/errors';
import {
  SubjectCipherError,
  decryptSubjectId,
  deriveKeys,
  detectSubjectKind,
  encryptSubjectId,
  hashSubject,
  normaliseSubjectId,
} from '../../../functions/domain/subject';

const PLAIN = 'Jane.Doe@example.com';

/** Runs `fn` and returns what it threw (fails the test when it throws nothing). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('detectSubjectKind', () => {
  it.each([
    { raw: 'jane@example.com', kind: 'email' },
    { raw: '  JANE@EXAMPLE.COM ', kind: 'email' },
    { raw: 'EMP-00123', kind: 'enterpriseId' },
    { raw: 'jane.doe', kind: 'enterpriseId' },
  ])('takes $raw for an $kind', ({ raw, kind }) => {
    expect(detectSubjectKind(raw)).toBe(kind);
  });
});

describe('normaliseSubjectId', () => {
  it.each([
    { name: 'trims spaces around an email', raw: '  jane@example.com  ', kind: 'email' as const, expected: 'jane@example.com' },
    { name: 'trims tabs, newlines and no-break spaces', raw: '\t\u00a0jane@example.com\r\n', kind: 'email' as const, expected: 'jane@example.com' },
    { name: 'lower-cases an email', raw: 'Jane.DOE@Example.COM', kind: 'email' as const, expected: 'jane.doe@example.com' },
    { name: 'composes an email to NFC', raw: 'Rene\u0301@example.com', kind: 'email' as const, expected: 'ren\u00e9@example.com' },
    { name: 'lower-cases non-ASCII letters of an email', raw: 'ÅSA@EXAMPLE.SE', kind: 'email' as const, expected: 'åsa@example.se' },
    { name: 'keeps the case of an enterprise id', raw: 'EMP-Abc-01', kind: 'enterpriseId' as const, expected: 'EMP-Abc-01' },
    { name: 'trims an enterprise id', raw: ' EMP-01\n', kind: 'enterpriseId' as const, expected: 'EMP-01' },
    { name: 'composes an enterprise id to NFC', raw: 'Jose\u0301', kind: 'enterpriseId' as const, expected: 'Jos\u00e9' },
  ])('$name', ({ raw, kind, expected }) => {
    expect(normaliseSubjectId(raw, kind)).toBe(expected);
  });

  it('gives the same result when applied twice', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.constantFrom('email' as const, 'enterpriseId' as const), (raw, kind) => {
        const once = normaliseSubjectId(raw, kind);
        expect(normaliseSubjectId(once, kind)).toBe(once);
        expect(once).toBe(once.normalize('NFC'));
      }),
    );
  });
});

describe('hashSubject', () => {
  const key = 'k'.repeat(32);

  it('is the HMAC-SHA256 of the id, in lower-case hex', () => {
    const expected = createHmac('sha256', key).update('jane@example.com').digest('hex');
    expect(hashSubject('jane@example.com', key)).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is stable for the same id and key, whether the key is text or bytes', () => {
    expect(hashSubject('jane@example.com', key)).toBe(hashSubject('jane@example.com', key));
    expect(hashSubject('jane@example.com', new TextEncoder().encode(key))).toBe(hashSubject('jane@example.com', key));
  });

  it('depends on the key', () => {
    expect(hashSubject('jane@example.com', key)).not.toBe(hashSubject('jane@example.com', 'another key of enough length!!'));
  });

  it('gives the same hash for two spellings of one email once normalised', () => {
    const a = normaliseSubjectId(' Jane@Example.com', detectSubjectKind(' Jane@Example.com'));
    const b = normaliseSubjectId('jane@EXAMPLE.com ', detectSubjectKind('jane@EXAMPLE.com '));
    expect(hashSubject(a, key)).toBe(hashSubject(b, key));
  });

  it('does not contain the id', () => {
    expect(hashSubject('jane@example.com', key)).not.toContain('jane');
  });
});

describe('deriveKeys', () => {
  it('derives two distinct 32-byte keys from one secret', () => {
    const { hmacKey, cipherKey } = deriveKeys('configured secret');
    expect(hmacKey).toHaveLength(32);
    expect(cipherKey).toHaveLength(32);
    expect(Buffer.from(hmacKey).equals(Buffer.from(cipherKey))).toBe(false);
  });

  it('is deterministic for a secret and differs between secrets', () => {
    expect(deriveKeys('secret one')).toEqual(deriveKeys('secret one'));
    expect(Buffer.from(deriveKeys('secret one').hmacKey).equals(Buffer.from(deriveKeys('secret two').hmacKey))).toBe(false);
  });

  it('gives keys that work with the hash and the cipher', () => {
    const { hmacKey, cipherKey } = deriveKeys('configured secret');
    expect(hashSubject('jane@example.com', hmacKey)).toMatch(/^[0-9a-f]{64}$/);
    expect(decryptSubjectId(encryptSubjectId(PLAIN, cipherKey), cipherKey)).toBe(PLAIN);
  });

  it.each([{ secret: '' }, { secret: '   ' }])('refuses an empty secret ("$secret")', ({ secret }) => {
    expect(() => deriveKeys(secret)).toThrow(SubjectCipherError);
  });
});

describe('encryptSubjectId / decryptSubjectId', () => {
  it('round-trips any id', () => {
    const key = randomBytes(32);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (plain) => {
        expect(decryptSubjectId(encryptSubjectId(plain, key), key)).toBe(plain);
      }),
      { numRuns: 200 },
    );
  });

  it('writes v1.<iv>.<ciphertext+tag> in base64url with a 12-byte IV, without the plain id', () => {
    const cipher = encryptSubjectId(PLAIN, randomBytes(32));
    const [version, iv, body] = cipher.split('.');
    expect(version).toBe('v1');
    expect(Buffer.from(iv!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(body!, 'base64url')).toHaveLength(Buffer.byteLength(PLAIN) + 16);
    expect(cipher).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(cipher.toLowerCase()).not.toContain('jane');
  });

  it('uses a fresh IV each time', () => {
    const key = randomBytes(32);
    expect(encryptSubjectId(PLAIN, key)).not.toBe(encryptSubjectId(PLAIN, key));
  });

  it('refuses a wrong key with SubjectCipherError', () => {
    const cipher = encryptSubjectId(PLAIN, randomBytes(32));
    expect(() => decryptSubjectId(cipher, randomBytes(32))).toThrow(SubjectCipherError);
  });

  it('detects any flipped bit of the IV, the cipher text or the tag', () => {
    const key = randomBytes(32);
    const cipher = encryptSubjectId(PLAIN, key);
    const [version, iv, body] = cipher.split('.') as [string, string, string];
    const bytes = Buffer.concat([Buffer.from(iv, 'base64url'), Buffer.from(body, 'base64url')]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), (bit) => {
        const tampered = Buffer.from(bytes);
        tampered[bit >> 3]! ^= 1 << (bit & 7);
        const forged = `${version}.${tampered.subarray(0, 12).toString('base64url')}.${tampered.subarray(12).toString('base64url')}`;
        expect(() => decryptSubjectId(forged, key)).toThrow(SubjectCipherError);
      }),
    );
  });

  it.each([
    { name: 'another version', make: (c: string) => c.replace(/^v1\./, 'v2.') },
    { name: 'a missing part', make: (c: string) => c.split('.').slice(0, 2).join('.') },
    { name: 'an extra part', make: (c: string) => `${c}.AAAA` },
    { name: 'characters outside base64url', make: (c: string) => `${c.slice(0, -2)}+/` },
    { name: 'a truncated tag', make: (c: string) => c.slice(0, -4) },
    { name: 'a short IV', make: (c: string) => c.replace(/^v1\.[^.]+\./, 'v1.AAAA.') },
    { name: 'an empty string', make: () => '' },
  ])('refuses $name with SubjectCipherError', ({ make }) => {
    const key = randomBytes(32);
    expect(() => decryptSubjectId(make(encryptSubjectId(PLAIN, key)), key)).toThrow(SubjectCipherError);
  });

  it.each([{ length: 16 }, { length: 31 }, { length: 33 }])('refuses a key of $length bytes', ({ length }) => {
    expect(() => encryptSubjectId(PLAIN, randomBytes(length))).toThrow(SubjectCipherError);
  });

  it('throws a named domain error that reveals neither the id nor the cipher text', () => {
    const key = randomBytes(32);
    const cipher = encryptSubjectId(PLAIN, key);
    const error = thrownBy(() => decryptSubjectId(cipher, randomBytes(32)));
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ name: 'SubjectCipherError' });
    const message = (error as Error).message;
    expect(message).not.toContain(PLAIN);
    expect(message).not.toContain(cipher.split('.')[2]);
  });
});
