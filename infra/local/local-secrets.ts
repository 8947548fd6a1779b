/**
 * Development secrets for `npm start`: generated on first start and kept under the data directory,
 * so hashes, links and receipts stay valid across restarts. In AWS they live in Secrets Manager
 * and KMS; nothing here is ever used there.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

export interface LocalSecrets {
  /** Source of the subject HMAC and cipher keys (`deriveKeys`). */
  subjectSecret: string;
  /** HS256 key of verification and status links, and of CSRF tokens. */
  linkKey: string;
  /** ES256 private key signing receipts and checkpoints. */
  signingKey: JWK;
}

/** Reads the secrets file, creating it (mode 0600) with fresh random values when absent. */
export async function loadOrCreateLocalSecrets(path: string): Promise<LocalSecrets> {
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as LocalSecrets;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const secrets: LocalSecrets = {
    subjectSecret: randomBytes(32).toString('base64url'),
    linkKey: randomBytes(32).toString('base64url'),
    signingKey: { ...(await exportJWK(privateKey)), alg: 'ES256', kid: `local-${randomBytes(4).toString('hex')}` },
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
