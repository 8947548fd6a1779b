import { describe, expect, it } from 'vitest';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createStaffAuthenticator, DEFAULT_MAX_TOKEN_AGE_SECONDS, sessionIdOf, StaffAuthConfigError, withSessionRevocations } from '../../../../../functions/adapters/http/staff/auth';
import { InMemorySessionRevocations } from '../../../../support/staff-fakes';

const ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool';
const CLIENT_ID = 'console-client-id';

async function issuer() {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const jwks = createLocalJWKSet({ keys: [publicJwk] });
  return { privateKey, jwks };
}

/** A Cognito-shaped token: `token_use` says which kind; access tokens name the client in `client_id`, ID tokens in `aud`. */
function cognito(privateKey: CryptoKey, kind: 'access' | 'id', options: { iat?: number; exp?: number; typ?: string } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims = kind === 'access' ? { token_use: 'access', client_id: CLIENT_ID, 'cognito:groups': ['ops'] } : { token_use: 'id', 'cognito:groups': ['ops'], email: 'staff@example.com' };
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', ...(options.typ ? { typ: options.typ } : {}) })
    .setIssuer(ISSUER)
    .setSubject('staff-sub')
    .setIssuedAt(options.iat ?? now)
    .setExpirationTime(options.exp ?? now + 3600);
  if (kind === 'id') jwt.setAudience(CLIENT_ID);
  return jwt.sign(privateKey);
}

describe('staff token checks', () => {
  it('accepts a Cognito access token, whose audience is its client_id', async () => {
    const { privateKey, jwks } = await issuer();
    const auth = createStaffAuthenticator({ issuer: ISSUER, audience: CLIENT_ID, jwks });
    await expect(auth.verifyToken(await cognito(privateKey, 'access'))).resolves.toEqual({ subject: 'staff-sub', roles: ['ops'] });
  });

  it('refuses a Cognito ID token, though it is signed by the same issuer for the same client', async () => {
    const { privateKey, jwks } = await issuer();
    const auth = createStaffAuthenticator({ issuer: ISSUER, audience: CLIENT_ID, jwks });
    await expect(auth.verifyToken(await cognito(privateKey, 'id'))).rejects.toMatchObject({ problem: { status: 401, detail: 'The token is not an access token.' } });
    // An ID token dressed in the RFC 9068 type is still an ID token.
    await expect(auth.verifyToken(await cognito(privateKey, 'id', { typ: 'at+jwt' }))).rejects.toMatchObject({ problem: { status: 401 } });
  });

  it('accepts an RFC 9068 access token (typ at+jwt) of another OIDC issuer, and refuses that token without its type', async () => {
    const { privateKey, jwks } = await issuer();
    const auth = createStaffAuthenticator({ issuer: ISSUER, audience: 'api://erasure-desk', jwks, rolesClaim: 'roles' });
    const token = (typ?: string) =>
      new SignJWT({ roles: ['auditor'] })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1', ...(typ ? { typ } : {}) })
        .setIssuer(ISSUER)
        .setAudience('api://erasure-desk')
        .setSubject('s')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey);
    await expect(auth.verifyToken(await token('at+jwt'))).resolves.toEqual({ subject: 's', roles: ['auditor'] });
    await expect(auth.verifyToken(await token())).rejects.toMatchObject({ problem: { status: 401 } });
  });

  it('refuses an access token of another client, and one naming no client at all', async () => {
    const { privateKey, jwks } = await issuer();
    const auth = createStaffAuthenticator({ issuer: ISSUER, audience: 'another-client', jwks });
    await expect(auth.verifyToken(await cognito(privateKey, 'access'))).rejects.toMatchObject({ problem: { status: 401, detail: 'The token was not issued for this service.' } });
    const noClient = await new SignJWT({ token_use: 'access', 'cognito:groups': ['ops'] }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(ISSUER).setSubject('s').setIssuedAt().setExpirationTime('1h').sign(privateKey);
    await expect(createStaffAuthenticator({ issuer: ISSUER, audience: CLIENT_ID, jwks }).verifyToken(noClient)).rejects.toMatchObject({ problem: { status: 401 } });
  });

  it('refuses a token issued longer ago than the longest session (12 h by default), though it has not expired', async () => {
    const { privateKey, jwks } = await issuer();
    const now = Math.floor(Date.now() / 1000);
    const auth = createStaffAuthenticator({ issuer: ISSUER, audience: CLIENT_ID, jwks });
    expect(DEFAULT_MAX_TOKEN_AGE_SECONDS).toBe(43_200);
    const old = await cognito(privateKey, 'access', { iat: now - 13 * 3600, exp: now + 3600 });
    await expect(auth.verifyToken(old)).rejects.toMatchObject({ problem: { status: 401, detail: expect.stringContaining('longest session') } });
    const young = await cognito(privateKey, 'access', { iat: now - 11 * 3600, exp: now + 3600 });
    await expect(auth.verifyToken(young)).resolves.toMatchObject({ subject: 'staff-sub' });
    const shorter = createStaffAuthenticator({ issuer: ISSUER, audience: CLIENT_ID, jwks, maxTokenAgeSeconds: 3600 });
    await expect(shorter.verifyToken(young)).rejects.toMatchObject({ problem: { status: 401 } });
  });

  it('refuses a token without iat (its age cannot be known) and one issued in the future', async () => {
    const { privateKey, jwks } = await issuer();
    const now = Math.floor(Date.now() / 1000);
    const auth = createStaffAuthenticator({ issuer: ISSUER, audience: CLIENT_ID, jwks });
    const noIat = await new SignJWT({ token_use: 'access', client_id: CLIENT_ID }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(ISSUER).setSubject('s').setExpirationTime('1h').sign(privateKey);
    await expect(auth.verifyToken(noIat)).rejects.toMatchObject({ problem: { status: 401 } });
    await expect(auth.verifyToken(await cognito(privateKey, 'access', { iat: now + 600, exp: now + 3600 }))).rejects.toMatchObject({ problem: { status: 401 } });
  });

  it('refuses a maximum token age below a minute as a configuration error', async () => {
    const { jwks } = await issuer();
    expect(() => createStaffAuthenticator({ issuer: ISSUER, audience: CLIENT_ID, jwks, maxTokenAgeSeconds: 10 })).toThrow(StaffAuthConfigError);
  });

  it('refuses a signed-out session on every way in, and only that session', async () => {
    const { privateKey, jwks } = await issuer();
    const sessions = new InMemorySessionRevocations();
    const auth = withSessionRevocations(createStaffAuthenticator({ issuer: ISSUER, audience: CLIENT_ID, jwks }), sessions);
    const now = Math.floor(Date.now() / 1000);
    const gone = await cognito(privateKey, 'access', { iat: now - 5 });
    const kept = await cognito(privateKey, 'access', { iat: now - 6 });
    await sessions.revoke(sessionIdOf(gone), new Date(Date.now() + 3_600_000));
    await expect(auth.verifyToken(gone)).rejects.toMatchObject({ problem: { status: 401, detail: expect.stringContaining('signed out') } });
    await expect(auth.authenticate({ authorization: `Bearer ${gone}` })).rejects.toMatchObject({ problem: { status: 401 } });
    await expect(auth.require({ authorization: `Bearer ${gone}` }, 'read')).rejects.toMatchObject({ problem: { status: 401 } });
    await expect(auth.require({ authorization: `Bearer ${kept}` }, 'act')).resolves.toMatchObject({ subject: 'staff-sub' });
  });

  it('names a session by a hash of its token, never the token itself', () => {
    const id = sessionIdOf('header.payload.signature');
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(id).not.toContain('payload');
  });
});
