import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStaffAuthenticator } from '../../../../../functions/adapters/http/staff/auth';
import { createDevIssuer } from '../../../../../functions/adapters/http/staff/dev-issuer';
import { createLocalJWKSet, decodeJwt } from 'jose';

describe('the development issuer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dev-issuer-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('issues tokens the staff authenticator accepts, with the role asked for', async () => {
    const issuer = await createDevIssuer({ dir, issuer: 'http://127.0.0.1:1/dev-issuer', audience: 'aud' });
    const auth = createStaffAuthenticator({ issuer: issuer.issuer, audience: issuer.audience, jwks: createLocalJWKSet(issuer.jwks()) });
    expect(await auth.verifyToken(await issuer.issueToken('ops', 'olga'))).toEqual({ subject: 'olga', roles: ['ops'] });
    expect(await auth.verifyToken(await issuer.issueToken('auditor'))).toEqual({ subject: 'dev-auditor', roles: ['auditor'] });
  });

  it('issues tokens shaped like Cognito access tokens: token_use access, the audience as client_id, a fresh jti', async () => {
    const issuer = await createDevIssuer({ dir, audience: 'aud' });
    const [a, b] = [await issuer.issueToken('ops', 'same'), await issuer.issueToken('ops', 'same')];
    const claims = decodeJwt(a);
    expect(claims).toMatchObject({ token_use: 'access', client_id: 'aud', sub: 'same' });
    expect(claims).not.toHaveProperty('aud');
    expect(claims.jti).not.toBe(decodeJwt(b).jti);
  });

  it('keeps its key across restarts, the private half readable by the owner only', async () => {
    const first = await createDevIssuer({ dir });
    const token = await first.issueToken('auditor');
    const second = await createDevIssuer({ dir });
    expect(second.kid).toBe(first.kid);
    const auth = createStaffAuthenticator({ issuer: second.issuer, audience: second.audience, jwks: second.keyResolver() });
    await expect(auth.verifyToken(token)).resolves.toMatchObject({ roles: ['auditor'] });
    expect((await stat(join(dir, 'private.jwk.json'))).mode & 0o077).toBe(0);
  });

  it('publishes only the public key in its JWKS', async () => {
    const issuer = await createDevIssuer({ dir });
    const [key] = issuer.jwks().keys;
    expect(key).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', kid: issuer.kid });
    expect(key).not.toHaveProperty('d');
    expect(JSON.parse(await readFile(join(dir, 'public.jwk.json'), 'utf8'))).not.toHaveProperty('d');
  });

  it('issues expired tokens that are refused', async () => {
    const issuer = await createDevIssuer({ dir });
    const auth = createStaffAuthenticator({ issuer: issuer.issuer, audience: issuer.audience, jwks: issuer.keyResolver(), clockTolerance: 0 });
    await expect(auth.verifyToken(await issuer.issueToken('ops', 'x', -10))).rejects.toMatchObject({ problem: { status: 401 } });
  });
});
