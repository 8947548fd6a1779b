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
  /** ES256 private key signing erasure receipts, and nothing else. */
  receiptSigningKey: JWK;
  /** ES256 private key signing audit-chain checkpoints, and nothing else. */
  checkpointSigningKey: JWK;
}

async function newSigningKey(purpose: 'receipt' | 'checkpoint'): Promise<JWK> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return { ...(await exportJWK(privateKey)), alg: 'ES256', kid: `local-${purpose}-${randomBytes(4).toString('hex')}` };
}

function write(path: string, secrets: LocalSecrets): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(secrets, null, 2), { mode: 0o600 });
}

/**
 * Reads the secrets file, creating it (mode 0600) with fresh random values when absent. A file
 * from before receipts and checkpoints had separate keys (one `signingKey`) keeps that key for
 * receipts, so receipts already handed out still verify, and gets a new checkpoint key.
 */
export async function loadOrCreateLocalSecrets(path: string): Promise<LocalSecrets> {
  if (existsSync(path)) {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalSecrets> & { signingKey?: JWK };
    if (stored.receiptSigningKey && stored.checkpointSigningKey) return stored as LocalSecrets;
    const { signingKey, ...rest } = stored;
    const upgraded = {
      ...rest,
      receiptSigningKey: stored.receiptSigningKey ?? signingKey ?? (await newSigningKey('receipt')),
      checkpointSigningKey: stored.checkpointSigningKey ?? (await newSigningKey('checkpoint')),
    } as LocalSecrets;
    write(path, upgraded);
    return upgraded;
  }
  const secrets: LocalSecrets = {
    subjectSecret: randomBytes(32).toString('base64url'),
    linkKey: randomBytes(32).toString('base64url'),
    receiptSigningKey: await newSigningKey('receipt'),
    checkpointSigningKey: await newSigningKey('checkpoint'),
  };
  write(path, secrets);
  return secrets;
}
