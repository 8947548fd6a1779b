/**
 * `npm run kore:check` against the simulator: it reports what it finds, fails loudly on bad
 * credentials, reads unknown admin-role shapes, and never erases anything.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { checkTenant, formatReport } from '../../../functions/adapters/kore/tenant-check';
import { DEMO_ACCOUNT_OWNER, startKoreSimulator, type KoreSimulator, type KoreSimulatorOptions } from '../../../infra/local/kore-sim';

let sim: KoreSimulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

async function start(options: KoreSimulatorOptions = {}) {
  sim = await startKoreSimulator(options);
  return sim;
}

const credentialsOf = (s: KoreSimulator) => ({ baseUrl: s.url, clientId: s.config.clientId, clientSecret: s.config.clientSecret });

describe('npm run kore:check', () => {
  it('finds a well configured tenant ready, with the shapes it saw, using two GETs, one sessions search and no DELETE', async () => {
    const s = await start();

    const report = await checkTenant(credentialsOf(s));

    expect(report.ok).toBe(true);
    const text = formatReport(report);
    expect(text).toMatch(/Role Management scope\s+.*total 8/);
    expect(text).toMatch(/user fields: .*adminRoles.*btRoles/);
    expect(text).toMatch(/Bot Owner \(\d+\)/);
    expect(text).toMatch(/Delete Users Data scope\s+.*unknown job answered 404, body \{errors\}, message "Request not found"/);
    expect(text).toMatch(/Bot Sessions scope\s+.*answered 0 session\(s\) for an unknown user/);
    expect(s.calls().map((c) => `${c.method} ${c.route}`)).toEqual(['GET /api/public/alluserroles', 'GET /api/public/bot/eraseUsersData/status/:reqId', 'POST /api/public/getSessions']);
  });

  it('fails the Bot Sessions scope when the app lacks it, naming the scope to add', async () => {
    const s = await start({ faults: { sessionsScopeMissing: true } });

    const report = await checkTenant(credentialsOf(s));

    expect(report.ok).toBe(false);
    expect(report.lines.filter((l) => !l.ok).map((l) => l.check)).toEqual(['Bot Sessions scope']);
    expect(formatReport(report)).toMatch(/add the admin scope "Bot Analytics > Bot Sessions"/);
  });

  it('never prints a user\'s values, only field names, counts and role names', async () => {
    const s = await start();

    const text = formatReport(await checkTenant(credentialsOf(s)));

    expect(text).not.toContain(DEMO_ACCOUNT_OWNER.email);
    expect(text).not.toContain(DEMO_ACCOUNT_OWNER.userId);
    expect(text).not.toContain(s.config.clientSecret);
  });

  it('fails on credentials the tenant does not accept', async () => {
    const s = await start();

    const report = await checkTenant({ ...credentialsOf(s), clientSecret: 'not-the-secret-of-this-app-000000' });

    expect(report.ok).toBe(false);
    expect(report.lines.filter((l) => !l.ok).map((l) => l.detail)).toEqual([
      'user roles: refused the credentials or the scope (401)',
      'status of an unknown job: refused the credentials or the scope (401)',
      'sessions history: refused the credentials or the scope (401)',
    ]);
  });

  it('reports admin-role entries of unknown shape and how the desk counts them', async () => {
    const s = await start({ faults: { adminRoleShapes: 'varied' } });

    const text = formatReport(await checkTenant(credentialsOf(s)));

    expect(text).toMatch(/admin-role entries\s+1 readable \{roleId, roleName\} \(Account Owner\); \d+ of unknown shape .*string.*: the desk counts those users as account owners/);
  });

  it('runs from the environment and exits 1 when a check fails, printing the report without the secret', async () => {
    const s = await start();
    const secret = 'wrong-secret-for-the-cli-test-00000';

    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'functions/cli/kore-tenant-check.ts'], {
        cwd: process.cwd(),
        env: { ...process.env, KORE_BASE_URL: s.url, KORE_CLIENT_ID: s.config.clientId, KORE_CLIENT_SECRET: secret },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.on('close', (exit) => resolve({ code: exit, output: out }));
    });

    expect(code).toBe(1);
    expect(output).toContain('Kore.ai tenant check (read-only: nothing is erased)');
    expect(output).toContain('FAIL');
    expect(output).not.toContain(secret);
  });
});
