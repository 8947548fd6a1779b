/**
 * Ops in a real browser: signs in to the console with a development token, finds a request that
 * failed at Kore.ai, retries it with the button (reason and confirmation required) and sees it
 * complete. Screenshots of the dashboard and the request page go to docs/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { freshEmail, startE2eRuntime, submitAndVerify, waitForStatus, type E2eRuntime } from '../e2e/support';
import { chromiumAvailable, launchChromium, screenshotPath } from './chromium';

const available = chromiumAvailable();

describe.skipIf(!available)('the ops console in Chromium', () => {
  let runtime: E2eRuntime;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    runtime = await startE2eRuntime();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
  });
  afterAll(async () => {
    await browser?.close();
    await runtime?.close();
  });

  it('signs in, retries a failed request with the button and sees it complete', async () => {
    // Some history for the dashboard: completed, rejected and one that fails at Kore.ai.
    await waitForStatus(runtime, await submitAndVerify(runtime.url, freshEmail('done')), ['COMPLETED']);
    await waitForStatus(runtime, await submitAndVerify(runtime.url, 'owner@demo.example'), ['REJECTED']);
    runtime.simulator!.setFaults({ rate500: 1 });
    let failedId: string;
    try {
      failedId = await submitAndVerify(runtime.url, freshEmail('console'));
      await waitForStatus(runtime, failedId, ['FAILED'], 60_000);
    } finally {
      runtime.simulator!.setFaults({ rate500: 0 });
    }

    await page.goto(`${runtime.url}/console`);
    await page.locator('textarea[name="token"]').fill(runtime.opsToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState('load');
    expect(await page.textContent('body')).toMatch(/FAILED/);
    await page.screenshot({ path: screenshotPath('console-dashboard'), fullPage: true });

    await page.goto(`${runtime.url}/console/requests/${failedId}`);
    const retryForm = page.locator(`form[action$="/requests/${failedId}/retry"]`);
    // The button alone does nothing: a reason and the confirmation are required.
    await retryForm.locator('textarea[name="reason"]').fill('Kore.ai outage is over (status page, 14:05)');
    await retryForm.locator('input[name="confirm"]').check();
    await retryForm.getByRole('button', { name: 'Retry' }).click();
    await page.waitForLoadState('load');

    const detail = await waitForStatus(runtime, failedId, ['COMPLETED']);
    expect(detail.timeline.find((e) => e.type === 'RETRY_REQUESTED')?.actor).toBe('staff:e2e-ops');
    await page.goto(`${runtime.url}/console/requests/${failedId}`);
    const body = (await page.textContent('body')) ?? '';
    expect(body).toMatch(/COMPLETED/);
    expect(body).toMatch(/RETRY_REQUESTED/);
    await page.screenshot({ path: screenshotPath('console-request') });
    expect(problems).toEqual([]);
  });

  it('verifies a completed erasure now with the button, recorded with the actor, and shows the outcome and the counts', async () => {
    const requestId = await submitAndVerify(runtime.url, freshEmail('verify-now'));
    await waitForStatus(runtime, requestId, ['COMPLETED']);

    await page.goto(`${runtime.url}/console/requests/${requestId}`);
    expect(await page.locator('#verification').getAttribute('data-stage')).toBe('pending');
    const verifyForm = page.locator(`form[action$="/requests/${requestId}/verify"]`);
    await verifyForm.locator('textarea[name="reason"]').fill('The subject asked for proof');
    await verifyForm.locator('input[name="confirm"]').check();
    await verifyForm.getByRole('button', { name: 'Verify now' }).click();
    await page.waitForLoadState('load');
    expect(await page.textContent('body')).toMatch(/read back from Kore\.ai at the next verification run/);

    await runtime.verify();
    await page.goto(`${runtime.url}/console/requests/${requestId}`);
    expect(await page.locator('#verification').getAttribute('data-stage')).toBe('verified');
    const body = (await page.textContent('body')) ?? '';
    expect(body).toMatch(/VERIFICATION_REQUESTED/);
    expect(body).toMatch(/staff:e2e-ops/);
    // Once verified, the subject id is gone and the button with it.
    expect(await page.locator(`form[action$="/requests/${requestId}/verify"]`).count()).toBe(0);
    await page.goto(`${runtime.url}/console`);
    expect(Number(await page.locator('#verification-counts .card b').first().textContent())).toBeGreaterThanOrEqual(1);
    expect(problems).toEqual([]);
  });

  it('keeps the session in a __Host- cookie Chromium accepts over http://127.0.0.1, and a signed-out session cannot be put back', async () => {
    const context = await browser.newContext();
    const own = await context.newPage();
    try {
      await own.goto(`${runtime.url}/console`);
      await own.locator('textarea[name="token"]').fill(await runtime.devIssuer.issueToken('auditor', 'browser-sign-out'));
      await own.getByRole('button', { name: 'Sign in' }).click();
      await own.waitForLoadState('load');
      expect(await own.textContent('h1')).toBe('Dashboard');
      // Secure cookies are kept from http://127.0.0.1 (a potentially trustworthy origin), so the
      // __Host- prefix works for the local runtime too.
      const session = (await context.cookies(runtime.url)).find((c) => c.name === '__Host-ed_session');
      expect(session).toMatchObject({ secure: true, httpOnly: true, path: '/', sameSite: 'Strict', domain: '127.0.0.1' });

      await own.getByRole('button', { name: 'Sign out' }).click();
      await own.waitForLoadState('load');
      expect((await context.cookies(runtime.url)).some((c) => c.name === '__Host-ed_session')).toBe(false);

      // Someone who copied the cookie puts it back: the server remembers the sign-out.
      await context.addCookies([{ ...session!, expires: -1 }]);
      const replay = await own.goto(`${runtime.url}/console/requests`);
      expect(replay?.status()).toBe(401);
      expect(await own.textContent('body')).toContain('signed out');
    } finally {
      await context.close();
    }
  });
});
