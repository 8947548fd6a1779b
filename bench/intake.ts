/**
 * 1. Intake cost: `POST /requests` (JSON) through the local runtime's HTTP server under
 *    autocannon, against the floor handler (same kind of server, same dynalite, JSON parse and
 *    one PutItem).
 * 2. Account-size independence: the same intake load, and the eligibility step (`POST /verify`,
 *    which looks the subject up in the privileged-identity snapshot), with the demo account
 *    (10 users) and a generated account of 50,000 users (quick: 5,000).
 *
 * Every address is unique and asks for all bots, so the mailbox budget is never involved;
 * for the per-client-IP limit see `intake-target.ts`.
 */
import autocannon from 'autocannon';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoAdapters } from '../functions/adapters/dynamo/adapters';
import { silentLogger, systemClock } from '../functions/domain/ports';
import { deriveKeys } from '../functions/domain/subject';
import { RECEIPT_JWS_TYPE } from '../functions/domain/checkpoints';
import { createLocalSigner } from '../functions/intake/receipts';
import { type IntakeDeps } from '../functions/intake/intake-deps';
import { submitRequest } from '../functions/intake/submit-request';
import { ensureAuditTable, startLocalDynamo } from '../infra/local/local-dynamo';
import { loadOrCreateLocalSecrets } from '../infra/local/local-secrets';
import { askChild, median, row, startChild, stopChild, type BenchContext, type Row } from './lib';

interface Load {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
}

let sequence = 0;

async function load(url: string, seconds: number, connections: number): Promise<Load> {
  const result = await autocannon({
    url: `${url}/requests`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    // A fresh address for every request (autocannon 8's `idReplacement` sends nothing here).
    requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, body: JSON.stringify({ email: `bench-${process.pid}-${++sequence}@example.com` }) }) }],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

interface Target {
  label: string;
  child: ChildProcess;
  url: string;
  startMs?: number;
  rounds: Load[];
}

/** The median of the rounds' p50/p99 and the mean throughput. */
function summary(t: Target): Load {
  const of = (k: keyof Load) => t.rounds.map((r) => r[k]);
  return {
    rps: of('rps').reduce((a, b) => a + b, 0) / t.rounds.length,
    p50: median(of('p50')),
    p99: median(of('p99')),
    ok: of('ok').reduce((a, b) => a + b, 0),
    non2xx: of('non2xx').reduce((a, b) => a + b, 0),
    errors: of('errors').reduce((a, b) => a + b, 0),
  };
}

/**
 * All three servers run at once (idle but for their own turn) and take the load in turns,
 * round after round, so drift of a shared machine hits them alike.
 */
export async function intakeBench(ctx: BenchContext): Promise<Row[]> {
  const rounds = ctx.quick ? 1 : 5;
  const seconds = ctx.quick ? 1 : 3;
  const connections = 10;
  const bigAccount = ctx.quick ? 1_000 : 50_000;
  const verifications = ctx.quick ? 5 : 200;
  const k = `${bigAccount / 1000}k`;

  const specs: [string, string[]][] = [
    ['floor handler', ['floor']],
    ['runtime, demo account', ['runtime']],
    [`runtime, ${k}-user account`, ['runtime', String(bigAccount)]],
  ];
  const started = await Promise.allSettled(specs.map(([, args]) => startChild<{ url: string; startMs?: number }>('intake-target.ts', args)));
  const targets: Target[] = [];
  try {
    for (const [i, s] of started.entries()) {
      if (s.status === 'rejected') throw s.reason;
      targets.push({ label: specs[i]![0], child: s.value.child, url: s.value.ready.url, startMs: s.value.ready.startMs, rounds: [] });
    }
    for (const t of targets) await load(t.url, ctx.quick ? 0.3 : 2, connections); // warm-up (JIT, dynalite, SDK connections)
    for (let r = 0; r < rounds; r++) for (const t of targets) t.rounds.push(await load(t.url, seconds, connections));
    const [floor, small, big] = targets.map(summary) as [Load, Load, Load];
    for (const [i, t] of targets.entries()) {
      const l = [floor, small, big][i]!;
      ctx.log(`  ${t.label}: ${l.rps.toFixed(0)} req/s, p50 ${l.p50} ms, p99 ${l.p99} ms, 2xx ${l.ok}, non-2xx ${l.non2xx}, errors ${l.errors}`);
      if (l.non2xx > 0 || l.errors > 0) ctx.log(`  WARNING ${t.label}: ${l.non2xx} non-2xx answers, ${l.errors} errors`);
    }
    const smallVerify = await askChild<{ p50: number; p99: number }>(targets[1]!.child, { cmd: 'verify', n: verifications });
    const bigVerify = await askChild<{ p50: number; p99: number }>(targets[2]!.child, { cmd: 'verify', n: verifications });
    ctx.log(`  runtime start: demo ${targets[1]!.startMs?.toFixed(0)} ms, ${bigAccount} users ${targets[2]!.startMs?.toFixed(0)} ms (includes the roles snapshot)`);
    ctx.log(`  POST /verify p50: demo ${smallVerify.p50.toFixed(1)} ms, ${bigAccount} users ${bigVerify.p50.toFixed(1)} ms`);
    return [
      row('intake POST /requests p50 latency vs floor', small.p50, floor.p50, 'ms', '≤ 1.5'),
      row('intake POST /requests p99 latency vs floor', small.p99, floor.p99, 'ms'),
      row('intake POST /requests throughput vs floor', small.rps, floor.rps, 'req/s'),
      row(`intake p50 latency, ${k}-user vs 10-user account`, big.p50, small.p50, 'ms', '≤ 1.1'),
      row(`intake throughput, ${k}-user vs 10-user account`, big.rps, small.rps, 'req/s'),
      row(`eligibility POST /verify p50, ${k}-user vs 10-user account`, bigVerify.p50, smallVerify.p50, 'ms', '≤ 1.1'),
    ];
  } finally {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? stopChild(s.value.child) : undefined)));
  }
}

