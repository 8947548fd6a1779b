/**
 * How the Kore.ai client reads answers the documentation leaves open: rate-limit refusals in any
 * status, refusals and other 4xx in several shapes, answers lost before or after the request went
 * out, and admin-role entries of unknown shape.
 */
import { describe, expect, it } from 'vitest';
import { KoreClient, platformMessageOf, sanitisePlatformMessage } from '../../../../functions/adapters/kore/kore-client';
import { KoreOutcomeUnknownError, KorePermanentError, KoreRefusedError, KoreRetryableError } from '../../../../functions/domain/kore';
import { identitiesFromUser } from '../../../../functions/domain/privileged-identities';

const USER = 'jane.doe@example.com';

function clientWith(fetch: typeof globalThis.fetch): KoreClient {
  return new KoreClient({ baseUrl: 'https://tenant.example', clientId: 'cs-1', clientSecret: 'secret-secret', fetch });
}
const answering = (status: number, body: string, headers: Record<string, string> = {}) => clientWith(async () => new Response(body, { status, headers }));
const failure = (run: () => Promise<unknown>) => run().then(() => new Error('resolved'), (e: unknown) => e as Error);
const erase = (client: KoreClient) => client.eraseUsersData([USER], []);

describe('recognising the rate limit', () => {
  it.each([
    [429, '{"errors":[{"msg":"Too many requests"}]}'],
    [400, '{"errors":[{"msg":"Rate limit for this API has been reached. Please try again later","code":400}]}'],
    [403, '{"message":"Rate limit for this API has been reached"}'],
    [200, 'Rate limit for this API has been reached. Please try again later'],
  ])('answered %i with %s is a retryable rate-limit refusal', async (status, body) => {
    const error = await failure(() => answering(status, body).getUserRoles(0, 50));

    expect(error).toBeInstanceOf(KoreRetryableError);
    expect((error as KoreRetryableError).rateLimited).toBe(true);
    expect((error as KoreRetryableError).httpStatus).toBe(status);
  });

  it('takes Retry-After when the platform sends one, and none when it does not', async () => {
    const withHeader = await failure(() => answering(429, '', { 'retry-after': '12' }).getUserRoles(0, 50));
    const without = await failure(() => answering(429, '').getUserRoles(0, 50));

    expect((withHeader as KoreRetryableError).retryAfterMs).toBe(12_000);
    expect((without as KoreRetryableError).retryAfterMs).toBeUndefined();
  });
});

describe('refusals and other 4xx of the DELETE', () => {
  it.each([
    ['errors[].msg', '{"errors":[{"msg":"Delete user data is not allowed: the user is an account owner","code":"UserDeletionNotAllowed"}]}'],
    ['message', '{"message":"Delete user data is not allowed: the user belongs to one or more accounts"}'],
    ['error.message', '{"error":{"code":"UserDeletionNotAllowed","message":"the user is a co-developer of one or more bots"}}'],
    ['plain text', 'Delete user data is not allowed: the user is the bot owner of one or more bots'],
  ])('recognises a refusal under the owner rules shaped as %s', async (_shape, body) => {
    expect(await failure(() => erase(answering(400, body)))).toBeInstanceOf(KoreRefusedError);
  });

  it('keeps an unrecognised 4xx a KorePermanentError carrying the platform\'s message without ids or emails', async () => {
    const body = JSON.stringify({ errors: [{ msg: `Invalid userIds: "${USER}" and u-0b7e3c1a-2f4d-4e6a-9b8c-1d2e3f4a5b06 are not known (ref 123456789)` }] });

    const error = await failure(() => erase(answering(422, body)));

    expect(error).toBeInstanceOf(KorePermanentError);
    expect(error).not.toBeInstanceOf(KoreRefusedError);
    const message = (error as KorePermanentError).platformMessage!;
    expect(message).toMatch(/^Invalid userIds: /);
    expect(message).not.toContain(USER);
    expect(message).not.toContain('0b7e3c1a');
    expect(message).not.toContain('123456789');
  });

  it('never reads a refusal into a body whose message says nothing of the rules, even if an id in it contains "owner"', async () => {
    const error = await failure(() => erase(answering(400, '{"errors":[{"msg":"Invalid botId"}],"botIds":["st-owner-1"]}')));

    expect(error).toBeInstanceOf(KorePermanentError);
    expect(error).not.toBeInstanceOf(KoreRefusedError);
  });
});

