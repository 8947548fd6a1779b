import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoSessionRevocations } from '../../../functions/adapters/dynamo/session-revocations';
import { sessionIdOf } from '../../../functions/adapters/http/staff/auth';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';

let db: DynaliteHandle;

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

describe('DynamoSessionRevocations', () => {
  const revocations = () => new DynamoSessionRevocations({ client: db.client, tableName: db.tableName });

  it('remembers a signed-out session, and only that one', async () => {
    const gone = sessionIdOf(`token-${Date.now()}-a`);
    const kept = sessionIdOf(`token-${Date.now()}-b`);
    await revocations().revoke(gone, new Date(Date.now() + 3_600_000));
    expect(await revocations().isRevoked(gone)).toBe(true);
    expect(await revocations().isRevoked(kept)).toBe(false);
  });

  it('keeps the marker until the token expires (TTL, rounded up) and holds no token', async () => {
    const token = `header.payload-${Date.now()}.signature`;
    const expiresAt = new Date(Date.UTC(2030, 0, 1, 0, 0, 0, 500));
    await revocations().revoke(sessionIdOf(token), expiresAt);
    const { Item } = await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk: `SESSION#${sessionIdOf(token)}`, sk: 'REVOKED' } }));
    expect(Item).toEqual({ pk: `SESSION#${sessionIdOf(token)}`, sk: 'REVOKED', expiresAt: Math.ceil(expiresAt.getTime() / 1000) });
    expect(JSON.stringify(Item)).not.toContain('payload');
  });

  it('signs out twice without an error, keeping the first marker', async () => {
    const id = sessionIdOf(`twice-${Date.now()}`);
    await revocations().revoke(id, new Date(Date.now() + 60_000));
    await expect(revocations().revoke(id, new Date(Date.now() + 120_000))).resolves.toBeUndefined();
    expect(await revocations().isRevoked(id)).toBe(true);
  });

  it('refuses a malformed session id on write and treats it as not revoked on read', async () => {
    await expect(revocations().revoke('alice@example.com', new Date())).rejects.toThrow(TypeError);
    expect(await revocations().isRevoked('not a hash!')).toBe(false);
  });
});
