/**
 * Part 8, hardening of staff access, the platform client and the local runtime (issue 13 items
 * 8–12 and the two staff defects of issue 14), each tried as an attacker would, over real HTTP
 * against the local runtime unless the attack needs a seam the runtime does not expose:
 *
 * - 8: malformed percent-escapes in staff path ids and query values answer 4xx, never 500 — over
 *   HTTP and at the handler, with the raw path API Gateway passes;
 * - issue 14: a listing cursor carrying a store cursor the store never issued answers 400; a
 *   property test over staff query strings and path ids finds no 5xx; staff 500s and ops actions
 *   are logged (route template, request id, error name);
 * - 9: a 307 from the platform's address to another origin receives nothing (no DELETE, no token,
 *   no user id) and the attempt fails as KoreRedirectError;
 * - 10: Cognito ID tokens and tokens older than 12 h are refused; the console cookie is `__Host-`;
 *   a signed-out session cannot be replayed, as a cookie or as a bearer token;
 * - 11: the state machine logs no execution data, and a task error carrying an email reaches
 *   Step Functions' `Cause`, the trail and the log as its name only;
 * - 12: a DNS-rebinding page (foreign Host header) reads neither the outbox nor any route, of the
 *   runtime or of its Kore.ai simulator.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeApplication, type Application } from '../../functions/composition/application';
import { readWorkflowSettings } from '../../functions/adapters/env/settings';
import { createDynamoAdapters } from '../../functions/adapters/dynamo/adapters';
import type { KorePlatform } from '../../functions/domain/kore';
import type { OutgoingMail } from '../../functions/domain/ports';
import { systemClock } from '../../functions/domain/ports';
import { deriveKeys } from '../../functions/domain/subject';
import { CHECKPOINT_JWS_TYPE, RECEIPT_JWS_TYPE } from '../../functions/domain/checkpoints';
import { createLocalSigner } from '../../functions/intake/receipts';
import { createStaffAuthenticator } from '../../functions/adapters/http/staff/auth';
import { createFileCheckpointWriter } from '../../functions/adapters/file/checkpoint-writer';
import { synthesizeTemplate } from '../../infra/synth';
import { loadOrCreateLocalSecrets } from '../../infra/local/local-secrets';
import { LocalWorkflow } from '../../infra/local/local-workflow';
import { LOCAL_WORKFLOW_DEFAULTS } from '../../infra/local/runtime';
import { stateMachineDefinitionFrom } from '../../infra/local/state-machine-definition';
import { startDynalite, type DynaliteHandle } from '../support/dynalite';
import { auditDetail, clientAddress, confirmLink, freshEmail, mailedRequest, pool, printFigures, raw, readOutbox, startReliabilityRuntime, tally, type RawResponse, type ReliabilityRuntime } from './harness';
import { jsonLinesLogger } from '../support/recording-logger';

let rt: ReliabilityRuntime;
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  rt = await startReliabilityRuntime({ simulator: { jobDurationMs: 200 } });
});
afterAll(async () => rt?.close());

async function submit(email: string, i: number): Promise<{ requestId: string; statusUrl: string; verifyUrl?: string }> {
  const r = await raw(`${rt.url}/requests`, { method: 'POST', from: clientAddress(50_000 + i), headers: JSON_HEADERS, body: JSON.stringify({ email }) });
  if (r.status !== 202) throw new Error(`submit answered ${r.status}`);
  return mailedRequest(rt.url, email);
}

async function waitStatus(id: string, statuses: string[]): Promise<string> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const status = (await auditDetail(rt.url, rt.auditorToken, id)).request.status;
    if (statuses.includes(status)) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${id} never reached ${statuses.join('/')}`);
}

const isProblem = (r: RawResponse) => (r.header('content-type') ?? '').startsWith('application/problem+json');

/** An API Gateway v2 event exactly as the HTTP API hands it over: the path raw, as the client sent it. */
function gatewayEvent(method: string, rawPath: string, options: { rawQueryString?: string; headers?: Record<string, string>; body?: string } = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: options.rawQueryString ?? '',
    headers: { host: 'api.example', ...(options.body ? { 'content-type': 'application/json' } : {}), ...(options.headers ?? {}) },
    ...(options.body ? { body: options.body } : {}),
    isBase64Encoded: false,
    requestContext: {
      accountId: '1',
      apiId: 'api',
      domainName: 'api.example',
      domainPrefix: 'api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'test' },
      requestId: `gw-${Math.random().toString(36).slice(2)}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
  } as APIGatewayProxyEventV2;
}

describe('8 and issue 14: any staff path or query value answers 4xx', () => {
  const MALFORMED = ['%E0%A4', '%', '%zz', '%C0%AF', '%ED%A0%80', 'req%'];

  it('answers malformed percent-escapes in path ids with a 400 problem on the audit, ops and console routes, over HTTP and at the handler', async () => {
    const cases = MALFORMED.flatMap((id) => [
      { method: 'GET', path: `/audit/requests/${id}`, token: rt.auditorToken, problem: true },
      { method: 'POST', path: `/ops/requests/${id}/retry`, token: rt.opsToken, body: JSON.stringify({ reason: 'attack' }), problem: true },
      { method: 'POST', path: `/ops/requests/${id}/cancel`, token: rt.opsToken, body: JSON.stringify({ reason: 'attack' }), problem: true },
      { method: 'GET', path: `/console/requests/${id}`, token: rt.auditorToken, problem: false },
      { method: 'POST', path: `/console/requests/${id}/cancel`, token: rt.opsToken, body: 'confirm=yes&reason=attack', problem: false },
    ]);
    const overHttp = await pool(cases, 8, async (c) => {
      const r = await raw(`${rt.url}${c.path}`, { method: c.method, headers: { ...bearer(c.token), ...(c.body ? { 'content-type': c.path.startsWith('/console') ? 'application/x-www-form-urlencoded' : 'application/json' } : {}) }, body: c.body });
      return { c, status: r.status, problem: isProblem(r) };
    });
    const atHandler = await pool(cases, 8, async (c) => {
      const event = gatewayEvent(c.method, c.path, { headers: bearer(c.token), ...(c.body ? { body: c.body } : {}) });
      if (c.path.startsWith('/console') && c.body) event.headers['content-type'] = 'application/x-www-form-urlencoded';
      const fn = c.path.startsWith('/audit') ? 'audit-api' : c.path.startsWith('/ops') ? 'ops-api' : 'console';
      const r = await rt.invoke<{ statusCode?: number; headers?: Record<string, string> }>(fn, event);
      return { c, status: r.statusCode ?? 200, problem: String(r.headers?.['content-type'] ?? '').startsWith('application/problem+json') };
    });
    printFigures('hardening / malformed path escapes', { cases: cases.length, http: tally(overHttp.map((r) => String(r.status))), handler: tally(atHandler.map((r) => String(r.status))) });
    for (const r of [...overHttp, ...atHandler]) {
      expect(r.status, `${r.c.method} ${r.c.path}`).toBe(400);
      if (r.c.problem) expect(r.problem, `${r.c.method} ${r.c.path}`).toBe(true);
    }
  });

  it('answers a listing cursor whose inner store cursor the store never issued with a 400 invalid-cursor problem', async () => {
    await submit(freshEmail('cursor-a'), 1);
    await submit(freshEmail('cursor-b'), 2);
    const first = await raw(`${rt.url}/audit/requests?limit=1`, { headers: bearer(rt.auditorToken) });
    const genuine = JSON.parse(Buffer.from((JSON.parse(first.text) as { cursor: string }).cursor, 'base64url').toString('utf8')) as { p?: { s: string; c?: string }[] };
    expect(genuine.p?.length).toBeGreaterThan(0);
    const forged = Buffer.from(JSON.stringify({ ...genuine, p: genuine.p!.map((p) => ({ ...p, c: Buffer.from('{"sk":"EVT#00000001"}').toString('base64url') })) })).toString('base64url');
    const api = await raw(`${rt.url}/audit/requests?limit=1&cursor=${forged}`, { headers: bearer(rt.auditorToken) });
    const page = await raw(`${rt.url}/console/requests?limit=1&cursor=${forged}`, { headers: bearer(rt.auditorToken) });
    printFigures('hardening / forged store cursor', { api: api.status, console: page.status });
    expect(api.status).toBe(400);
    expect(JSON.parse(api.text)).toMatchObject({ type: expect.stringContaining('invalid-cursor'), errors: [{ field: 'cursor' }] });
    expect(page.status).toBe(400);
  });

  it('answers every staff query string and path id (a property test over HTTP) with no 5xx', async () => {
    const keys = ['status', 'from', 'to', 'subject', 'overdue', 'includeCanary', 'order', 'limit', 'cursor', 'format'];
    const value = fc.oneof(
      fc.string({ maxLength: 24 }).map(encodeURIComponent),
      fc.stringMatching(/^[%0-9A-Fa-fz.,:+-]{0,20}$/),
      fc.base64String({ maxLength: 60 }).map((s) => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=/g, '')),
      fc.constantFrom('%E0%A4', '%', 'FAILED,%FF', '2026-02-30', '1e309', '-0', '__proto__'),
    );
    const query = fc.array(fc.tuple(fc.constantFrom(...keys), value), { maxLength: 5 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
    const id = fc.oneof(fc.string({ minLength: 1, maxLength: 30 }).map(encodeURIComponent), fc.stringMatching(/^[%0-9A-Fa-f]{1,12}$/));
    const target = fc.oneof(
      fc.tuple(fc.constantFrom('/audit/requests', '/audit/export', '/audit/report', '/ops/requests', '/console/requests', '/console/export'), query).map(([p, q]) => ({ method: 'GET', path: `${p}?${q}` })),
      id.map((i) => ({ method: 'GET', path: `/audit/requests/${i}` })),
      id.map((i) => ({ method: 'GET', path: `/console/requests/${i}` })),
      id.map((i) => ({ method: 'POST', path: `/ops/requests/${i}/recheck` })),
    );
    const statuses: number[] = [];
    await fc.assert(
      fc.asyncProperty(target, async (t) => {
        const r = await raw(`${rt.url}${t.path}`, {
          method: t.method,
          headers: { ...bearer(rt.opsToken), ...(t.method === 'POST' ? { 'content-type': 'application/json' } : {}) },
          body: t.method === 'POST' ? JSON.stringify({ reason: 'fuzz' }) : undefined,
        });
        statuses.push(r.status);
        expect(r.status, `${t.method} ${t.path}`).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
    printFigures('hardening / staff input property test', { requests: statuses.length, answers: tally(statuses.map(String)) });
  });

  it('leaves a log line for an ops action, naming action, request and actor only', async () => {
    const { requestId } = await submit(freshEmail('logged'), 3);
    const before = rt.logLines.length;
    const r = await raw(`${rt.url}/ops/requests/${requestId}/cancel`, { method: 'POST', headers: { ...bearer(rt.opsToken), 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'withdrawn by letter' }) });
    expect(r.status).toBe(200);
    const lines = rt.logLines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toContainEqual(expect.objectContaining({ message: 'ops action', action: 'cancel', requestId, actor: 'staff:e2e-ops' }));
    expect(rt.logLines.slice(before).join('\n')).not.toMatch(/withdrawn by letter/);
  });
});

/** A second origin that records everything that reaches it: where a redirect would send the erasure. */
async function startRecorder(): Promise<{ url: string; received: { method: string; url: string; auth?: string; body: string }[]; stop(): Promise<void> }> {
  const received: { method: string; url: string; auth?: string; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', ...(typeof req.headers.auth === 'string' ? { auth: req.headers.auth } : {}), body });
      res.writeHead(200, { 'content-type': 'application/json' });
      // What a hijacker would answer: a job id, so the desk believes the erasure is under way.
      res.end(JSON.stringify({ requestId: 'eud-hijacked', status: 'in-progress' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, stop: () => new Promise((r) => server.close(() => r())) };
}

describe('9: the Kore.ai client never follows a redirect', () => {
  it('sends nothing to the origin a 307 points at, and the attempt fails as KoreRedirectError', async () => {
    const elsewhere = await startRecorder();
    try {
      const email = freshEmail('redirected');
      const { requestId, verifyUrl } = await submit(email, 4);
      rt.simulator!.setFaults({ rate307: 1, redirectTo: elsewhere.url });
      expect((await confirmLink(verifyUrl!)).status).toBe(303);
      const status = await waitStatus(requestId, ['FAILED', 'SUBMITTED', 'IN_PROGRESS', 'COMPLETED']);
      rt.simulator!.setFaults({ rate307: 0 });
      await rt.idle();
      const detail = await auditDetail(rt.url, rt.auditorToken, requestId);
      const redirects = rt.simulator!.calls().filter((c) => c.outcome === 'fault-307');
      printFigures('hardening / redirect', { status, failureReason: detail.request.failureReason, redirectsAnswered: redirects.length, reachedElsewhere: elsewhere.received.length });
      expect(elsewhere.received).toEqual([]);
      expect(status).toBe('FAILED');
      expect(detail.request.failureReason).toBe('KoreRedirectError');
      expect(redirects.length).toBeGreaterThan(0);
      expect(detail.timeline.some((e) => e.type === 'ERASURE_CALL_FAILED' && e.details.error === 'KoreRedirectError')).toBe(true);
      expect(JSON.stringify(detail)).not.toContain(elsewhere.url);
    } finally {
      rt.simulator!.setFaults({ rate307: 0 });
      await elsewhere.stop();
    }
  });
});

describe('10: staff tokens and the console session', () => {
  async function signer() {
    const privateJwk = JSON.parse(readFileSync(join(rt.dataDir, 'dev-issuer', 'private.jwk.json'), 'utf8')) as JWK;
    return { key: await importJWK(privateJwk, 'RS256'), kid: privateJwk.kid! };
  }

  it('refuses a Cognito ID token and a token issued more than 12 hours ago, though both are signed by the issuer and unexpired', async () => {
    const { key, kid } = await signer();
    const now = Math.floor(Date.now() / 1000);
    const idToken = await new SignJWT({ 'cognito:groups': ['ops'], token_use: 'id', email: 'staff@example.com' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(rt.devIssuer.issuer)
      .setAudience(rt.devIssuer.audience)
      .setSubject('id-token-holder')
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(key);
    const stale = await new SignJWT({ 'cognito:groups': ['ops'], token_use: 'access', client_id: rt.devIssuer.audience })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(rt.devIssuer.issuer)
      .setSubject('stale-holder')
      .setIssuedAt(now - 13 * 3600)
      .setExpirationTime(now + 3600)
      .sign(key);
    const routes = ['/audit/requests', '/ops/requests?status=failed', '/console/requests'];
    const answers = await pool(
      routes.flatMap((path) => [idToken, stale].map((token) => ({ path, token }))),
      6,
      async ({ path, token }) => (await raw(`${rt.url}${path}`, { headers: bearer(token) })).status,
    );
    printFigures('hardening / token use and age', { answers: tally(answers.map(String)) });
    expect(answers).toEqual(answers.map(() => 401));
    expect((await raw(`${rt.url}/audit/requests`, { headers: bearer(rt.auditorToken) })).status).toBe(200);
  });

  it('keeps the console session in a __Host- cookie and revokes it server-side at sign-out: neither the cookie nor the token works again', async () => {
    const cookieJar = new Map<string, string>();
    const absorb = (r: RawResponse) => {
      const set = r.headers['set-cookie'] ?? [];
      for (const c of Array.isArray(set) ? set : [set]) {
        const [pair] = c.split(';');
        const i = pair!.indexOf('=');
        if (/Max-Age=0/i.test(c)) cookieJar.delete(pair!.slice(0, i));
        else cookieJar.set(pair!.slice(0, i), pair!.slice(i + 1));
      }
      return r;
    };
    const cookies = () => [...cookieJar].map(([k, v]) => `${k}=${v}`).join('; ');
    const csrfOf = (r: RawResponse) => /name="csrf" value="([^"]+)"/.exec(r.text)![1]!;
    const token = await rt.devIssuer.issueToken('ops', 'signing-out');

    const signInPage = absorb(await raw(`${rt.url}/console`));
    const login = absorb(
      await raw(`${rt.url}/console/login`, {
        method: 'POST',
        headers: { cookie: cookies(), 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${encodeURIComponent(token)}&csrf=${encodeURIComponent(csrfOf(signInPage))}`,
      }),
    );
    expect(login.status).toBe(303);
    const setCookies = [login.headers['set-cookie']].flat().filter((c): c is string => typeof c === 'string');
    const session = setCookies.find((c) => c.startsWith('__Host-ed_session='))!;
    expect(session).toMatch(/; Path=\/; Secure; HttpOnly; SameSite=Strict/);
    expect(session).not.toMatch(/Domain=/i);
    const stolenCookie = `__Host-ed_session=${cookieJar.get('__Host-ed_session')}`;

    const dashboard = absorb(await raw(`${rt.url}/console`, { headers: { cookie: cookies() } }));
    expect(dashboard.status).toBe(200);
    const logout = absorb(
      await raw(`${rt.url}/console/logout`, {
        method: 'POST',
        headers: { cookie: cookies(), 'content-type': 'application/x-www-form-urlencoded' },
        body: `csrf=${encodeURIComponent(csrfOf(dashboard))}`,
      }),
    );
    expect(logout.status).toBe(303);

    const replayCookie = await raw(`${rt.url}/console/requests`, { headers: { cookie: stolenCookie } });
    const replayBearer = await raw(`${rt.url}/audit/requests`, { headers: bearer(token) });
    const replayOps = await raw(`${rt.url}/ops/requests?status=failed`, { headers: bearer(token) });
    printFigures('hardening / sign-out', { session: session.split(';').slice(1).join(';').trim(), replayCookie: replayCookie.status, replayBearer: replayBearer.status, replayOps: replayOps.status });
    expect(replayCookie.status).toBe(401);
    expect(replayCookie.text).toContain('signed out');
    expect(replayBearer.status).toBe(401);
    expect(replayOps.status).toBe(401);
  });
});

