/**
 * Part 2, crash recovery under load: 200 subjects submit and confirm while the runtime process
 * (`npm start`, its own process group) is SIGKILLed at random moments, five times, and started
 * again on the same data directory. Kore.ai (the simulator) is its own process and outlives every
 * crash, so its call list is the ground truth. After each restart the start-up sweep and the
 * workflow finish every open request; no attempt's DELETE is accepted twice; every chain
 * verifies. A kill between the DELETE and recording its answer legitimately ends that attempt
 * FAILED (SubmissionOutcomeUnknownError, nothing is resent): ops retry it and it completes.
 * The runtime's whole stdout is kept for part 6 (no personal data in logs).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDevIssuer } from '../../functions/staff/dev-issuer';
import { DEV_KORE_CLIENT_ID, DEV_KORE_CLIENT_SECRET, type SimCall } from '../../infra/local/kore-sim';
import { freePort, startChild, type Child } from '../e2e/process';
import {
  acceptedByUser,
  accountDeletes,
  auditDetail,
  clientAddress,
  freshEmail,
  opsRetry,
  pool,
  printFigures,
  raw,
  readOutbox,
  retrying,
  sleep,
  tally,
  TERMINAL,
  verificationLinks,
  type AuditDetail,
} from './harness';
import { personalDataIn } from './personal-data';

const REQUESTS = 200;
const KILLS = 5;
const dataDir = mkdtempSync(join(tmpdir(), 'erasure-desk-crash-soak-'));
const children: Child[] = [];
const outputs: string[] = [];

afterAll(async () => {
  for (const c of children) await c.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A deterministic random source, so a failing run can be replayed from the printed seed. */
