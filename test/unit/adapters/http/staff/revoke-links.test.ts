import { describe, expect, it } from 'vitest';
import { staffOpenApiPaths } from '../../../../../functions/adapters/http/staff/openapi';
import { createWithHistory, TO_FAILED } from '../../../../support/staff-fakes';
import { apiEvent, createHarness, jsonOf, NOW, type Harness } from '../../../../support/staff-harness';

async function withRequest(steps: Parameters<typeof createWithHistory>[2] = TO_FAILED): Promise<Harness> {
  const h = await createHarness();
  await createWithHistory(h.store, { requestId: 'req-1', receivedAt: '2026-02-20T10:00:00.000Z', dueAt: '2026-03-20T10:00:00.000Z', subjectCipher: 'v1.cipher' }, steps);
  return h;
}

async function revoke(h: Harness, body: Record<string, unknown>, id = 'req-1', role: 'ops' | 'auditor' = 'ops') {
  return h.opsApi(apiEvent({ method: 'POST', path: `/ops/requests/${id}/revoke-links`, body, token: await h.tokens.valid(role, 'anna') }));
}

describe('POST /ops/requests/{id}/revoke-links', () => {
  it('records STATUS_LINKS_REVOKED with the staff actor and the reason, leaving the status as it was', async () => {
    const h = await withRequest();
    const result = await revoke(h, { reason: 'the subject forwarded the mail by mistake' });
    expect(result.statusCode, result.body).toBe(200);
    expect(jsonOf(result)).toMatchObject({ request: { requestId: 'req-1', status: 'FAILED' }, revokedAt: NOW });
    expect(h.store.events.get('req-1')!.at(-1)).toMatchObject({
      type: 'STATUS_LINKS_REVOKED',
      actor: 'staff:anna',
      status: 'FAILED',
      at: NOW,
      details: { reason: 'the subject forwarded the mail by mistake' },
    });
  });

  it.each([
    ['without a reason', {}, 'req-1', 'ops', 400],
    ['with a blank reason', { reason: '   ' }, 'req-1', 'ops', 400],
    ['for an unknown request', { reason: 'leaked link' }, 'req-404', 'ops', 404],
    ['for an auditor', { reason: 'leaked link' }, 'req-1', 'auditor', 403],
  ] as const)('refuses a revocation %s and records nothing', async (_case, body, id, role, status) => {
    const h = await withRequest();
    const before = h.store.events.get('req-1')!.length;
    const result = await revoke(h, body, id, role);
    expect(result.statusCode).toBe(status);
    expect(h.store.events.get('req-1')).toHaveLength(before);
  });

  it.each<[string, Parameters<typeof createWithHistory>[2]]>([
    ['a request just received', []],
    ['a failed request', TO_FAILED],
  ])('is offered in the console for %s', async (_case, steps) => {
    const h = await withRequest(steps);
    const page = await h.console(apiEvent({ path: '/console/requests/req-1', token: await h.tokens.valid('ops', 'anna') }));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('action="/console/requests/req-1/revoke-links"');
  });

  it('is described in the API description', () => {
    expect(staffOpenApiPaths()).toHaveProperty(['/ops/requests/{id}/revoke-links', 'post', 'requestBody']);
  });
});
