/**
 * 1. Intake cost: `POST /requests` (JSON) through the local runtime's HTTP server under
 *    autocannon, against the floor handler (same kind of server, same dynalite, JSON parse and
 *    one PutItem).
 * 2. Account-size independence: the same intake load, and the eligibility step (`GET /verify`,
 *    which looks the subject up in the privileged-identity snapshot), with the demo account
 *    (10 users) and a generated account of 50,000 users (quick: 5,000).
 *
 * Every address is unique, so the per-address limit never
 * refuses; for the per-client-IP limit see `intake-target.ts`.
 */
import autocannon from 'autocannon';
import { askChild, row, startChild, stopChild, type BenchContext, type Row } from './lib';

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

async function measureTarget(ctx: BenchContext, label: string, args: string[], seconds: number, connections: number) {
  const { child, ready } = await startChild<{ url: string; startMs?: number }>('intake-target.ts', args);
  try {
    await load(ready.url, 1, connections); // warm-up (JIT, dynalite, SDK connections)
    const result = await load(ready.url, seconds, connections);
    ctx.log(`  ${label}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, 2xx ${result.ok}, non-2xx ${result.non2xx}, errors ${result.errors}`);
    if (result.non2xx > 0 || result.errors > 0) ctx.log(`  WARNING ${label}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
    return { child, ready, result };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

export async function intakeBench(ctx: BenchContext): Promise<Row[]> {
  const seconds = ctx.quick ? 3 : 10;
  const connections = 10;
  const bigAccount = ctx.quick ? 5_000 : 50_000;
  const verifications = ctx.quick ? 30 : 200;

  const floor = await measureTarget(ctx, 'floor handler', ['floor'], seconds, connections);
  await stopChild(floor.child);

  const small = await measureTarget(ctx, 'runtime, demo account', ['runtime'], seconds, connections);
  const smallVerify = await askChild<{ p50: number; p99: number }>(small.child, { cmd: 'verify', n: verifications });
  await stopChild(small.child);

  const big = await measureTarget(ctx, `runtime, ${bigAccount}-user account`, ['runtime', String(bigAccount)], seconds, connections);
  const bigVerify = await askChild<{ p50: number; p99: number }>(big.child, { cmd: 'verify', n: verifications });
  await stopChild(big.child);
  ctx.log(`  runtime start: demo ${small.ready.startMs?.toFixed(0)} ms, ${bigAccount} users ${big.ready.startMs?.toFixed(0)} ms (includes the roles snapshot)`);
  ctx.log(`  GET /verify p50: demo ${smallVerify.p50.toFixed(1)} ms, ${bigAccount} users ${bigVerify.p50.toFixed(1)} ms`);

  const s = small.result;
  const f = floor.result;
  const b = big.result;
  const k = `${bigAccount / 1000}k`;
  return [
    row('intake POST /requests p50 latency vs floor', s.p50, f.p50, 'ms', '≤ 1.5'),
    row('intake POST /requests p99 latency vs floor', s.p99, f.p99, 'ms'),
    row('intake POST /requests throughput vs floor', s.rps, f.rps, 'req/s'),
    row(`intake p50 latency, ${k}-user vs 10-user account`, b.p50, s.p50, 'ms', '≤ 1.1'),
    row(`intake throughput, ${k}-user vs 10-user account`, b.rps, s.rps, 'req/s'),
    row(`eligibility GET /verify p50, ${k}-user vs 10-user account`, bigVerify.p50, smallVerify.p50, 'ms', '≤ 1.1'),
  ];
}
