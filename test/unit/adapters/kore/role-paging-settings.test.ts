/**
 * The paced refresh's settings: runs outlast their schedule (so a run is always there while a
 * refresh is under way) and stay inside the Lambda's 15 minutes; the lease's times follow the
 * budget's clock.
 */
import { describe, expect, it } from 'vitest';
import { readRolePaging, ROLE_PAGING_DEFAULTS, ROLE_PAGING_LEASE, ROLES_REFRESH_SCHEDULE_SECONDS } from '../../../../functions/adapters/kore/role-paging-settings';
import { defaultCallBudgetPolicy } from '../../../../functions/domain/call-budget';

describe('readRolePaging', () => {
  it('makes a run last longer than the schedule between two runs, and keeps it with its lease grace inside 15 minutes', () => {
    const { runMs, leaseGraceMs } = readRolePaging(defaultCallBudgetPolicy(), {});

    expect(runMs).toBe(ROLE_PAGING_DEFAULTS.ROLES_REFRESH_RUN_SECONDS * 1000);
    expect(runMs).toBeGreaterThan(ROLES_REFRESH_SCHEDULE_SECONDS * 1000);
    expect(runMs + leaseGraceMs).toBeLessThan(15 * 60_000);
  });

  it('keeps even the longest run allowed with its grace inside 15 minutes', () => {
    const { runMs, leaseGraceMs } = readRolePaging(defaultCallBudgetPolicy(), { ROLES_REFRESH_RUN_SECONDS: '840' });
    expect(runMs + leaseGraceMs).toBeLessThan(15 * 60_000);
  });

  it.each([
    { scale: 1, graceMs: ROLE_PAGING_LEASE.graceMs, pollMs: ROLE_PAGING_LEASE.pollMs },
    { scale: 0.1, graceMs: 3_000, pollMs: 100 },
    { scale: 0.01, graceMs: 300, pollMs: 10 },
  ])('compresses the lease with a budget clock scaled $scale', ({ scale, graceMs, pollMs }) => {
    const settings = readRolePaging(defaultCallBudgetPolicy({ timeScale: scale }), {});
    expect(settings).toMatchObject({ leaseGraceMs: graceMs, leasePollMs: pollMs });
  });
});
