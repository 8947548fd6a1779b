/**
 * The data subject's id: how it is recognised (email or enterprise id), normalised so that the
 * same person always gets the same HMAC, hashed for lookup, and encrypted while the request is
 * open. Pure apart from `node:crypto`; no AWS.
 *
 * Nothing here ever puts a plain or encrypted id into an error message.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { DomainError } from './errors';
import type { SubjectKind } from './model';

/**
 * A subject id could not be encrypted or decrypted: wrong key, tampered or malformed cipher
 * text, or unusable key material. The message never carries the id or the cipher text.
 */
export class SubjectCipherError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SubjectCipherError';
  }
}

/**
 * Email when the raw id contains `@`, else an enterprise (org) user id. Kore.ai accepts both in
 * `userIds`, and emails are matched case-insensitively there while enterprise ids are not.
 */
export function detectSubjectKind(raw: string): SubjectKind {
  return raw.includes('@') ? 'email' : 'enterpriseId';
}

/**
 * The canonical form of a subject id, used for hashing and for the erase call.
 * Both kinds: Unicode NFC and surrounding whitespace removed. Emails are also lower-cased (the
 * same mailbox typed in another case must find the same request); enterprise ids keep their case
 * because the platform treats them as opaque.
 */
export function normaliseSubjectId(raw: string, kind: SubjectKind): string {
  const trimmed = raw.normalize('NFC').trim();
  // Lower-casing can yield combining marks (e.g. U+0130), so normalise once more afterwards.
  return kind === 'email' ? trimmed.toLowerCase().normalize('NFC') : trimmed;
}

/**
 * HMAC-SHA256 (lower-case hex) of a normalised subject id: lets us find and de-duplicate requests
 * of one subject without storing the plain id. Only as secret as `key`.
 */
export function hashSubject(normalisedId: string, key: Uint8Array | string): string {
  return createHmac('sha256', key).update(normalisedId, 'utf8').digest('hex');
}

const CIPHER_VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Binds the cipher text to its format version, so a future format cannot be confused with it. */
const CIPHER_AAD = Buffer.from('erasure-desk/subject-id/v1', 'utf8');
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function cipherKey(key: Uint8Array): Uint8Array {
  if (!(key instanceof Uint8Array) || key.byteLength !== KEY_BYTES) {
    throw new SubjectCipherError(`The subject cipher key must be ${KEY_BYTES} bytes`);
  }
  return key;
}

/**
 * Encrypts a plain subject id with AES-256-GCM under a fresh random 12-byte IV, so the id can be
 * kept at rest only while the erasure is open. Output: `v1.<base64url iv>.<base64url ciphertext‖tag>`.
 * @throws SubjectCipherError when the key is not 32 bytes.
 */
export function encryptSubjectId(plain: string, key: Uint8Array): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', cipherKey(key), iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(CIPHER_AAD);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${CIPHER_VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
}

/**
 * Decrypts what `encryptSubjectId` produced.
 * @throws SubjectCipherError when the text is malformed or of another version, was altered, or
 *   was encrypted under another key (GCM authentication fails), or the key is not 32 bytes.
 */
export function decryptSubjectId(cipherText: string, key: Uint8Array): string {
  const k = cipherKey(key);
  const parts = cipherText.split('.');
  if (parts.length !== 3 || parts[0] !== CIPHER_VERSION || !BASE64URL.test(parts[1]!) || !BASE64URL.test(parts[2]!)) {
    throw new SubjectCipherError('The encrypted subject id is malformed');
  }
  const iv = Buffer.from(parts[1]!, 'base64url');
  const body = Buffer.from(parts[2]!, 'base64url');
  if (iv.byteLength !== IV_BYTES || body.byteLength < TAG_BYTES) {
    throw new SubjectCipherError('The encrypted subject id is malformed');
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', k, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(CIPHER_AAD);
    decipher.setAuthTag(body.subarray(body.byteLength - TAG_BYTES));
    const plain = Buffer.concat([decipher.update(body.subarray(0, body.byteLength - TAG_BYTES)), decipher.final()]);
    return plain.toString('utf8');
  } catch (cause) {
    // OpenSSL's message ("unable to authenticate data") carries no data; keep it as the cause.
    throw new SubjectCipherError('The encrypted subject id was altered or the key is wrong', { cause });
  }
}

/** The two keys of the subject id: one for the HMAC, one for the cipher. */
export interface SubjectKeys {
  hmacKey: Uint8Array;
  cipherKey: Uint8Array;
}

const HKDF_SALT = Buffer.from('erasure-desk', 'utf8');
const HMAC_INFO = 'erasure-desk subject-hash hmac-sha256 v1';
const CIPHER_INFO = 'erasure-desk subject-id aes-256-gcm v1';

/**
 * Derives the HMAC key and the cipher key from one configured secret with HKDF-SHA256 and
 * distinct info labels, so one secret is enough and neither key reveals the other.
 * Deterministic: the same secret always gives the same keys (hashes stay comparable across
 * deployments that share the secret).
 * @throws SubjectCipherError when the secret is empty or blank.
 */
export function deriveKeys(secret: string): SubjectKeys {
  if (secret.trim() === '') throw new SubjectCipherError('The subject secret is empty');
  const derive = (info: string) => new Uint8Array(hkdfSync('sha256', Buffer.from(secret, 'utf8'), HKDF_SALT, info, KEY_BYTES));
  return { hmacKey: derive(HMAC_INFO), cipherKey: derive(CIPHER_INFO) };
}
