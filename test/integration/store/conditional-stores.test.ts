import { randomUUID } from 'node:crypto';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoOpenRequestClaims } from '../../../functions/adapters/dynamo/open-request-claims';
import { DynamoRateLimiter } from '../../../functions/adapters/dynamo/rate-limits';
import { DynamoSingleUseTokens } from '../../../functions/adapters/dynamo/single-use-tokens';
import { startDynalite, type DynaliteHandle } from '../../support/dynalite';
import { newRequestId, newSubjectHash } from './fixtures';

let db: DynaliteHandle;

beforeAll(async () => {
  db = await startDynalite();
});
afterAll(async () => {
  await db?.stop();
});

describe('DynamoOpenRequestClaims', () => {
  const claims = () => new DynamoOpenRequestClaims({ client: db.client, tableName: db.tableName });

  it('lets exactly one of 50 concurrent intakes claim a subject and scope, and tells the rest who won', async () => {
    const subject = newSubjectHash();
    const ids = Array.from({ length: 50 }, newRequestId);

    const results = await Promise.all(ids.map((id) => claims().claimOpenRequest(subject, '*', id)));

    const winners = ids.filter((_, i) => results[i]!.claimed);
    expect(winners).toHaveLength(1);
    for (const result of results) if (!result.claimed) expect(result.existingRequestId).toBe(winners[0]);
  });

  it('treats a repeated claim by the holder as claimed', async () => {
    const subject = newSubjectHash();
    const id = newRequestId();
    await claims().claimOpenRequest(subject, '*', id);

    expect(await claims().claimOpenRequest(subject, '*', id)).toEqual({ claimed: true });
  });

  it('keeps scopes of one subject apart', async () => {
    const subject = newSubjectHash();
    const [all, some] = [newRequestId(), newRequestId()];

    expect(await claims().claimOpenRequest(subject, '*', all)).toEqual({ claimed: true });
    expect(await claims().claimOpenRequest(subject, 'st-1,st-2', some)).toEqual({ claimed: true });
    expect(await claims().claimOpenRequest(subject, '*', newRequestId())).toEqual({ claimed: false, existingRequestId: all });
  });

  it('releases only for the holder, and a repeated release is harmless', async () => {
    const subject = newSubjectHash();
    const [holder, other, next] = [newRequestId(), newRequestId(), newRequestId()];
    await claims().claimOpenRequest(subject, '*', holder);

    await claims().releaseOpenRequest(subject, '*', other);
    expect(await claims().claimOpenRequest(subject, '*', next)).toEqual({ claimed: false, existingRequestId: holder });

    await claims().releaseOpenRequest(subject, '*', holder);
    await claims().releaseOpenRequest(subject, '*', holder);
    expect(await claims().claimOpenRequest(subject, '*', next)).toEqual({ claimed: true });
  });

  it('releases by marking the claim (no DeleteItem): the item stays without a holder, due for TTL', async () => {
    const subject = newSubjectHash();
    const holder = newRequestId();
    await claims().claimOpenRequest(subject, '*', holder);

    await claims().releaseOpenRequest(subject, '*', holder);

    const { Item } = await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk: `SUBJECT#${subject}`, sk: 'OPEN#*' } }));
    expect(Item).toMatchObject({ releasedAt: expect.any(String), expiresAt: expect.any(Number) });
    expect(Item).not.toHaveProperty('requestId');
  });

  it('lets exactly one of 30 concurrent intakes take over a released claim, and the new claim does not expire', async () => {
    const subject = newSubjectHash();
    const first = newRequestId();
    await claims().claimOpenRequest(subject, '*', first);
    await claims().releaseOpenRequest(subject, '*', first);
    const ids = Array.from({ length: 30 }, newRequestId);

    const results = await Promise.all(ids.map((id) => claims().claimOpenRequest(subject, '*', id)));

    const winners = ids.filter((_, i) => results[i]!.claimed);
    expect(winners).toHaveLength(1);
    for (const result of results) if (!result.claimed) expect(result.existingRequestId).toBe(winners[0]);
    const { Item } = await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk: `SUBJECT#${subject}`, sk: 'OPEN#*' } }));
    expect(Item).toMatchObject({ requestId: winners[0] });
    expect(Item).not.toHaveProperty('expiresAt');
  });
});