function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('crash recovery under load', () => {
  it('finishes every request after five SIGKILLs at random moments, one accepted DELETE per attempt, no broken chain', async () => {
    const seed = Number(process.env.REL_CRASH_SEED ?? Date.now() % 100_000);
    const random = seeded(seed);
    const simPort = await freePort();
    const sim = await startChild('infra/local/kore-sim-cli.ts', { KORE_SIM_PORT: String(simPort), KORE_SIM_JOB_MS: '1500' }, /127\.0\.0\.1:\d+/);
    children.push(sim);
    const koreUrl = `http://127.0.0.1:${simPort}`;
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      PORT: String(port),
      DATA_DIR: dataDir,
      KORE_BASE_URL: koreUrl,
      KORE_CLIENT_ID: DEV_KORE_CLIENT_ID,
      KORE_CLIENT_SECRET: DEV_KORE_CLIENT_SECRET,
      POLL_INITIAL_SECONDS: '1',
      POLL_MAX_SECONDS: '1',
    };
    let runtime: Child | undefined;
    const start = async () => {
      runtime = await startChild('infra/local/start.ts', env, /Press Ctrl\+C to stop/);
      children.push(runtime);
    };
    await start();
    const issuer = await createDevIssuer({ dir: join(dataDir, 'dev-issuer') });
    const auditor = await issuer.issueToken('auditor', 'crash-soak');
    const ops = await issuer.issueToken('ops', 'crash-soak');

    const emails = Array.from({ length: REQUESTS }, () => freshEmail('crash'));
    const ids: string[] = new Array(REQUESTS);
    const anomalies: string[] = [];
    const killTimes: number[] = [];
    const t0 = Date.now();

    // The subjects: submit and confirm, patiently retrying across crashes (connection refused or
    // reset while the runtime is down), as a person reloading the page would.
    const subjects = pool(emails, 12, async (email, i) => {
      const submitted = await retrying(async () => {
        const r = await raw(`${base}/requests`, { method: 'POST', from: clientAddress(i), headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ email }) });
        if (r.status !== 202) throw new Error(`submit ${r.status}`);
        return JSON.parse(r.text) as { requestId: string; status: string };
      }, 120_000);
      ids[i] = submitted.requestId;
      const link = await retrying(async () => {
        const found = verificationLinks(await readOutbox(base)).get(submitted.requestId);
        if (!found) throw new Error('no link yet');
        return found;
      }, 30_000, 500).catch(() => undefined);
      if (!link) return anomalies.push(`no verification mail (${submitted.status})`);
      const verified = await retrying(async () => (await raw(link, { from: clientAddress(i) })).status, 120_000);
      if (verified !== 303 && verified !== 410) anomalies.push(`verify answered ${verified}`);
    });

    // The crasher: five SIGKILLs at random moments while the subjects and the workflow are busy.
    const crasher = (async () => {
      for (let k = 0; k < KILLS; k++) {
        await sleep(700 + random() * 3_000);
        killTimes.push(Math.round((Date.now() - t0) / 100) / 10);
        await runtime!.kill();
        outputs.push(runtime!.output());
        await start();
      }
    })();
    await Promise.all([subjects, crasher]);

    // Every request reaches an end on its own (the sweep at each start-up redrives what died).
    const statuses = async () => pool(ids, 12, (id) => retrying(() => auditDetail(base, auditor, id), 30_000));
    let details: AuditDetail[] = [];
    const until = Date.now() + 120_000;
    while (Date.now() < until) {
      details = await statuses();
      if (details.every((d) => TERMINAL.includes(d.request.status))) break;
      await sleep(500);
    }
    const afterCrashes = tally(details.map((d) => d.request.status));
    const unknownOutcome = details.filter((d) => d.request.status === 'FAILED' && d.request.failureReason === 'SubmissionOutcomeUnknownError').map((d) => d.request.requestId);
    const otherFailures = details.filter((d) => d.request.status !== 'COMPLETED' && !unknownOutcome.includes(d.request.requestId)).map((d) => `${d.request.status}:${d.request.failureReason ?? ''}`);

    // The attempts whose DELETE outcome is unknown: a new attempt each, through ops.
    if (unknownOutcome.length) await opsRetry(base, ops, unknownOutcome, 'crash soak: outcome of the DELETE unknown after a kill');
    const until2 = Date.now() + 60_000;
    while (Date.now() < until2) {
      details = await statuses();
      if (details.every((d) => TERMINAL.includes(d.request.status))) break;
      await sleep(500);
    }

    const calls = (JSON.parse((await raw(`${koreUrl}/__sim/calls`)).text) as { calls: SimCall[] }).calls;
    const accepted = acceptedByUser(calls);
    let duplicates = 0;
    let phantom = 0;
    let unrecorded = 0;
    for (const [i, d] of details.entries()) {
      const a = accountDeletes(d, accepted.get(emails[i]!.toLowerCase()) ?? []);
      duplicates += a.duplicates;
      phantom += a.phantomJobs;
      unrecorded += a.unrecordedJobs;
    }
    outputs.push(runtime!.output());
    const log = outputs.join('\n');
    const mails = await readOutbox(base);
    const leaks = personalDataIn(log, { emails, tokens: [auditor, ops, ...verificationLinks(mails).values()] });

    const figures = {
      requests: REQUESTS,
      seed,
      kills: killTimes.length,
      killedAtSeconds: killTimes,
      restarts: children.length - 2,
      terminalAfterCrashes: afterCrashes,
      outcomeUnknownRetried: unknownOutcome.length,
      otherNonCompleted: tally(otherFailures),
      finalTerminal: tally(details.map((d) => d.request.status)),
      koreCalls: tally(calls.map((c) => c.outcome)),
      acceptedDeletes: calls.filter((c) => c.outcome === 'accepted').length,
      duplicateDeletesPerAttempt: duplicates,
      unrecordedAcceptedDeletes: unrecorded,
      chainsVerified: details.filter((d) => d.chain.ok).length,
      subjectAnomalies: tally(anomalies),
      logBytes: log.length,
      personalDataInLogs: leaks.length,
      seconds: Math.round((Date.now() - t0) / 1000),
    };
    printFigures('crash recovery', figures);

    expect(killTimes).toHaveLength(KILLS);
    expect(anomalies).toEqual([]);
    expect(otherFailures).toEqual([]);
    expect(figures.finalTerminal).toEqual({ COMPLETED: REQUESTS });
    expect(duplicates).toBe(0);
    expect(phantom).toBe(0);
    // Only a kill between a DELETE and its answer leaves a job unrecorded, one per such attempt.
    expect(unrecorded).toBeLessThanOrEqual(unknownOutcome.length);
    expect(figures.chainsVerified).toBe(REQUESTS);
    expect(leaks).toEqual([]);
  });
});
