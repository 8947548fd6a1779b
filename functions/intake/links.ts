/**
 * The tokens of the public side, all signed with one secret link key (HS256):
 *
 * - the **verification link** (30 min, single use through `SingleUseTokens`) that proves the
 *   subject reads the mailbox they named;
 * - the **status token** that opens one request's status page, so the page needs no account and
 *   shows nothing to someone who only guesses an id. Its signature alone is not enough: the
 *   request's record decides (`statusLinkOpen`) — a link works while the request is open and for
 *   `STATUS_LINK_RETENTION_DAYS` after it ended, and ops can revoke every link issued so far;
 * - the **CSRF token** of the form: stateless double-submit (the same signed value in a hidden
 *   field and in a cookie), so no server-side session is needed.
 *
 * Each token names its purpose (`aud` and `purpose`), so one can never stand in for another.
 */
import { createHmac, hkdfSync, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { VERIFY_LINK_TTL_SECONDS } from '../domain/timings';
import { LinkExpiredError, LinkInvalidError } from '../domain/errors';
import { isFinal } from '../domain/lifecycle';
import type { AuditEvent } from '../domain/model';

export const TOKEN_ISSUER = 'erasure-desk/intake';
export const VERIFY_AUDIENCE = 'erasure-desk/verify';
export const STATUS_AUDIENCE = 'erasure-desk/status';
/** How long a verification link works (see domain/timings). */
export { VERIFY_LINK_TTL_SECONDS };
/**
 * The outer bound of a status token's signature. The request's record ends a link much sooner
 * (`statusLinkOpen`); this only bounds a link whose request somehow stays open for over a year.
 */
export const STATUS_TOKEN_TTL_SECONDS = 400 * 24 * 3600;
/**
 * How long status links keep working after their request ended (COMPLETED, CANCELLED, EXPIRED):
 * time to read the outcome and save the receipt (a JWS that stays verifiable offline), without
 * a forwarded mail showing the request's fate for a year.
 */
export const STATUS_LINK_RETENTION_DAYS = 90;
/** How long a form stays valid after it was served. */
export const CSRF_TTL_SECONDS = 2 * 3600;
/** A link key must have at least this many bytes (HS256 wants 256 bits). */
export const MIN_LINK_KEY_BYTES = 32;



function checkKey(key: Uint8Array): Uint8Array {
  if (!(key instanceof Uint8Array) || key.byteLength < MIN_LINK_KEY_BYTES) {
    throw new RangeError(`The link key must have at least ${MIN_LINK_KEY_BYTES} bytes`);
  }
  return key;
}

/** Request ids that may appear in tokens and URLs: conservative, so nothing odd is ever signed. */
const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A verification link token for one request: HS256 JWT with `sub` = request id, `purpose`
 * `verify`, a random `jti` (consumed once) and a 30-minute expiry.
 * @throws RangeError when the key is too short or the request id is not URL-safe.
 */
export async function createVerifyToken(linkKey: Uint8Array, requestId: string, now: Date, ttlSeconds = VERIFY_LINK_TTL_SECONDS) {
  if (!REQUEST_ID.test(requestId)) throw new RangeError('Request ids must be URL-safe');
  const jti = randomUUID();
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + ttlSeconds;
  const token = await new SignJWT({ purpose: 'verify' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(VERIFY_AUDIENCE)
    .setSubject(requestId)
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(checkKey(linkKey));
  return { token, jti, expiresAt: new Date(exp * 1000) };
}

/**
 * Checks a verification link token (signature, issuer, audience, purpose, expiry at `now`).
 * Single use is the caller's part (`SingleUseTokens.consumeToken(jti, expiresAt)`).
 * @throws LinkExpiredError when it has expired; LinkInvalidError for anything else wrong.
 */
export async function verifyVerifyToken(linkKey: Uint8Array, token: string, now: Date): Promise<{ requestId: string; jti: string; expiresAt: Date }> {
  if (token.length > 2048) throw new LinkInvalidError();
  try {
    const { payload } = await jwtVerify(token, checkKey(linkKey), {
      algorithms: ['HS256'],
      issuer: TOKEN_ISSUER,
      audience: VERIFY_AUDIENCE,
      currentDate: now,
      requiredClaims: ['sub', 'jti', 'exp'],
    });
    if (payload.purpose !== 'verify' || !REQUEST_ID.test(payload.sub ?? '') || typeof payload.jti !== 'string') throw new LinkInvalidError();
    return { requestId: payload.sub!, jti: payload.jti, expiresAt: new Date(payload.exp! * 1000) };
  } catch (error) {
    if (error instanceof LinkInvalidError) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new LinkExpiredError();
    throw new LinkInvalidError({ cause: error });
  }
}

/**
 * The status token of a request: opens its status page (and receipt) while `statusLinkOpen` says
 * so, and never after `ttlSeconds`.
 * @throws RangeError when the key is too short or the request id is not URL-safe.
 */
export async function createStatusToken(linkKey: Uint8Array, requestId: string, now: Date, ttlSeconds = STATUS_TOKEN_TTL_SECONDS): Promise<string> {
  if (!REQUEST_ID.test(requestId)) throw new RangeError('Request ids must be URL-safe');
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ purpose: 'status' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(STATUS_AUDIENCE)
    .setSubject(requestId)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlSeconds)
    .sign(checkKey(linkKey));
}

/**
 * True when `token` is a valid, unexpired status token for exactly `requestId`. Never throws on
 * a bad token: every failure is the same `false`, so callers answer one 404 for all of them.
 */
export async function checkStatusToken(linkKey: Uint8Array, token: string | undefined, requestId: string, now: Date): Promise<boolean> {
  return (await readStatusToken(linkKey, token, requestId, now)) !== undefined;
}

/**
 * When a valid, unexpired status token for exactly `requestId` was issued, or undefined for any
 * bad token (never throws, so callers answer one 404 for all of them).
 */
export async function readStatusToken(linkKey: Uint8Array, token: string | undefined, requestId: string, now: Date): Promise<{ issuedAt: Date } | undefined> {
  if (!token || token.length > 2048) return undefined;
  try {
    const { payload } = await jwtVerify(token, checkKey(linkKey), {
      algorithms: ['HS256'],
      issuer: TOKEN_ISSUER,
      audience: STATUS_AUDIENCE,
      currentDate: now,
      requiredClaims: ['sub', 'exp', 'iat'],
    });
    if (payload.purpose !== 'status' || payload.sub !== requestId) return undefined;
    return { issuedAt: new Date(payload.iat! * 1000) };
  } catch {
    return undefined;
  }
}

/**
 * When the request reached the final status it is in now, from its events (the chain is the
 * truth), or undefined while it is not final.
 */
export function closedAt(timeline: readonly Pick<AuditEvent, 'status' | 'at'>[]): Date | undefined {
  let closed: string | undefined;
  for (const event of timeline) {
    if (!isFinal(event.status)) closed = undefined;
    else closed ??= event.at;
  }
  return closed === undefined ? undefined : new Date(closed);
}

/** When ops last revoked the request's status links (STATUS_LINKS_REVOKED), or undefined. */
export function linksRevokedAt(timeline: readonly Pick<AuditEvent, 'type' | 'at'>[]): Date | undefined {
  const revoked = timeline.findLast((e) => e.type === 'STATUS_LINKS_REVOKED');
  return revoked && new Date(revoked.at);
}

/**
 * Whether a status link issued at `issuedAt` still opens its request's page: not issued at or
 * before the latest revocation (token times have whole seconds, so a link of the revocation's
 * second counts as revoked), and the request still open or ended at most `retentionDays` ago.
 * Links issued after a revocation (the next mail) work again.
 */
export function statusLinkOpen(
  timeline: readonly Pick<AuditEvent, 'type' | 'status' | 'at'>[],
  issuedAt: Date,
  now: Date,
  retentionDays = STATUS_LINK_RETENTION_DAYS,
): boolean {
  const revoked = linksRevokedAt(timeline);
  if (revoked && issuedAt.getTime() <= revoked.getTime()) return false;
  const closed = closedAt(timeline);
  return !closed || now.getTime() <= closed.getTime() + retentionDays * 24 * 3600 * 1000;
}

/** The URL of a request's status page, carrying its status token. */
export async function statusUrlFor(publicBaseUrl: string, linkKey: Uint8Array, requestId: string, now: Date): Promise<string> {
  const token = await createStatusToken(linkKey, requestId, now);
  return `${publicBaseUrl.replace(/\/+$/, '')}/requests/${encodeURIComponent(requestId)}?token=${encodeURIComponent(token)}`;
}

/** The URL of a verification link. */
export function verifyUrlFor(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/verify?token=${encodeURIComponent(token)}`;
}

// ---------------------------------------------------------------------------------------------
// CSRF: stateless double submit

/**
 * The CSRF cookie's name. Over HTTPS it is `__Host-csrf`: the browser then insists on `Secure`,
 * `Path=/` and no `Domain`, so a sibling subdomain cannot plant it. Over plain http (the local
 * runtime) a `__Host-` cookie cannot be set, so it is `csrf` with the same flags minus `Secure`.
 */
export function csrfCookieName(secure: boolean): string {
  return secure ? '__Host-csrf' : 'csrf';
}

/** Whether the public base URL is https (decides the cookie name and `Secure`). */
export function isSecureBase(publicBaseUrl: string): boolean {
  return publicBaseUrl.toLowerCase().startsWith('https://');
}

function csrfKey(linkKey: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', checkKey(linkKey), Buffer.alloc(0), 'erasure-desk csrf v1', 32));
}

function csrfMac(linkKey: Uint8Array, body: string): string {
  return createHmac('sha256', csrfKey(linkKey)).update(body).digest('base64url');
}

/**
 * A fresh CSRF token (`<nonce>.<exp>.<mac>`) and the `Set-Cookie` value that carries it. The
 * form embeds the token in a hidden field; the post must bring both, equal and valid.
 */
export function issueCsrf(linkKey: Uint8Array, now: Date, secure: boolean, ttlSeconds = CSRF_TTL_SECONDS): { token: string; cookie: string } {
  const exp = Math.floor(now.getTime() / 1000) + ttlSeconds;
  const body = `${randomBytes(18).toString('base64url')}.${exp}`;
  const token = `${body}.${csrfMac(linkKey, body)}`;
  const flags = ['Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${ttlSeconds}`, ...(secure ? ['Secure'] : [])];
  return { token, cookie: `${csrfCookieName(secure)}=${token}; ${flags.join('; ')}` };
}

/**
 * True when the field and cookie tokens are present, equal, ours (MAC) and unexpired.
 * Comparison is constant-time.
 */
export function checkCsrf(linkKey: Uint8Array, fieldToken: string | undefined, cookieToken: string | undefined, now: Date): boolean {
  if (!fieldToken || !cookieToken || fieldToken.length > 256 || cookieToken.length > 256) return false;
  const a = Buffer.from(fieldToken);
  const b = Buffer.from(cookieToken);
  if (a.byteLength !== b.byteLength || !timingSafeEqual(a, b)) return false;
  const parts = fieldToken.split('.');
  if (parts.length !== 3) return false;
  const [nonce, exp, mac] = parts as [string, string, string];
  if (!/^\d{1,12}$/.test(exp) || Number(exp) * 1000 < now.getTime()) return false;
  const expected = Buffer.from(csrfMac(linkKey, `${nonce}.${exp}`));
  const given = Buffer.from(mac);
  return expected.byteLength === given.byteLength && timingSafeEqual(expected, given);
}