describe('answers lost on the way', () => {
  const throwing = (code: string) =>
    clientWith(async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });
    });

  it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'])('retries a DELETE that never left (%s)', async (code) => {
    expect(await failure(() => erase(throwing(code)))).toBeInstanceOf(KoreRetryableError);
  });

  it.each(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE'])('counts a DELETE whose connection failed with %s as outcome unknown', async (code) => {
    expect(await failure(() => erase(throwing(code)))).toBeInstanceOf(KoreOutcomeUnknownError);
  });

  it('counts a DELETE that timed out as outcome unknown, but a status check that timed out as retryable', async () => {
    const timingOut = clientWith(async () => {
      throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    });

    expect(await failure(() => erase(timingOut))).toBeInstanceOf(KoreOutcomeUnknownError);
    expect(await failure(() => timingOut.getEraseStatus('eud-1'))).toBeInstanceOf(KoreRetryableError);
  });

  it('counts a DELETE whose answer arrived but whose body was cut short as outcome unknown', async () => {
    const cut = clientWith(async () => {
      const body = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"requestId":"eud-'));
          controller.error(Object.assign(new Error('terminated'), { code: 'ECONNRESET' }));
        },
      });
      return new Response(body, { status: 200 });
    });

    expect(await failure(() => erase(cut))).toBeInstanceOf(KoreOutcomeUnknownError);
  });

  it('retries a DELETE answered 5xx with a body: the platform answered, so it did not take the job', async () => {
    expect(await failure(() => erase(answering(503, '{"errors":[{"msg":"Service unavailable"}]}')))).toBeInstanceOf(KoreRetryableError);
  });
});

describe('admin-role entries of unknown shape', () => {
  const page = (adminRoles: unknown[]) =>
    JSON.stringify({ total: 1, availableMore: false, users: [{ userId: 'u-1', username: 'member@example.com', btRoles: [], adminRoles }] });

  it('reads the page instead of failing, flagging what it cannot read', async () => {
    const roles = await answering(200, page([{ roleId: 'r1', roleName: 'Bot Admin', extra: true }, 'Master Admin', { role: { name: 'Billing Admin' } }, null])).getUserRoles(0, 50);

    expect(roles.users[0]!.adminRoles).toEqual([
      { roleId: 'r1', roleName: 'Bot Admin' },
      { roleName: '', unrecognised: true },
      { roleName: '', unrecognised: true },
      { roleName: '', unrecognised: true },
    ]);
  });

  it('counts a user with an unreadable admin role as an account owner (fail safe)', async () => {
    const roles = await answering(200, page([{ name: 'Something new' }])).getUserRoles(0, 50);

    const [identity] = identitiesFromUser(roles.users[0]!, (id) => id);

    expect(identity?.accountOwner).toBe(true);
  });

  it('does not count a readable admin role that is not ownership as an account owner', async () => {
    const roles = await answering(200, page([{ roleId: 'r1', roleName: 'Bot Admin' }])).getUserRoles(0, 50);

    expect(identitiesFromUser(roles.users[0]!, (id) => id)[0]?.accountOwner).toBe(false);
  });
});

describe('the platform message helpers', () => {
  it('finds the message wherever the answer puts it', () => {
    expect(platformMessageOf('{"errors":[{"msg":"a"},{"message":"b"}]}')).toBe('a; b');
    expect(platformMessageOf('{"error":"c"}')).toBe('c');
    expect(platformMessageOf('{"error":{"message":"d"}}')).toBe('d');
    expect(platformMessageOf('plain words')).toBe('plain words');
    expect(platformMessageOf('<html>bad gateway</html>')).toBeUndefined();
    expect(platformMessageOf('{"total":1}')).toBeUndefined();
  });

  it('keeps the words and drops emails, ids, quoted values and long numbers', () => {
    expect(sanitisePlatformMessage('user "x y" with jane@example.com, st-9a8b7c6d and 5f2b1c3d4e5f6a7b8c9d0e1f is a co-developer (4815162342)')).toBe(
      'user <value> with <email>, <id> and <id> is a co-developer (<n>)',
    );
  });
});
