/**
 * Regression tests for the defects the reliability runs found, pinned at the use-case level with
 * the intake's fakes so they fail fast and for one reason each.
 */
import { describe, expect, it } from 'vitest';
import { problemOf as answerTo, type ProblemAnswer } from '../../functions/adapters/http/shared/problems';
import { readWorkflowSettings } from '../../functions/adapters/env/settings';
import { continueVerified } from '../../functions/intake/continue-verified';
import { submitRequest } from '../../functions/intake/submit-request';
import { verifyRequest } from '../../functions/intake/verify-request';
import { makeFixture } from '../support/intake-fakes';

const CLIENT = { ip: '192.0.2.10' };
const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;

/** What the subject is answered for the use case's refusal (a domain error, through the HTTP problem table). */
async function problemOf(promise: Promise<unknown>): Promise<ProblemAnswer> {
  try {
    await promise;
  } catch (error) {
    const answer = answerTo(error, 'public');
    if (answer) return answer;
    throw error;
  }
  throw new Error('expected a problem');
}

describe('a verification link whose first use died half-way (crash between consuming the link and recording the verification)', () => {
  it('verifies the request when the link is opened again, and only once', async () => {
    const f = await makeFixture();
    await submitRequest(f.deps, { email: 'half-way@example.com' }, CLIENT);
    const requestId = f.mailer.sent.at(-1)!.requestId!;
    const token = tokenOf(f.mailer.verifyLink());
    // The first use consumes the link, then the process dies before IDENTITY_VERIFIED is written.
    const append = f.store.appendEvent.bind(f.store);
    let crashed = false;
    f.store.appendEvent = (async (id: string, build: Parameters<typeof append>[1]) => {
      if (!crashed) {
        crashed = true;
        throw new Error('process killed');
      }
      return append(id, build);
    }) as typeof f.store.appendEvent;
    await expect(verifyRequest(f.deps, token)).rejects.toThrow('process killed');
    expect(f.store.requests.get(requestId)!.status).toBe('AWAITING_VERIFICATION');

    const again = await verifyRequest(f.deps, token);
    expect(again).toMatchObject({ requestId, status: 'QUEUED' });
    expect(f.store.events.get(requestId)!.filter((e) => e.type === 'IDENTITY_VERIFIED')).toHaveLength(1);

    const third = await problemOf(verifyRequest(f.deps, token));
    expect(third.problem).toMatchObject({ status: 410, type: expect.stringContaining('link-used') });
    expect(f.workflow.starts).toEqual([{ requestId, attempt: 1 }]);
  });

  it('answers a double click with one verification and one "link used", never a conflict', async () => {
    const f = await makeFixture();
    await submitRequest(f.deps, { email: 'double-click@example.com' }, CLIENT);
    const requestId = f.mailer.sent.at(-1)!.requestId!;
    const token = tokenOf(f.mailer.verifyLink());
    const results = await Promise.allSettled([verifyRequest(f.deps, token), verifyRequest(f.deps, token)]);
    const statuses = results.map((r) => (r.status === 'fulfilled' ? 'verified' : (answerTo(r.reason, 'public')?.problem.status ?? String(r.reason))));
    expect(statuses.sort()).toEqual([410, 'verified'].sort());
    expect(f.store.events.get(requestId)!.filter((e) => e.type === 'IDENTITY_VERIFIED')).toHaveLength(1);
    expect(f.workflow.starts).toHaveLength(1);
  });
});

describe('a slow confirmation that the sweeper continues meanwhile (found by the crash soak beside other tests)', () => {
  it('answers the subject with the request queued once, never a conflict', async () => {
    const f = await makeFixture();
    await submitRequest(f.deps, { email: 'slow-confirm@example.com' }, CLIENT);
    const requestId = f.mailer.sent.at(-1)!.requestId!;
    const token = tokenOf(f.mailer.verifyLink());
    // While the subject's confirmation mails its notice (after VERIFIED, before queueing), the
    // sweeper finds the request VERIFIED past its stuck window and continues it to QUEUED.
    const send = f.mailer.send.bind(f.mailer);
    let sweeperRan = false;
    f.mailer.send = async (mail) => {
      if (!sweeperRan && mail.kind === 'confirmation') {
        sweeperRan = true;
        await continueVerified(f.deps, requestId);
      }
      return send(mail);
    };
    const answer = await verifyRequest(f.deps, token);
    expect(sweeperRan).toBe(true);
    expect(answer).toMatchObject({ requestId, status: 'QUEUED' });
    expect(f.store.events.get(requestId)!.filter((e) => e.type === 'ERASURE_QUEUED')).toHaveLength(1);
    expect(f.workflow.starts).toEqual([{ requestId, attempt: 1 }]);
  });
});

describe('the stale-claim window after a crash mid-intake', () => {
  it('is configurable for the local runtime and defaults to two minutes', () => {
    expect(readWorkflowSettings({}).intakeStaleClaimSeconds).toBe(120);
    expect(readWorkflowSettings({ INTAKE_STALE_CLAIM_SECONDS: '5' }).intakeStaleClaimSeconds).toBe(5);
    expect(() => readWorkflowSettings({ INTAKE_STALE_CLAIM_SECONDS: '0' })).toThrow();
  });

  it('lets a resubmission take over a claim whose request was never written, once the window passed', async () => {
    const f = await makeFixture({ limits: { staleClaimSeconds: 5 } });
    // A claim left by a process killed between claiming and creating the request.
    await submitRequest(f.deps, { email: 'claimed@example.com' }, CLIENT);
    const first = f.mailer.sent.at(-1)!.requestId!;
    f.store.requests.delete(first);
    f.store.events.delete(first);
    await submitRequest(f.deps, { email: 'claimed@example.com' }, CLIENT);
    expect([...f.claims.claims.values()]).toEqual([first]);
    expect(f.mailer.sent).toHaveLength(1);
    f.clock.advance(6);
    await submitRequest(f.deps, { email: 'claimed@example.com' }, CLIENT);
    const later = [...f.claims.claims.values()];
    expect(later).toHaveLength(1);
    expect(later[0]).not.toBe(first);
    expect(f.store.requests.get(later[0]!)!.status).toBe('AWAITING_VERIFICATION');
    expect(f.mailer.sent.at(-1)).toMatchObject({ kind: 'verification', requestId: later[0] });
  });
});
