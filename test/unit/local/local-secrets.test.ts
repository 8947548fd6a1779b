import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateLocalSecrets } from '../../../infra/local/local-secrets';

describe('local development secrets', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-secrets-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates separate receipt and checkpoint keys once, and reads the same ones back', async () => {
    const path = join(dir, 'secrets.json');
    const created = await loadOrCreateLocalSecrets(path);
    const again = await loadOrCreateLocalSecrets(path);
    expect(again).toEqual(created);
    expect(created.receiptSigningKey.d).not.toBe(created.checkpointSigningKey.d);
    expect(created.receiptSigningKey.kid).not.toBe(created.checkpointSigningKey.kid);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('keeps the single key of an older secrets file for receipts and adds a checkpoint key', async () => {
    const path = join(dir, 'secrets.json');
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const signingKey = { ...(await exportJWK(privateKey)), alg: 'ES256', kid: 'local-old' };
    await writeFile(path, JSON.stringify({ subjectSecret: 's'.repeat(43), linkKey: 'l'.repeat(43), signingKey }), { mode: 0o600 });

    const upgraded = await loadOrCreateLocalSecrets(path);

    expect(upgraded.receiptSigningKey).toEqual(signingKey);
    expect(upgraded.checkpointSigningKey.d).not.toBe(signingKey.d);
    const stored = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(stored).sort()).toEqual(['checkpointSigningKey', 'linkKey', 'receiptSigningKey', 'subjectSecret']);
    expect(await loadOrCreateLocalSecrets(path)).toEqual(upgraded);
  });
});