describe('DynamoSingleUseTokens', () => {
  const tokens = () => new DynamoSingleUseTokens({ client: db.client, tableName: db.tableName });
  const expiry = new Date('2026-03-11T12:30:00.500Z');

  it('accepts a token once and refuses it ever after', async () => {
    const jti = randomUUID();

    expect(await tokens().consumeToken(jti, expiry)).toBe(true);
    expect(await tokens().consumeToken(jti, expiry)).toBe(false);
    expect(await tokens().consumeToken(jti, new Date('2030-01-01T00:00:00Z'))).toBe(false);
  });

  it('accepts exactly one of 20 simultaneous uses', async () => {
    const jti = randomUUID();

    const results = await Promise.all(Array.from({ length: 20 }, () => tokens().consumeToken(jti, expiry)));

    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('keeps different tokens apart and stamps the marker with the expiry, rounded up, as TTL', async () => {
    const [a, b] = [randomUUID(), randomUUID()];

    expect(await tokens().consumeToken(a, expiry)).toBe(true);
    expect(await tokens().consumeToken(b, expiry)).toBe(true);

    const raw = await db.client.send(new GetCommand({ TableName: db.tableName, Key: { pk: `TOKEN#${a}`, sk: 'USED' } }));
    expect(raw.Item?.expiresAt).toBe(Math.ceil(expiry.getTime() / 1000));
  });

  it('refuses an empty token id', async () => {
    await expect(tokens().consumeToken('', expiry)).rejects.toBeInstanceOf(TypeError);
  });
});

describe('DynamoRateLimiter', () => {
  const limiter = () => new DynamoRateLimiter({ client: db.client, tableName: db.tableName });
  // 12:00:10 inside the minute window 12:00:00–12:01:00.
  const at = (seconds: number) => new Date(Date.UTC(2026, 2, 11, 12, 0, 0) + seconds * 1000);

  it('allows up to the limit in a window, then refuses until the next window', async () => {
    const key = `ip:${randomUUID()}`;

    const results = [];
    for (const second of [10, 20, 30, 40, 50]) results.push(await limiter().hit(key, 60, 3, at(second)));

    expect(results).toEqual([
      { allowed: true, remaining: 2, retryAfterSeconds: 0 },
      { allowed: true, remaining: 1, retryAfterSeconds: 0 },
      { allowed: true, remaining: 0, retryAfterSeconds: 0 },
      { allowed: false, remaining: 0, retryAfterSeconds: 20 },
      { allowed: false, remaining: 0, retryAfterSeconds: 10 },
    ]);
    expect(await limiter().hit(key, 60, 3, at(60))).toEqual({ allowed: true, remaining: 2, retryAfterSeconds: 0 });
  });

  it('counts concurrent hits exactly', async () => {
    const key = `ip:${randomUUID()}`;

    const results = await Promise.all(Array.from({ length: 30 }, () => limiter().hit(key, 3600, 10, at(5))));

    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterSeconds === 3595)).toBe(true);
  });

  it('keeps keys and window sizes apart', async () => {
    const [a, b] = [`ip:${randomUUID()}`, `ip:${randomUUID()}`];
    await limiter().hit(a, 60, 1, at(1));

    expect((await limiter().hit(b, 60, 1, at(2))).allowed).toBe(true);
    expect((await limiter().hit(a, 3600, 1, at(3))).allowed).toBe(true);
    expect((await limiter().hit(a, 60, 1, at(4))).allowed).toBe(false);
  });

  it('stores no client key in plain and sets a TTL past the window', async () => {
    const key = `ip:198.51.100.${Math.floor(Math.random() * 250)}-${randomUUID()}`;
    await limiter().hit(key, 60, 5, at(10));

    const scan = await db.client.send(new ScanCommand({ TableName: db.tableName }));
    const counters = (scan.Items ?? []).filter((item) => String(item.pk).startsWith('RATE#'));
    expect(JSON.stringify(scan.Items)).not.toContain(key);
    expect(counters.length).toBeGreaterThan(0);
    for (const counter of counters) expect(counter.expiresAt).toBeTypeOf('number');
  });

  it.each([
    { windowSeconds: 0, limit: 1 },
    { windowSeconds: 1.5, limit: 1 },
    { windowSeconds: 60, limit: -1 },
  ])('refuses window $windowSeconds s with limit $limit', async ({ windowSeconds, limit }) => {
    await expect(limiter().hit('k', windowSeconds, limit, at(0))).rejects.toBeInstanceOf(RangeError);
  });
});
