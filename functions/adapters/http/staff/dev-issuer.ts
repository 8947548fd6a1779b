/**
 * The local development issuer: an RS256 key pair kept as JWK files in a directory, a JWKS
 * document to verify with, and tokens for the `auditor` or `ops` role. Stands in for Cognito
 * under `npm start` and in tests; never used in AWS. Its tokens have the shape of Cognito access
 * tokens (`token_use: "access"`, the audience in `client_id` and no `aud`, a fresh `jti`), so
 * every local run goes through the checks a deployed desk applies to Cognito's.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JWTVerifyGetKey } from 'jose';
import type { StaffRole } from './auth';

/** Defaults the local runtime and `npm run token` agree on. */
export const DEV_ISSUER_DEFAULTS = {
  issuer: 'http://127.0.0.1:3000/dev-issuer',
  audience: 'erasure-desk-staff',
  rolesClaim: 'cognito:groups',
} as const;

export interface DevIssuerOptions {
  /** Directory holding `private.jwk.json` and `public.jwk.json` (created when missing). */
  dir: string;
  issuer?: string;
  audience?: string;
  rolesClaim?: string;
}

export interface DevIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly kid: string;
  /** The public JWKS document (`{ keys: [...] }`), served at the issuer's JWKS route. */
  jwks(): { keys: JWK[] };
  /** A key resolver for `createStaffAuthenticator`. */
  keyResolver(): JWTVerifyGetKey;
  /** A bearer token for one role, valid `ttlSeconds` (default 8 h). */
  issueToken(role: StaffRole, subject?: string, ttlSeconds?: number): Promise<string>;
}

const PRIVATE_FILE = 'private.jwk.json';
const PUBLIC_FILE = 'public.jwk.json';

async function readJwk(path: string): Promise<JWK | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as JWK;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Loads the key pair from `dir`, or generates and persists one (private key file mode 0600), so
 * tokens stay valid across restarts of the local runtime.
 * @throws when the directory cannot be created or the key files are unreadable or corrupt.
 */
export async function createDevIssuer(options: DevIssuerOptions): Promise<DevIssuer> {
  const issuer = options.issuer ?? DEV_ISSUER_DEFAULTS.issuer;
  const audience = options.audience ?? DEV_ISSUER_DEFAULTS.audience;
  const rolesClaim = options.rolesClaim ?? DEV_ISSUER_DEFAULTS.rolesClaim;
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  let privateJwk = await readJwk(join(options.dir, PRIVATE_FILE));
  let publicJwk = await readJwk(join(options.dir, PUBLIC_FILE));
  if (!privateJwk || !publicJwk) {
    const pair = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
    privateJwk = await exportJWK(pair.privateKey);
    publicJwk = await exportJWK(pair.publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    privateJwk = { ...privateJwk, kid, alg: 'RS256', use: 'sig' };
    publicJwk = { ...publicJwk, kid, alg: 'RS256', use: 'sig' };
    // flag 'wx' never overwrites a key another process wrote meanwhile.
    await writeFile(join(options.dir, PRIVATE_FILE), JSON.stringify(privateJwk), { mode: 0o600, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    await writeFile(join(options.dir, PUBLIC_FILE), JSON.stringify(publicJwk), { mode: 0o644, flag: 'wx' }).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    // Whoever won the race, use what is on disk.
    privateJwk = (await readJwk(join(options.dir, PRIVATE_FILE)))!;
    publicJwk = (await readJwk(join(options.dir, PUBLIC_FILE)))!;
  }
  const kid = publicJwk.kid ?? (await calculateJwkThumbprint(publicJwk));
  const signingKey = await importJWK(privateJwk, 'RS256');
  const document = { keys: [{ ...publicJwk, kid, alg: 'RS256', use: 'sig' }] };
  const resolver = createLocalJWKSet(document);

  return {
    issuer,
    audience,
    kid,
    jwks: () => structuredClone(document),
    keyResolver: () => resolver,
    async issueToken(role, subject = `dev-${role}`, ttlSeconds = 8 * 3600) {
      return new SignJWT({ [rolesClaim]: [role], token_use: 'access', client_id: audience, scope: 'openid' })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setSubject(subject)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttlSeconds)
        .sign(signingKey);
    },
  };
}
