import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../functions/cli/ops';
import { createWithHistory, TO_FAILED } from '../../support/staff-fakes';
import { apiEvent, createHarness, type Harness } from '../../support/staff-harness';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A loopback server in front of the API handlers, as the local runtime does. */
async function serve(h: Harness): Promise<string> {
  server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const event = apiEvent({ method: req.method, path: url.pathname, query: url.search.slice(1), headers: req.headers as Record<string, string>, body: body || undefined });
    if (url.pathname === '/audit/export') {
      const streamed = await h.auditApi.streamExport(event);
      res.writeHead(streamed.statusCode, streamed.headers);
      for await (const chunk of streamed.body) res.write(chunk);
      res.end();
      return;
    }
    const handler = url.pathname.startsWith('/ops') ? h.opsApi : h.auditApi;
    const result = await handler(event);
    res.writeHead(result.statusCode ?? 200, result.headers as Record<string, string>);
    res.end(result.body ?? '');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

async function run(h: Harness, argv: string[], token?: string) {
  const url = await serve(h);
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    env: { ERASURE_DESK_URL: url, ...(token ? { ERASURE_DESK_TOKEN: token } : {}) },
    out: (t) => (out += t),
    err: (t) => (err += t),
    fetch: globalThis.fetch,
  });
  return { code, out, err };
}

async function seeded() {
  const h = await createHarness();
  await createWithHistory(h.store, { requestId: 'req-1' }, [...TO_FAILED]);
  return h;
}

describe('the ops CLI', () => {
  it('lists failed requests as a table', async () => {
    const h = await seeded();
    const { code, out } = await run(h, ['list', 'failed'], await h.tokens.valid('ops'));
    expect(code).toBe(0);
    expect(out.split('\n')[0]).toMatch(/^requestId\s+status\s+channel/);
    expect(out).toMatch(/req-1\s+FAILED\s+web/);
  });

  it('retries with a reason and shows the new attempt', async () => {
    const h = await seeded();
    const { code, out } = await run(h, ['retry', 'req-1', '--reason', 'outage over'], await h.tokens.valid('ops', 'oncall'));
    expect(code).toBe(0);
    expect(out).toBe('req-1: QUEUED, attempt 2\n');
    expect(h.store.events.get('req-1')!.at(-1)).toMatchObject({ actor: 'staff:oncall', details: { reason: 'outage over' } });
  });

  it('exits non-zero with the problem title and detail on a conflict', async () => {
    const h = await seeded();
    const token = await h.tokens.valid('ops');
    await run(h, ['cancel', 'req-1', '--reason', 'withdrawn'], token);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    const { code, err } = await run(h, ['retry', 'req-1', '--reason', 'again'], token);
    expect(code).toBe(1);
    expect(err).toMatch(/^The request is CANCELLED: Only FAILED or TIMED_OUT requests can be retried/);
  });

  it('exits with 3 and says why when the token is refused', async () => {
    const h = await seeded();
    const { code, err } = await run(h, ['list'], await h.tokens.valid('auditor'));
    expect(code).toBe(3);
    expect(err).toMatch(/Not allowed/);
  });

  it('shows a request with its chain status, never calling a chain no checkpoint covers ok', async () => {
    const h = await seeded();
    const { code, out } = await run(h, ['show', 'req-1'], await h.tokens.valid('auditor'));
    expect(code).toBe(0);
    expect(out).toMatch(/chain\s+NOT_VERIFIED_AGAINST_CHECKPOINTS: Not verified against checkpoints: no checkpoint store is configured here\. The 6 event hashes are consistent/);
    expect(out).not.toMatch(/chain\s+ok/);
    expect(out).toMatch(/ERASURE_FAILED/);
  });

  it('streams an export to stdout', async () => {
    const h = await seeded();
    const { code, out } = await run(h, ['export', '--format', 'csv'], await h.tokens.valid('auditor'));
    expect(code).toBe(0);
    expect(out.split('\r\n')[1]).toMatch(/^req-1,FAILED,/);
  });

  it.each([
    ['no token', ['list'], undefined, /ERASURE_DESK_TOKEN/],
    ['no reason', ['retry', 'req-1'], 'token', /--reason is required/],
    ['an unknown command', ['frobnicate'], 'token', /unknown command/],
  ])('exits with 2 for %s', async (_n, argv, token, message) => {
    const h = await seeded();
    const { code, err } = await run(h, argv, token);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });
});
