/**
 * Debian's Chromium driven by playwright-core (a test tool's own browser download cannot work
 * here). Where Chromium is absent the browser suite says so loudly and is skipped — except under
 * CI, where its absence fails the run, so this suite can never be skipped silently.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = join(import.meta.dirname, '..', '..');
/**
 * Screenshots are test artifacts under test-results/screenshots/; with UPDATE_SCREENSHOTS=1 they
 * replace the ones the README shows (docs/screenshots/), so a plain test run leaves the tree clean.
 */
export const SCREENSHOT_DIR = process.env.UPDATE_SCREENSHOTS ? join(ROOT, 'docs', 'screenshots') : join(ROOT, 'test-results', 'screenshots');

/** True when the browser suite can run here; false (after a loud warning) when it must be skipped. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  if (process.env.CI) throw new Error(`Chromium is missing at ${CHROMIUM_PATH}: CI must install it (apt-get install chromium); the browser tests may not be skipped under CI.`);
  console.warn(`\n*** BROWSER TESTS SKIPPED: no Chromium at ${CHROMIUM_PATH}. Install Debian's chromium (apt-get install chromium) to run them. ***\n`);
  return false;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Where a screenshot of the named page goes (see SCREENSHOT_DIR). */
export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return join(SCREENSHOT_DIR, `${name}.png`);
}
