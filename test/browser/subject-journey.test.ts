/**
 * A data subject in a real browser: fills the form, follows the emailed link from the outbox and
 * sees the erasure COMPLETED on the status page with a receipt. Screenshots of the form and the
 * status page are kept under docs/screenshots/ (the README shows them). No page runs a script.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { freshEmail, mailedRequestId, startE2eRuntime, verificationLink, type E2eRuntime } from '../e2e/support';
import { chromiumAvailable, launchChromium, screenshotPath } from './chromium';

const available = chromiumAvailable();

describe.skipIf(!available)('the subject journey in Chromium', () => {
  let runtime: E2eRuntime;
  let browser: Browser;
  let page: Page;
  const consoleMessages: string[] = [];

  beforeAll(async () => {
    runtime = await startE2eRuntime();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on('console', (m) => consoleMessages.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleMessages.push(`pageerror: ${e.message}`));
  });
  afterAll(async () => {
    await browser?.close();
    await runtime?.close();
  });

  it('fills the form, follows the emailed link and sees COMPLETED with a receipt', async () => {
    const email = freshEmail('browser');
    await page.goto(`${runtime.url}/`);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBeTruthy();
    await page.getByLabel(/email/i).first().fill(email);
    await page.screenshot({ path: screenshotPath('form'), fullPage: true });
    await page.getByLabel(/email/i).first().fill('not-an-email');
    await page.getByRole('button', { name: /send my request/i }).click();
    // Shown again with a message, the input kept.
    expect(await page.locator('[aria-invalid="true"]').count()).toBeGreaterThan(0);

    await page.screenshot({ path: screenshotPath('form-errors'), fullPage: true });
    await page.getByLabel(/email/i).first().fill(email);
    await page.getByRole('button', { name: /send my request/i }).click();
    // The same landing page whatever the address: no request id, no status link in the browser.
    await page.waitForURL(`${runtime.url}/check-email`);
    expect(await page.textContent('h1')).toMatch(/check your email/i);
    await page.screenshot({ path: screenshotPath('check-email'), fullPage: true });
    const requestId = await mailedRequestId(runtime.url, email);

    // The subject opens the outbox page and clicks the link there, as in their mail client.
    await page.goto(`${runtime.url}/dev/outbox`);
    const link = await verificationLink(runtime.url, requestId);
    await page.locator(`a[href="${link}"]`).first().click();
    // The link opens a page that asks; only its button confirms (mail scanners open links too).
    await page.waitForURL(/\/verify\?token=/);
    expect(await page.textContent('h1')).toMatch(/confirm your erasure request/i);
    await page.screenshot({ path: screenshotPath('confirm'), fullPage: true });
    await page.getByRole('button', { name: /confirm and erase my data/i }).click();
    await page.waitForURL(new RegExp(`/requests/${requestId}\\?token=`));

    const until = Date.now() + 30_000;
    while (Date.now() < until && !/your data has been erased/i.test((await page.textContent('body')) ?? '')) {
      await page.waitForTimeout(500);
      await page.reload();
    }
    const body = (await page.textContent('body')) ?? '';
    expect(body).toMatch(/your data has been erased/i);
    expect(await page.locator('textarea.receipt').inputValue()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(body).not.toContain(email);
    await page.screenshot({ path: screenshotPath('status'), fullPage: true });
    // The one expected error: the browser logs the 422 of the invalid first submission.
    const errors = consoleMessages.filter((m) => (m.startsWith('error') || m.startsWith('pageerror')) && !/status of 422/.test(m));
    expect(errors).toEqual([]);
  });
});
