/**
 * Staff authentication: `Authorization: Bearer <JWT>` verified with jose against the issuer's
 * JWKS. Issuer, audience and expiry are checked, the algorithms are pinned to an asymmetric list
 * (so `none` and HS/RS confusion cannot pass), and a `kid` the JWKS does not know is refused.
 * Roles come from a configurable claim (Cognito groups by default): `auditor` reads, `ops` reads
 * and acts.
 *
 * Only **access tokens** are accepted: Cognito's (`token_use: "access"`, audience in `client_id`)
 * or any issuer's RFC 9068 ones (`typ: at+jwt`, audience in `aud`). An ID token says who signed in
 * to the client; it is not meant to authorise calls to an API, and accepting both would let a
 * token minted for one purpose stand in for the other. A token is also refused once its `iat` is
 * older than the longest session allowed (12 h by default), whatever its `exp` says, so a
 * long-lived token from a misconfigured issuer cannot keep a session open for days.
 */
import { createHash } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { HttpProblem, problem } from '../shared/problem';
import type { Actor } from '../../../domain/model';
import type { SessionRevocations } from '../../../domain/ports';
import { header } from './http';

/** The longest a staff session may last from the token's `iat`, unless configured otherwise. */
export const DEFAULT_MAX_TOKEN_AGE_SECONDS = 12 * 3600;

export type StaffRole = 'auditor' | 'ops';
export const STAFF_ROLES: readonly StaffRole[] = ['auditor', 'ops'];

/** What a route needs: `read` (auditor or ops) or `act` (ops only). */
export type Permission = 'read' | 'act';

export interface StaffPrincipal {
  /** The token's `sub`; actions are recorded as `staff:<subject>`. */
  subject: string;
  roles: StaffRole[];
}

/** Asymmetric JWS algorithms only: a symmetric one would let anyone holding the public key sign. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

export interface StaffAuthOptions {
  issuer: string;
  audience: string | string[];
  /** From `createRemoteJWKSet` (AWS, any OIDC issuer) or `createLocalJWKSet` (tests, dev issuer). */
  jwks: JWTVerifyGetKey;
  /** Pinned algorithms; default `['RS256']`. Only asymmetric algorithms are accepted. */
  algorithms?: string[];
  /** Claim holding the roles: a name or dotted path; its value an array or a space-separated string. Default `cognito:groups`. */
  rolesClaim?: string;
  /** Seconds of clock skew tolerated on `exp`/`nbf`/`iat`; default 5. */
  clockTolerance?: number;
  /** Tokens issued (`iat`) longer ago than this are refused; default DEFAULT_MAX_TOKEN_AGE_SECONDS. */
  maxTokenAgeSeconds?: number;
}

export interface StaffAuthenticator {
  /**
   * Verifies a bare token.
   * @throws HttpProblem 401 (with `WWW-Authenticate`) for any token that does not verify.
   */
  verifyToken(token: string): Promise<StaffPrincipal>;
  /**
   * Verifies the bearer token of a request.
   * @throws HttpProblem 401 when the token is missing or does not verify.
   */
  authenticate(headers: Record<string, string | undefined> | undefined): Promise<StaffPrincipal>;
  /**
   * Authenticates and checks the permission.
   * @throws HttpProblem 401 as `authenticate`, 403 when the role is missing.
   */
  require(headers: Record<string, string | undefined> | undefined, permission: Permission): Promise<StaffPrincipal>;
}

/** The configuration is unusable (e.g. a symmetric algorithm was configured). */
export class StaffAuthConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StaffAuthConfigError';
  }
}

/** The audit actor of a staff member. */
export function staffActor(principal: StaffPrincipal): Actor {
  return `staff:${principal.subject}`;
}

/** True when the principal's roles allow the permission (`ops` implies `read`). */
export function hasPermission(principal: StaffPrincipal, permission: Permission): boolean {
  if (principal.roles.includes('ops')) return true;
  return permission === 'read' && principal.roles.includes('auditor');
}

function unauthorized(detail: string, error: 'invalid_request' | 'invalid_token' = 'invalid_token'): HttpProblem {
  const challenge = error === 'invalid_request' ? 'Bearer' : `Bearer error="${error}"`;
  return new HttpProblem(problem(401, 'unauthorized', 'Authentication required', detail), { 'www-authenticate': challenge });
}

/** 403 for an authenticated caller lacking the role. */
export function forbidden(permission: Permission): HttpProblem {
  return new HttpProblem(
    problem(403, 'forbidden', 'Not allowed', permission === 'act' ? 'This action needs the ops role.' : 'This needs the auditor or ops role.'),
    { 'www-authenticate': 'Bearer error="insufficient_scope"' },
  );
}

