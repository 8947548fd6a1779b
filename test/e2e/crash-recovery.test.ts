/**
 * Killing the runtime mid-flight (SIGKILL, no clean-up) and starting it again completes the open
 * requests: the start-up sweep redrives the executions that died, the tasks resume from the audit
 * trail, and Kore.ai — its own process here, as in life — receives no second DELETE.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDevIssuer } from '../../functions/adapters/http/staff/dev-issuer';
import { DEV_KORE_CLIENT_ID, DEV_KORE_CLIENT_SECRET, type SimCall } from '../../infra/local/kore-sim';
import { freePort, startChild, startSimulatorChild, type Child } from './process';
import { confirmLink, freshEmail, json, mailedRequestId, submitJson, verificationLink } from './support';

const dataDir = mkdtempSync(join(tmpdir(), 'erasure-desk-crash-'));
const children: Child[] = [];

afterAll(async () => {
  for (const c of children) await c.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

async function startRuntime(port: number, koreUrl: string): Promise<Child> {
  const child = await startChild(
    'infra/local/start.ts',
    { PORT: String(port), DATA_DIR: dataDir, KORE_BASE_URL: koreUrl, KORE_CLIENT_ID: DEV_KORE_CLIENT_ID, KORE_CLIENT_SECRET: DEV_KORE_CLIENT_SECRET, POLL_INITIAL_SECONDS: '1', POLL_MAX_SECONDS: '1', LOG_LEVEL: 'silent' },
    /Press Ctrl\+C to stop/,
  );
  children.push(child);
  return child;
}

describe('crash recovery', () => {
  it('finishes every open request after a SIGKILL and a restart, with one DELETE each', async () => {
    const { child: sim, url: koreUrl } = await startSimulatorChild(8000);
    children.push(sim);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const first = await startRuntime(port, koreUrl);

    const emails = Array.from({ length: 6 }, () => freshEmail('crash'));
    const ids = await Promise.all(
      emails.map(async (email) => {
        expect((await submitJson(base, { email })).status).toBe(202);
        const requestId = await mailedRequestId(base, email);
        await confirmLink(await verificationLink(base, requestId));
        return requestId;
      }),
    );
    const issuer = await createDevIssuer({ dir: join(dataDir, 'dev-issuer') });
    const token = await issuer.issueToken('auditor', 'crash-test');
    const statusOf = async (id: string) =>
      (await json<{ request: { status: string } }>(await fetch(`${base}/audit/requests/${id}`, { headers: { authorization: `Bearer ${token}` } }))).request.status;

    // Kill while every job is accepted and still running at Kore.ai (jobs take 8 s).
    const until = Date.now() + 20_000;
    while (Date.now() < until && !(await Promise.all(ids.map(statusOf))).every((s) => s === 'SUBMITTED' || s === 'IN_PROGRESS')) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await Promise.all(ids.map(statusOf))).toEqual(ids.map(() => expect.stringMatching(/^(SUBMITTED|IN_PROGRESS)$/)));
    await first.kill();

    await startRuntime(port, koreUrl);
    const deadline = Date.now() + 60_000;
    let statuses: string[] = [];
    while (Date.now() < deadline) {
      statuses = await Promise.all(ids.map(statusOf));
      if (statuses.every((s) => s === 'COMPLETED')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(statuses).toEqual(ids.map(() => 'COMPLETED'));

    const { calls } = await json<{ calls: SimCall[] }>(await fetch(`${koreUrl}/__sim/calls`));
    for (const email of emails) expect(calls.filter((c) => c.outcome === 'accepted' && c.userIds?.includes(email))).toHaveLength(1);
    for (const id of ids) {
      const detail = await json<{ chain: { ok: boolean } }>(await fetch(`${base}/audit/requests/${id}`, { headers: { authorization: `Bearer ${token}` } }));
      expect(detail.chain.ok).toBe(true);
    }
  });
});
