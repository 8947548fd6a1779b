/**
 * Staff authentication: `Authorization: Bearer <JWT>` verified with jose against the issuer's
 * JWKS. Issuer, audience and expiry are checked, the algorithms are pinned to an asymmetric list
 * (so `none` and HS/RS confusion cannot pass), and a `kid` the JWKS does not know is refused.
 * Roles come from a configurable claim (Cognito groups by default): `auditor` reads, `ops` reads
 * and acts.
 */
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { HttpProblem, problem } from '../commons/http/problem';
import type { Actor } from '../domain/model';
import { header } from './http';

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
  const rolesClaim = options.rolesClaim ?? 'cognito:groups';
  const clockTolerance = options.clockTolerance ?? 5;

  async function verifyToken(token: string): Promise<StaffPrincipal> {
    if (!token || token.length > 8192) throw unauthorized('The token is not valid.');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, options.jwks, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms,
        clockTolerance,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw unauthorized(reasonOf(error));
    }
    const subject = payload.sub;
    if (typeof subject !== 'string' || subject.trim() === '' || subject.length > 256) throw unauthorized('The token has no subject.');
    return { subject, roles: rolesFromClaim(payload, rolesClaim) };
  }

  async function authenticate(headers: Record<string, string | undefined> | undefined): Promise<StaffPrincipal> {
    const value = header(headers, 'authorization');
    if (!value) throw unauthorized('Send an Authorization: Bearer token.', 'invalid_request');
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(value);
    if (!match) throw unauthorized('The Authorization header is not a bearer token.');
    return verifyToken(match[1]!);
  }

  async function require(headers: Record<string, string | undefined> | undefined, permission: Permission): Promise<StaffPrincipal> {
    const principal = await authenticate(headers);
    if (!hasPermission(principal, permission)) throw forbidden(permission);
    return principal;
  }

  return { verifyToken, authenticate, require };
}