function claimAt(payload: JWTPayload, path: string): unknown {
  if (path in payload) return payload[path];
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The staff roles named in the claim; anything else there is ignored. */
export function rolesFromClaim(payload: JWTPayload, rolesClaim: string): StaffRole[] {
  const raw = claimAt(payload, rolesClaim);
  const names = Array.isArray(raw) ? raw.filter((r): r is string => typeof r === 'string') : typeof raw === 'string' ? raw.split(/\s+/) : [];
  return STAFF_ROLES.filter((r) => names.includes(r));
}

/** Why a token failed, in words that leak nothing about keys or claims' values. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired && error.claim === 'iat') return 'The token is older than the longest session allowed; sign in again.';
  if (error instanceof errors.JWTExpired) return 'The token has expired.';
  if (error instanceof errors.JWTClaimValidationFailed) return 'The token was not issued for this service.';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'The token is signed with an algorithm that is not accepted.';
  if (error instanceof errors.JWKSNoMatchingKey) return 'The token is signed with an unknown key.';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'The token signature is not valid.';
  return 'The token is not valid.';
}

/**
 * Builds the staff authenticator.
 * @throws StaffAuthConfigError when no algorithm or a non-asymmetric one is configured, or the
 *   issuer/audience is empty.
 */
export function createStaffAuthenticator(options: StaffAuthOptions): StaffAuthenticator {
  const algorithms = options.algorithms ?? ['RS256'];
  if (algorithms.length === 0) throw new StaffAuthConfigError('At least one algorithm must be pinned');
  for (const alg of algorithms) {
    if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) throw new StaffAuthConfigError(`Algorithm ${alg} is not an accepted asymmetric algorithm`);
  }
  if (!options.issuer) throw new StaffAuthConfigError('The issuer is required');
  if (!options.audience || (Array.isArray(options.audience) && options.audience.length === 0)) throw new StaffAuthConfigError('The audience is required');
  const audiences: readonly string[] = Array.isArray(options.audience) ? options.audience : [options.audience];
  const rolesClaim = options.rolesClaim ?? 'cognito:groups';
  const clockTolerance = options.clockTolerance ?? 5;
  const maxTokenAge = options.maxTokenAgeSeconds ?? DEFAULT_MAX_TOKEN_AGE_SECONDS;
  if (!Number.isInteger(maxTokenAge) || maxTokenAge < 60) throw new StaffAuthConfigError('The maximum token age must be a whole number of seconds, at least 60');

  async function verifyToken(token: string): Promise<StaffPrincipal> {
    if (!token || token.length > 8192) throw unauthorized('The token is not valid.');
    let payload: JWTPayload;
    let typ: string | undefined;
    try {
      const verified = await jwtVerify(token, options.jwks, {
        issuer: options.issuer,
        algorithms,
        clockTolerance,
        maxTokenAge,
        requiredClaims: ['exp', 'iat', 'sub'],
      });
      payload = verified.payload;
      typ = verified.protectedHeader.typ;
    } catch (error) {
      throw unauthorized(reasonOf(error));
    }
    if (!isAccessToken(payload, typ)) throw unauthorized('The token is not an access token.');
    if (!audienceMatches(payload, audiences)) throw unauthorized('The token was not issued for this service.');
    const subject = payload.sub;
    if (typeof subject !== 'string' || subject.trim() === '' || subject.length > 256) throw unauthorized('The token has no subject.');
    return { subject, roles: rolesFromClaim(payload, rolesClaim) };
  }

  return withVerifier(verifyToken);
}

/**
 * An access token: Cognito's say so in `token_use`; other issuers' follow RFC 9068 (`typ: at+jwt`).
 * A token claiming to be anything else (Cognito's `token_use: "id"`) is refused even with that typ.
 */
export function isAccessToken(payload: JWTPayload, typ: string | undefined): boolean {
  if (payload.token_use !== undefined) return payload.token_use === 'access';
  const t = (typ ?? '').toLowerCase();
  return t === 'at+jwt' || t === 'application/at+jwt';
}

/**
 * The token names this service: in `aud` when it has one (RFC 9068, ID tokens), else — Cognito
 * access tokens carry no `aud` — in `client_id`. A token with neither is refused.
 */
export function audienceMatches(payload: JWTPayload, audiences: readonly string[]): boolean {
  if (payload.aud !== undefined) {
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    return aud.some((a) => typeof a === 'string' && audiences.includes(a));
  }
  return typeof payload.client_id === 'string' && audiences.includes(payload.client_id);
}

/**
 * The bearer token of a request's headers.
 * @throws HttpProblem 401 when the header is missing or not a bearer token.
 */
export function bearerTokenOf(headers: Record<string, string | undefined> | undefined): string {
  const value = header(headers, 'authorization');
  if (!value) throw unauthorized('Send an Authorization: Bearer token.', 'invalid_request');
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(value);
  if (!match) throw unauthorized('The Authorization header is not a bearer token.');
  return match[1]!;
}

/** An authenticator around one way of verifying a bare token. */
function withVerifier(verifyToken: (token: string) => Promise<StaffPrincipal>): StaffAuthenticator {
  const authenticate = async (headers: Record<string, string | undefined> | undefined) => verifyToken(bearerTokenOf(headers));
  return {
    verifyToken,
    authenticate,
    async require(headers, permission) {
      const principal = await authenticate(headers);
      if (!hasPermission(principal, permission)) throw forbidden(permission);
      return principal;
    },
  };
}

/**
 * The id a signed-out session is remembered by: a hash of the whole token, so it works for every
 * issuer (with or without `jti`) and the store never holds a usable token.
 */
export function sessionIdOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

/**
 * The authenticator refusing tokens whose session was signed out (console sign-out), on every
 * staff route: a token that was signed out is dead everywhere until it expires. The signature is
 * checked first, so a forged token costs no store read.
 * @throws HttpProblem 401 for a signed-out token (and whatever `auth` throws).
 */
export function withSessionRevocations(auth: StaffAuthenticator, revocations: Pick<SessionRevocations, 'isRevoked'>): StaffAuthenticator {
  return withVerifier(async (token) => {
    const principal = await auth.verifyToken(token);
    if (await revocations.isRevoked(sessionIdOf(token))) throw unauthorized('This session was signed out; sign in again.');
    return principal;
  });
}
