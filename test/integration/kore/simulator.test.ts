import { spawn } from 'node:child_process';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { KoreAuthError, KoreRetryableError } from '../../../functions/domain/kore';
import { DEMO_BOTS, DEMO_END_USERS, DEV_KORE_CLIENT_ID, DEV_KORE_CLIENT_SECRET, startKoreSimulator } from '../../../infra/local/kore-sim';
import { caught, pollUntilSettled, startPair, type Pair } from './fixtures';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.sim.stop();
  pair = undefined;
});

const key = new TextEncoder().encode(DEV_KORE_CLIENT_SECRET);
const nowS = () => Math.floor(Date.now() / 1000);

async function rolesWithToken(url: string, token: string | undefined) {
  const response = await fetch(`${url}/api/public/alluserroles?limit=1`, { headers: token === undefined ? {} : { auth: token } });
  return { status: response.status, body: (await response.json()) as { errors?: { msg: string }[] } };
}

describe('the Kore.ai simulator', () => {
  it.each([
    ['no auth header', async () => undefined],
    ['a token with a jti expiring more than an hour ahead', () => new SignJWT({ appId: DEV_KORE_CLIENT_ID, sub: 'erasure-desk' }).setProtectedHeader({ alg: 'HS256' }).setJti('j-1').setIssuedAt(nowS()).setExpirationTime(nowS() + 3660).sign(key)],
    ['a token without sub', () => new SignJWT({ appId: DEV_KORE_CLIENT_ID }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(nowS()).setExpirationTime(nowS() + 60).sign(key)],
    ['a token without exp', () => new SignJWT({ appId: DEV_KORE_CLIENT_ID, sub: 'erasure-desk' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(nowS()).sign(key)],
    ['a token signed HS512 with the right secret', () => new SignJWT({ appId: DEV_KORE_CLIENT_ID, sub: 'erasure-desk' }).setProtectedHeader({ alg: 'HS512' }).setIssuedAt(nowS()).setExpirationTime(nowS() + 60).sign(key)],
    ['an unsigned token', async () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ appId: DEV_KORE_CLIENT_ID, sub: 'erasure-desk', iat: nowS(), exp: nowS() + 60 })).toString('base64url')}.`],
  ])('answers 401 with an errors array for %s', async (_what, token) => {
    pair = await startPair();

    const { status, body } = await rolesWithToken(pair.sim.url, await token());

    expect(status).toBe(401);
    expect(body.errors?.[0]?.msg).toBeTypeOf('string');
    expect(pair.sim.calls()).toMatchObject([{ outcome: 'unauthorized', httpStatus: 401 }]);
  });

  it('accepts a hand-made token signed as the documentation says', async () => {
    pair = await startPair();
    const token = await new SignJWT({ appId: DEV_KORE_CLIENT_ID, sub: 'erasure-desk' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt(nowS()).setExpirationTime(nowS() + 3600).sign(key);

    const { status } = await rolesWithToken(pair.sim.url, token);

    expect(status).toBe(200);
  });

  it('keeps a never-finishing user in progress forever, and answers the other users of its job on their own', async () => {
    pair = await startPair({ jobDurationMs: 0, neverFinishUsers: [DEMO_END_USERS.bob] });
    const { client } = pair;

    const stuck = await client.eraseUsersData([DEMO_END_USERS.alice, DEMO_END_USERS.bob], []);
    const fine = await client.eraseUsersData([DEMO_END_USERS.alice], []);
    await pollUntilSettled(client, fine.koreRequestId);
    const status = await client.getEraseStatus(stuck.koreRequestId);

    expect(status.users.map((u) => u.status)).toEqual(['SUCCESS', 'in-progress']);
  });

  it('fails a seeded share of users with failRate, the same way for the same seed', async () => {
    const run = async () => {
      const p = await startPair({ jobDurationMs: 0, failRate: 0.5, seed: 9 });
      try {
        const ids = Array.from({ length: 40 }, (_, i) => `end-user-${i}@example.com`);
        const { koreRequestId } = await p.client.eraseUsersData(ids, [DEMO_BOTS.support.botId]);
        return (await pollUntilSettled(p.client, koreRequestId)).users.map((u) => u.status);
      } finally {
        await p.sim.stop();
      }
    };

    const first = await run();

    expect(await run()).toEqual(first);
    expect(first).toContain('FAILED');
    expect(first).toContain('SUCCESS');
  });

  it.each([
    ['a body that is not JSON', 'userIds=a'],
    ['no userIds', JSON.stringify({ botIds: [DEMO_BOTS.hr.botId] })],
    ['empty userIds', JSON.stringify({ userIds: [], RemoveDataFromAllBots: true })],
    ['no botIds without RemoveDataFromAllBots', JSON.stringify({ userIds: [DEMO_END_USERS.alice] })],
  ])('answers 400 to an erase with %s, creating no job', async (_what, body) => {
    pair = await startPair();
    const token = await new SignJWT({ appId: DEV_KORE_CLIENT_ID, sub: 'erasure-desk' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(nowS()).setExpirationTime(nowS() + 60).sign(key);

    const response = await fetch(`${pair.sim.url}/api/public/bot/eraseUsersData`, { method: 'DELETE', headers: { auth: token, 'content-type': 'application/json' }, body });

    expect(response.status).toBe(400);
    expect(((await response.json()) as { errors: unknown[] }).errors).toHaveLength(1);
    expect(pair.sim.calls()).toMatchObject([{ outcome: 'invalid' }]);
  });

  it('answers 404 to unknown routes, 405 to a wrong method, and 400 to a bad limit', async () => {
    pair = await startPair();
    const token = await new SignJWT({ appId: DEV_KORE_CLIENT_ID, sub: 'erasure-desk' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(nowS()).setExpirationTime(nowS() + 60).sign(key);
    const get = (path: string, method = 'GET') => fetch(pair!.sim.url + path, { method, headers: { auth: token } }).then((r) => r.status);

    expect(await get('/api/public/nothing')).toBe(404);
    expect(await get('/api/public/bot/eraseUsersData', 'GET')).toBe(405);
    expect(await get('/api/public/alluserroles?limit=abc')).toBe(400);
    expect(await get('/api/public/alluserroles?limit=0')).toBe(400);
    expect(await get('/api/public/alluserroles?offset=5000')).toBe(200);
  });

  it('clears calls and jobs on POST /__sim/reset and reports itself healthy', async () => {
    pair = await startPair();
    const { client, sim } = pair;
    const { koreRequestId } = await client.eraseUsersData([DEMO_END_USERS.alice], []);

    const reset = await fetch(`${sim.url}/__sim/reset`, { method: 'POST' });
    const health = (await (await fetch(`${sim.url}/__sim/health`)).json()) as { status: string; jobs: number; calls: number; users: number };
    const gone = await caught(() => client.getEraseStatus(koreRequestId));

    expect(reset.status).toBe(204);
    expect(health).toEqual({ status: 'ok', jobs: 0, calls: 0, users: 8 });
    expect(gone.name).toBe('KorePermanentError');
    expect(sim.calls()).toHaveLength(1);
  });

  it('rejects fault rates that add up to more than one at start-up and at runtime', async () => {
    await expect(startKoreSimulator({ faults: { rate429: 0.6, rateDrop: 0.6 } })).rejects.toThrow(/fault/);
    pair = await startPair();
    expect(() => pair!.sim.setFaults({ rate500: 2 })).toThrow(/fault/);
    expect(pair.sim.setFaults({ rate500: 0.25 })).toMatchObject({ rate500: 0.25, rate429: 0 });
  });

  it('uses its own credentials: a client of another app gets KoreAuthError, a correct one succeeds', async () => {
    pair = await startPair({ clientId: 'cs-custom', clientSecret: 'a-custom-secret-for-this-test' });

    const wrong = await caught(() => pair!.clientWith({ clientId: DEV_KORE_CLIENT_ID, clientSecret: DEV_KORE_CLIENT_SECRET }).getUserRoles(0, 1));
    const page = await pair.client.getUserRoles(0, 1);

    expect(wrong).toBeInstanceOf(KoreAuthError);
    expect(page.total).toBe(8);
  });

  it('stops promptly even with a slow call pending, and the pending client sees a retryable failure', async () => {
    pair = await startPair({ faults: { rateSlow: 1, slowMs: 60_000 } });
    const pending = caught(() => pair!.client.getUserRoles(0, 1));
    await new Promise((resolve) => setTimeout(resolve, 50));

    await pair.sim.stop();

    expect(await pending).toBeInstanceOf(KoreRetryableError);
    expect(pair.sim.calls()).toMatchObject([{ outcome: 'aborted' }]);
  });
});

describe('npm run kore:sim', () => {
  it('starts from the environment and prints its URL and client id, never the secret', async () => {
    const secret = 'cli-test-secret-value-0123456789';
    const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/kore-sim-cli.ts'], {
      cwd: process.cwd(),
      env: { ...process.env, KORE_SIM_PORT: '0', KORE_CLIENT_ID: 'cs-cli-test', KORE_CLIENT_SECRET: secret, KORE_SIM_USERS: '120', KORE_SIM_JOB_MS: '10' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed: ${output}`)), 15_000);
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const match = /http:\/\/127\.0\.0\.1:\d+/.exec(output);
          if (match && output.includes('client id')) {
            clearTimeout(timer);
            resolve(match[0]);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
      });
      const health = (await (await fetch(`${url}/__sim/health`)).json()) as { users: number };

      expect(output).toContain('cs-cli-test');
      expect(output).not.toContain(secret);
      expect(health.users).toBe(120);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
