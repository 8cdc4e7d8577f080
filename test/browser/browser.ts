/**
 * Helpers for the console's browser tests: Debian's Chromium driven by
 * playwright-core (flags from ../shared/TOOLCHAIN.md, a fresh profile per
 * test), signing in through the console's own form, and screenshots of each
 * view at desktop and phone sizes in test/e2e/screenshots/ (git-ignored).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const SCREENSHOTS = resolve(import.meta.dirname, '..', 'e2e', 'screenshots');
export const DESKTOP = { width: 1280, height: 900 };
export const PHONE = { width: 375, height: 812 };

/** A position near the test orders' destination (1 Test Street, 51.5 / -0.12). */
export const DEVICE_POSITION = { latitude: 51.503, longitude: -0.115, accuracy: 12 };

export interface Browser {
  readonly context: BrowserContext;
  /** Unique per launch, so a test can find its own sockets in `GET /_local/connections`. */
  readonly userAgent: string;
  /** A new tab at desktop size that fails the test on any page error. */
  page(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Chromium with exactly the toolchain's flags plus a fresh temporary
 * `--user-data-dir` (playwright passes the profile directory it is given as
 * that flag), geolocation granted at a fixed position.
 */
export async function launch(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'waypost-chromium-'));
  const userAgent = `Mozilla/5.0 (X11; Linux x86_64) Chromium waypost-browser-test/${randomUUID()}`;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_FLAGS,
    viewport: DESKTOP,
    geolocation: DEVICE_POSITION,
    permissions: ['geolocation'],
    userAgent,
    timeout: 30_000,
  });
  const errors: string[] = [];
  return {
    context,
    userAgent,
    page: async () => {
      const page = await context.newPage();
      page.on('pageerror', (err) => errors.push(err.message));
      page.setDefaultTimeout(15_000);
      return page;
    },
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
      expect(errors, 'uncaught errors in the console pages').toEqual([]);
    },
  };
}

/** Sign in by pasting the token into the console's sign-in form. */
export async function signIn(page: Page, baseUrl: string, token: string, path = '/'): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.getByLabel('Token (JWT)').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await until(connection(page), 'Live');
}

/** Wait (up to the page's default timeout) until the locator shows `text`. */
export async function until(locator: Locator, text: string | RegExp): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor();
}

/** The connection line in the header ("Live", "Offline, 2 waiting", …). */
export function connection(page: Page) {
  return page.getByTestId('connection');
}

/** Save `<name>-desktop.png` and `<name>-phone.png` of the page as it is now. */
export async function screenshots(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const size = page.viewportSize() ?? DESKTOP;
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(size);
}