describe('11: no personal data in Step Functions logs and Causes', () => {
  it('logs errors only, without execution data, in the synthesized template', () => {
    const template = synthesizeTemplate();
    const machines = Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
    expect(machines).toHaveLength(1);
    const logging = (machines[0]!.Properties as { LoggingConfiguration?: { Level?: string; IncludeExecutionData?: boolean } }).LoggingConfiguration;
    printFigures('hardening / state machine logging', { level: logging?.Level, includeExecutionData: logging?.IncludeExecutionData });
    expect(logging).toMatchObject({ Level: 'ERROR', IncludeExecutionData: false });
  });

  describe('a task error that quotes the subject', () => {
    let db: DynaliteHandle;
    let dbStopped = false;
    let dir: string;
    let app: Application;
    let workflow: LocalWorkflow;
    const mails: OutgoingMail[] = [];
    const logs: string[] = [];
    const causes: unknown[] = [];
    const email = freshEmail('quoted');

    beforeAll(async () => {
      db = await startDynalite();
      dir = mkdtempSync(join(tmpdir(), 'erasure-desk-hardening-'));
      const secrets = await loadOrCreateLocalSecrets(join(dir, 'secrets.json'));
      // A platform adapter whose failure repeats what it was sent, as many libraries' errors do.
      const kore: KorePlatform = {
        eraseUsersData: async (userIds) => {
          throw new Error(`The platform refused to erase ${userIds.join(', ')}`);
        },
        getEraseStatus: async () => {
          throw new Error('not reached');
        },
        getUserRoles: async () => ({ total: 0, availableMore: false, users: [] }),
      };
      const handlers = {
        SubmitErasure: (input: unknown) => app.tasks.submitErasure(input),
        CheckStatus: (input: unknown) => app.tasks.checkErasureStatus(input),
        RecordCompleted: (input: unknown) => app.tasks.recordOutcome(input),
        RecordFailed: (input: unknown) => app.tasks.recordOutcome(input),
        RecordTimedOut: (input: unknown) => app.tasks.recordOutcome(input),
        RecordRejected: (input: unknown) => app.tasks.recordOutcome(input),
        RecordError: (input: unknown) => {
          causes.push((input as { state?: { error?: unknown } }).state?.error);
          return app.tasks.recordOutcome(input);
        },
      };
      workflow = new LocalWorkflow({ definition: stateMachineDefinitionFrom(synthesizeTemplate()), handlers, retryIntervalMs: 20 });
      app = composeApplication({
        ...createDynamoAdapters({ client: db.client, tableName: db.tableName, clock: systemClock }),
        kore,
        mailer: { send: async (mail) => (mails.push(mail), { messageId: `m-${mails.length}` }) },
        receiptSigner: createLocalSigner(secrets.receiptSigningKey, RECEIPT_JWS_TYPE),
        checkpointSigner: createLocalSigner(secrets.checkpointSigningKey, CHECKPOINT_JWS_TYPE),
        workflow,
        checkpointWriter: createFileCheckpointWriter(join(dir, 'checkpoints')),
        staffAuth: createStaffAuthenticator({ issuer: rt.devIssuer.issuer, audience: rt.devIssuer.audience, jwks: rt.devIssuer.keyResolver() }),
        clock: systemClock,
        subjectKeys: deriveKeys(secrets.subjectSecret),
        linkKey: new TextEncoder().encode(secrets.linkKey),
        publicBaseUrl: 'http://127.0.0.1:9',
        settings: readWorkflowSettings({ ...LOCAL_WORKFLOW_DEFAULTS }),
        logger: jsonLinesLogger((line) => void logs.push(line)),
      });
      await app.refreshRolesSnapshot();
    });
    afterAll(async () => {
      await workflow?.stop();
      if (!dbStopped) await db?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('reaches the Cause, the trail and the log as the error name only', async () => {
      const submitted = await app.publicApi(gatewayEvent('POST', '/requests', { headers: { accept: 'application/json' }, body: JSON.stringify({ email }) }));
      expect(submitted.statusCode).toBe(202);
      const mail = mails.find((m) => m.to === email && m.kind === 'verification')!;
      const token = /\/verify\?token=([\w.-]+)/.exec(mail.text)![1]!;
      const verify = gatewayEvent('POST', '/verify', { body: `token=${token}` });
      verify.headers['content-type'] = 'application/x-www-form-urlencoded';
      const verified = await app.publicApi(verify);
      expect(verified.statusCode).toBe(303);
      await workflow.idle();

      const requestId = mail.requestId!;
      const audit = await app.auditApi(gatewayEvent('GET', `/audit/requests/${requestId}`, { headers: bearer(rt.auditorToken) }));
      const detail = JSON.parse(audit.body!) as { request: { status: string; failureReason?: string } };
      printFigures('hardening / task error Cause', { causes: causes.length, status: detail.request.status, failureReason: detail.request.failureReason, cause: causes[0] });
      expect(causes).toHaveLength(1);
      expect(JSON.stringify(causes)).not.toContain(email);
      expect(causes[0]).toMatchObject({ Error: 'Error' });
      expect(detail.request).toMatchObject({ status: 'FAILED', failureReason: 'Error' });
      expect(audit.body).not.toContain(email);
      expect(logs.join('\n')).not.toContain(email);
      expect(logs.map((l) => JSON.parse(l) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ message: 'workflow task failed', task: 'SubmitErasure', requestId, error: 'Error' }));
    });

    it('writes one log line for a staff 500 (route template, request id, error name), and nothing of the path as typed', async () => {
      await db.stop();
      dbStopped = true;
      const typedId = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
      const event = gatewayEvent('GET', `/audit/requests/${typedId}`, { headers: bearer(rt.auditorToken) });
      const before = logs.length;
      const answer = await app.auditApi(event);
      const lines = logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
      printFigures('hardening / staff 500 log', { status: answer.statusCode, lines });
      expect(answer.statusCode).toBe(500);
      expect(lines).toEqual([{ level: 'error', message: 'audit api failed', route: 'GET /audit/requests/{id}', httpRequestId: event.requestContext.requestId, error: expect.stringMatching(/^Store(Unavailable)?Error$/) }]);
      expect(JSON.stringify(lines)).not.toContain(typedId);
    });
  });
});

describe('12: the local runtime answers only requests addressed to itself', () => {
  it('gives a DNS-rebinding page (foreign Host) nothing: not the outbox, not any route, not the simulator', async () => {
    await submit(freshEmail('rebinding-victim'), 5);
    const mailsBefore = (await readOutbox(rt.url)).length;
    expect(mailsBefore).toBeGreaterThan(0);
    const port = new URL(rt.url).port;
    const foreignFor = (p: string) => [`rebind.example:${p}`, `evil.example`, `127.0.0.1.nip.io:${p}`, `localhost.:${p}`, `127.0.0.1:${Number(p) + 1}`, `127.0.0.1`];
    const targets: { url: string; host: string; method?: string; headers?: Record<string, string>; body?: string }[] = [];
    for (const host of foreignFor(new URL(rt.simulator!.url).port)) targets.push({ url: `${rt.simulator!.url}/__sim/calls`, host }, { url: `${rt.simulator!.url}/__sim/faults`, host, method: 'POST', body: '{"rate500":1}' });
    for (const host of foreignFor(port)) {
      targets.push(
        { url: `${rt.url}/dev/outbox`, host },
        { url: `${rt.url}/dev/outbox.json`, host },
        { url: `${rt.url}/dev-issuer/jwks.json`, host },
        { url: `${rt.url}/`, host },
        { url: `${rt.url}/console`, host, headers: bearer(rt.opsToken) },
        { url: `${rt.url}/audit/requests`, host, headers: bearer(rt.auditorToken) },
        { url: `${rt.url}/requests`, host, method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ email: freshEmail('rebound') }) },
      );
    }
    const answers = await pool(targets, 8, async (t) => {
      const r = await raw(t.url, { method: t.method ?? 'GET', headers: { host: t.host, ...(t.headers ?? {}) }, body: t.body });
      return { t, status: r.status, leaked: /@example\.com|"calls"|"keys"|<form/.test(r.text) };
    });
    const allowed = await pool([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`], 3, async (host) => (await raw(`${rt.url}/dev/outbox.json`, { headers: { host } })).status);
    const absoluteForm = await rawAbsolute(rt.url, 'http://[/dev/outbox.json');
    const alive = await raw(`${rt.url}/openapi.json`);
    printFigures('hardening / host check', { foreignRequests: targets.length, answers: tally(answers.map((a) => String(a.status))), leaked: answers.filter((a) => a.leaked).length, allowed, absoluteForm, aliveAfter: alive.status });
    for (const a of answers) {
      expect(a.status, `${a.t.url} as ${a.t.host}`).toBe(421);
      expect(a.leaked, `${a.t.url} as ${a.t.host}`).toBe(false);
    }
    expect(allowed).toEqual([200, 200, 200]);
    expect(absoluteForm).toBe(400);
    expect(alive.status).toBe(200);
    expect((await readOutbox(rt.url)).length).toBe(mailsBefore);
    expect(rt.simulator!.config.faults.rate500).toBe(0);
  });
});

/** Sends a request whose target is in absolute form (as a proxy client would), over a raw socket. */
async function rawAbsolute(baseUrl: string, target: string): Promise<number> {
  const { connect } = await import('node:net');
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(`GET ${target} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.on('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
  });
}
