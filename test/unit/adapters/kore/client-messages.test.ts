/**
 * The Kore.ai client's errors end up in the workflow's audit trail and (by name) in Step Functions:
 * whatever the platform answers — its messages echo the user ids it was sent — no error message
 * the client makes may carry a user id, an email, the token or the Location of a redirect.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KoreClient } from '../../../../functions/adapters/kore/kore-client';

const USER = 'dana.subject@example.com';
const ENTERPRISE = 'emp-777123';

function clientAnswering(status: number, body: string, headers: Record<string, string> = {}): KoreClient {
  return new KoreClient({
    baseUrl: 'https://tenant.example',
    clientId: 'cs-1',
    clientSecret: 'secret-secret',
    fetch: async () => new Response(status === 204 || status === 304 ? null : body, { status, headers }),
  });
}

async function failureOf(call: () => Promise<unknown>): Promise<Error | undefined> {
  try {
    await call();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

const hostileBody = fc.oneof(
  fc.constantFrom(
    JSON.stringify({ errors: [{ msg: `${USER} is a co-developer of one or more bots`, code: 400 }] }),
    JSON.stringify({ requestId: 42, status: USER }),
    JSON.stringify({ _id: USER, response: [{ userId: USER, status: 7 }] }),
    JSON.stringify({ total: -1, users: [{ userId: USER, emailId: ENTERPRISE, btRoles: 'x' }] }),
    `<html>${USER} ${ENTERPRISE}</html>`,
    `{"userIds":["${USER}"`,
  ),
  fc.string().map((s) => `${s}${USER}${s}`),
  fc.jsonValue().map((v) => JSON.stringify({ [USER]: v, userIds: [USER, ENTERPRISE] })),
);

describe('Kore.ai client error messages', () => {
  it('never carry the user ids, whatever status and body the platform answers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 200, max: 599 }), hostileBody, fc.constantFrom('erase', 'status', 'roles'), async (status, body, op) => {
        const client = clientAnswering(status, body, { location: `https://elsewhere.example/${USER}`, 'retry-after': USER });
        const error = await failureOf(() => (op === 'erase' ? client.eraseUsersData([USER, ENTERPRISE], []) : op === 'status' ? client.getEraseStatus('eud-1') : client.getUserRoles(0, 50)));
        if (!error) return;
        const text = `${error.name} ${error.message} ${error.stack ?? ''}`;
        expect(text).not.toContain(USER);
        expect(text).not.toContain(ENTERPRISE);
        expect(text).not.toContain('elsewhere.example');
      }),
      { numRuns: 300 },
    );
  });

  it('never carry them when the connection fails with a message that repeats them', async () => {
    const client = new KoreClient({
      baseUrl: 'https://tenant.example',
      clientId: 'cs-1',
      clientSecret: 'secret-secret',
      fetch: async () => {
        throw Object.assign(new TypeError(`fetch failed for ${USER}`), { cause: Object.assign(new Error(`ECONNRESET ${USER}`), { code: 'ECONNRESET' }) });
      },
    });
    const error = await failureOf(() => client.eraseUsersData([USER], []));
    // A reset after the DELETE went out: the platform may have taken the job.
    expect(error?.name).toBe('KoreOutcomeUnknownError');
    expect(error?.message).not.toContain(USER);
    expect(error?.stack).not.toContain(USER);
  });
});