/**
 * Where the intake's time goes: `submitRequest` called directly (no HTTP, mail to nowhere) over
 * dynalite, one at a time, with the time spent inside DynamoDB calls summed by a middleware;
 * against one PutItem of the same client (the floor's only work).
 */
export async function intakeBreakdown(ctx: BenchContext): Promise<Row[]> {
  const n = ctx.quick ? 50 : 300;
  const dir = mkdtempSync(join(tmpdir(), 'erasure-desk-bench-intake-'));
  const dynamo = await startLocalDynamo();
  try {
    await ensureAuditTable(dynamo.client, 'bench');
    const secrets = await loadOrCreateLocalSecrets(join(dir, 'secrets.json'));
    let calls = 0;
    let inDynamo = 0;
    dynamo.client.middlewareStack.add(
      (next) => async (args) => {
        const t0 = performance.now();
        try {
          return await next(args);
        } finally {
          calls++;
          inDynamo += performance.now() - t0;
        }
      },
      { step: 'initialize', name: 'benchTimer' },
    );
    const deps: IntakeDeps = {
      ...createDynamoAdapters({ client: dynamo.client, tableName: 'bench' }),
      mailer: { send: async () => ({ messageId: 'bench' }) },
      signer: createLocalSigner(secrets.receiptSigningKey, RECEIPT_JWS_TYPE),
      workflow: { startErasure: async () => ({ started: true, executionId: 'x' }), isRunning: async () => false, executionState: async () => 'NONE', redrive: async () => undefined } as never,
      clock: systemClock,
      subjectKeys: deriveKeys(secrets.subjectSecret),
      linkKey: new TextEncoder().encode(secrets.linkKey),
      publicBaseUrl: 'https://erase.example.com',
      logger: silentLogger,
    };
    const submit = (i: number) => submitRequest(deps, { email: `breakdown-${process.pid}-${i}@example.com` }, { ip: `10.1.${(i >> 8) & 255}.${i & 255}` });
    const put = (i: number) => dynamo.client.send(new PutCommand({ TableName: 'bench', Item: { pk: `FLOOR#${i}`, sk: 'META', email: `floor-${i}@example.com` } }));
    for (let i = 0; i < 20; i++) {
      await submit(-1 - i);
      await put(-1 - i);
    }
    const submitMs: number[] = [];
    const putMs: number[] = [];
    calls = 0;
    inDynamo = 0;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await submit(i);
      submitMs.push(performance.now() - t0);
    }
    const perSubmission = calls / n;
    const dynamoShare = inDynamo / submitMs.reduce((a, b) => a + b, 0);
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await put(i);
      putMs.push(performance.now() - t0);
    }
    ctx.log(`  submitRequest alone: p50 ${median(submitMs).toFixed(1)} ms, ${perSubmission.toFixed(1)} sequential DynamoDB calls, ${(dynamoShare * 100).toFixed(0)} % of the time inside them; one PutItem p50 ${median(putMs).toFixed(1)} ms`);
    return [
      row('intake use case alone (no HTTP, no mail) p50 vs one PutItem', median(submitMs), median(putMs), 'ms'),
      row('intake DynamoDB calls per submission vs floor', perSubmission, 1, 'calls'),
      row('intake share of time inside DynamoDB calls', dynamoShare * 100, null, '%'),
    ];
  } finally {
    await dynamo.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
