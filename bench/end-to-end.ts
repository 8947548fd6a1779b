/**
 * 6. End to end: 1,000 requests (quick: 100) from submission to COMPLETED on the local runtime
 *    (real HTTP, outbox, dynalite, the synthesized state machine, the simulator) with waits
 *    compressed (polls every 1 s, simulated jobs of 200 ms): requests per second, against the
 *    simulator's own bare throughput for the same erasures — the same Kore.ai client sending the
 *    DELETE and polling the status on the same 1 s schedule, with nothing of the desk around it.
 *
 * In both, 20 workers start requests (submit + verify, or the DELETE) and the polling runs on
 * its own (the state machine, or a loop per job), so only the desk's own work differs.
 * Every subject address is fresh, and each request is seen from its own client address (see
 * `intake-target.ts` for why the per-IP limit needs that).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Server, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KoreClient } from '../functions/adapters/kore/kore-client';
import { DEV_KORE_CLIENT_ID, DEV_KORE_CLIENT_SECRET, startKoreSimulator } from '../infra/local/kore-sim';
import { compressedRuntimeOptions, startLocalRuntime } from '../infra/local/runtime';
import { captureVerificationLinks, confirm } from './lib';
import { row, sleep, type BenchContext, type Row } from './lib';

const WORKERS = 20;
const JOB_MS = 200;
const POLL_S = 1;

function distinctClientsOn(port: number): () => void {
  let n = 0;
  const emit = Server.prototype.emit;
  Server.prototype.emit = function (this: Server, event: string, ...args: unknown[]) {
    if (event === 'request' && (this.address() as AddressInfo | null)?.port === port) {
      n++;
      Object.defineProperty((args[0] as IncomingMessage).socket, 'remoteAddress', { value: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, configurable: true });
    }
    return emit.apply(this, [event, ...args] as Parameters<typeof emit>);
  } as typeof Server.prototype.emit;
  return () => {
    Server.prototype.emit = emit;
  };
}

async function desk(n: number): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'erasure-desk-bench-e2e-'));
  const runtime = await startLocalRuntime(
    compressedRuntimeOptions(dataDir, { env: { POLL_INITIAL_SECONDS: String(POLL_S), POLL_MAX_SECONDS: String(POLL_S) }, simulator: { jobDurationMs: JOB_MS } }),
  );
  const restore = distinctClientsOn(runtime.port);
  // The outbox receives the mail before the submission answers: its link is here by then.
  const links = captureVerificationLinks(runtime.mailer);
  try {
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < n) {
        const i = next++;
        const res = await fetch(`${runtime.url}/requests`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ email: `e2e-${process.pid}-${i}@example.com` }),
        });
        if (res.status !== 202) throw new Error(`submission answered ${res.status}`);
        await res.arrayBuffer();
        const link = links.get(`e2e-${process.pid}-${i}@example.com`);
        if (!link) throw new Error('no verification mail for the request');
        const verified = await confirm(link);
        await verified.arrayBuffer();
        if (verified.status !== 303) throw new Error(`verification answered ${verified.status}`);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    for (;;) {
      const executions = runtime.workflow.list();
      const done = executions.filter((e) => e.state !== 'RUNNING');
      if (done.length >= n) {
        const failed = done.filter((e) => e.state !== 'SUCCEEDED').length;
        if (failed > 0) throw new Error(`${failed} executions did not succeed`);
        break;
      }
      await sleep(100);
    }
    return n / ((performance.now() - t0) / 1000);
  } finally {
    restore();
    await runtime.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function bareSimulator(n: number): Promise<number> {
  // The simulator's raw speed: no account limits (the desk side runs under them, compressed).
  const sim = await startKoreSimulator({ jobDurationMs: JOB_MS, firstJobNumber: Date.now(), rateLimits: false });
  const kore = new KoreClient({ baseUrl: sim.url, clientId: DEV_KORE_CLIENT_ID, clientSecret: DEV_KORE_CLIENT_SECRET, timeoutMs: 5000 });
  try {
    const t0 = performance.now();
    const polling: Promise<void>[] = [];
    let next = 0;
    const worker = async () => {
      while (next < n) {
        const i = next++;
        const accepted = await kore.eraseUsersData([`bare-${process.pid}-${i}@example.com`], []);
        polling.push(
          (async () => {
            for (;;) {
              await sleep(POLL_S * 1000);
              const status = await kore.getEraseStatus(accepted.koreRequestId);
              if (status.users.length > 0 && status.users.every((u) => u.status !== 'in-progress')) return;
            }
          })(),
        );
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    await Promise.all(polling);
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await sim.stop();
  }
}

export async function endToEndBench(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.quick ? 10 : 1000;
  const bare = await bareSimulator(n);
  const full = await desk(n);
  ctx.log(`  ${n} requests: desk ${full.toFixed(1)} req/s submission→COMPLETED, simulator bare ${bare.toFixed(1)} erasures/s`);
  return [row(`end to end: ${n} requests submission→COMPLETED vs simulator bare`, full, bare, 'req/s')];
}
