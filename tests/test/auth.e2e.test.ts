/**
 * Accounts in the browser (AUTH=on): the real production web server + headless Chromium, each user in
 * their own browser context (own cookies). A signed-out visit lands on /sign-in and returns to the page it
 * asked for; a wrong password is refused on the form; the admin adds an engineer and a viewer; the viewer
 * sees the engineer actions disabled with "needs the engineer role" while the engineer does not; an API
 * token is shown once, works as `Authorization: Bearer` and stops working when revoked; sign out ends the
 * session. A second server without ADMIN_* is set up from the one-time code in its log.
 *
 * Set E2E_SCREENSHOTS=<folder> to keep screenshots of the sign-in, users and tokens pages.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppHandle, launchBrowser, startApp } from '../src/harness.ts';

const ADMIN = { username: 'boss', password: 'correct-horse-battery' };
const ENGINEER = { username: 'eng.anna', password: 'engineer-pass-1' };
const VIEWER = { username: 'view.otto', password: 'viewer-pass-123' };
const NEEDS_ENGINEER = 'needs the engineer role';

const SHOTS = process.env.E2E_SCREENSHOTS;

async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** The page's path and its `next` parameter: `{ path: '/sign-in', next: '/runs' }`. */
function where(page: Page): { path: string; next: string | null } {
  const u = new URL(page.url());
  return { path: u.pathname, next: u.searchParams.get('next') };
}

async function signIn(page: Page, who: { username: string; password: string }): Promise<void> {
  await page.getByLabel('Username', { exact: true }).fill(who.username);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** A fresh browser context (no cookies) signed in as `who`, on `path`. */
async function signedInPage(browser: Browser, app: AppHandle, who: { username: string; password: string }, target = '/') {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${app.url}${target}`);
  await page.waitForURL((u) => u.pathname === '/sign-in');
  await signIn(page, who);
  await page.waitForURL((u) => u.pathname !== '/sign-in');
  await page.getByTestId('user-name').filter({ hasText: who.username }).waitFor();
  return { context, page };
}

async function openUserMenu(page: Page): Promise<void> {
  await page.getByTestId('user-menu').getByRole('button').first().click();
}

/** GET /api/trpc/auth.me with an API token: the HTTP status and the user it names. */
async function meWithToken(app: AppHandle, token: string): Promise<{ status: number; username: string | null }> {
  const res = await fetch(`${app.url}/api/trpc/auth.me`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json().catch(() => ({}))) as { result?: { data?: { user?: { username: string } | null } } };
  return { status: res.status, username: body.result?.data?.user?.username ?? null };
}

describe('accounts in the browser (AUTH=on, first admin from ADMIN_USERNAME/ADMIN_PASSWORD)', () => {
  let app: AppHandle;
  let browser: Browser;
  let admin: { context: BrowserContext; page: Page };
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    app = await startApp({ env: { AUTH: 'on', ADMIN_USERNAME: ADMIN.username, ADMIN_PASSWORD: ADMIN.password } });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await app?.dispose();
  });

  it('sends a signed-out visit of / to /sign-in and shows a wrong password on the form', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(app.url);
    await page.waitForURL((u) => u.pathname === '/sign-in');
    // Signed out, the nav offers nothing that would bounce back here.
    await expect(page.getByRole('link', { name: 'Runs' }).count()).resolves.toBe(0);
    await shot(page, 'sign-in');

    await signIn(page, { username: ADMIN.username, password: 'not-the-password' });
    await page.getByTestId('sign-in-error').filter({ hasText: 'Wrong username or password' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    // The password field is cleared for the next try; the username stays.
    await expect(page.getByLabel('Password', { exact: true }).inputValue()).resolves.toBe('');
    await expect(page.getByLabel('Username', { exact: true }).inputValue()).resolves.toBe(ADMIN.username);
    await shot(page, 'sign-in-error');
  });

  it('signs the admin in and returns to the page that was asked for (?next=)', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${app.url}/runs`);
    await page.waitForURL((u) => u.pathname === '/sign-in');
    expect(where(page)).toEqual({ path: '/sign-in', next: '/runs' });
    await signIn(page, ADMIN);
    await page.waitForURL((u) => u.pathname === '/runs');
    await expect(page.getByTestId('user-role').textContent()).resolves.toBe('admin');
    admin = { context, page };
  });

  it('lets the admin add an engineer and a viewer on /admin/users', async () => {
    const { page } = admin;
    await openUserMenu(page);
    await page.getByRole('menuitem', { name: 'Users' }).click();
    await page.waitForURL((u) => u.pathname === '/admin/users');
    await page.locator('[data-testid="user-row"][data-username="boss"]').waitFor();

    // A short password is named before anything is sent.
    await page.getByLabel('Username', { exact: true }).fill('shorty');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByTestId('new-user-error').filter({ hasText: 'at least 10 characters' }).waitFor();

    for (const [who, role] of [
      [ENGINEER, 'engineer'],
      [VIEWER, 'viewer'],
    ] as const) {
      await page.getByLabel('Username', { exact: true }).fill(who.username);
      await page.getByLabel('Password', { exact: true }).fill(who.password);
      await page.getByLabel('Role', { exact: true }).selectOption(role);
      await page.getByRole('button', { name: 'Add user' }).click();
      const row = page.locator(`[data-testid="user-row"][data-username="${who.username}"]`);
      await row.waitFor();
      await expect(row.getByLabel(`Role of ${who.username}`).inputValue()).resolves.toBe(role);
    }
    await expect(page.getByTestId('user-row').count()).resolves.toBe(3);
    await shot(page, 'users');
  });

  it('shows a viewer the engineer actions disabled with "needs the engineer role"; an engineer gets them', async () => {
    const viewer = await signedInPage(browser, app, VIEWER);
    contexts.push(viewer.context);
    const { page } = viewer;
    await expect(page.getByTestId('user-role').textContent()).resolves.toBe('viewer');
    // No Users entry for a viewer.
    await openUserMenu(page);
    await page.getByRole('menuitem', { name: 'API tokens' }).waitFor();
    await expect(page.getByRole('menuitem', { name: 'Users' }).count()).resolves.toBe(0);
    await page.keyboard.press('Escape');

    // Open the seeded template in the editor the way a user would, from the home page.
    await page.getByRole('link', { name: 'Default transfer (MobileNetV2)' }).first().click();
    await page.locator('[data-testid="editor"][data-ready="true"]').waitFor({ timeout: 60_000 });
    const run = page.getByTestId('run-button');
    await page.getByTestId('view-only').waitFor();
    await expect(run.isDisabled()).resolves.toBe(true);
    await expect(run.getAttribute('title')).resolves.toBe(NEEDS_ENGINEER);
    for (const name of ['Save', 'Save as template version']) {
      const button = page.getByRole('button', { name, exact: true });
      await expect(button.isDisabled()).resolves.toBe(true);
      await expect(button.getAttribute('title')).resolves.toBe(NEEDS_ENGINEER);
    }
    await shot(page, 'viewer-editor');

    await page.goto(`${app.url}/datasets`);
    const upload = page.getByTestId('upload-start');
    // Who is signed in arrives a moment after the page: wait for the note, then the button agrees.
    await page.getByTestId('dataset-upload').getByText(`Uploading a dataset ${NEEDS_ENGINEER}`).waitFor();
    await expect(upload.getAttribute('title')).resolves.toBe(NEEDS_ENGINEER);
    await expect(upload.isDisabled()).resolves.toBe(true);
    await shot(page, 'viewer-datasets');

    // The engineer, same pages: enabled.
    const engineer = await signedInPage(browser, app, ENGINEER);
    contexts.push(engineer.context);
    await engineer.page.getByRole('link', { name: 'Default transfer (MobileNetV2)' }).first().click();
    await engineer.page.locator('[data-testid="editor"][data-ready="true"]').waitFor({ timeout: 60_000 });
    await expect(engineer.page.getByRole('button', { name: 'Save', exact: true }).isEnabled()).resolves.toBe(true);
    await expect(engineer.page.getByTestId('run-button').getAttribute('title')).resolves.not.toBe(NEEDS_ENGINEER);
    await expect(engineer.page.getByTestId('view-only').count()).resolves.toBe(0);
  });

  it('creates an API token shown once that works as Bearer, and refuses it once revoked', async () => {
    const { page } = admin;
    await openUserMenu(page);
    await page.getByRole('menuitem', { name: 'API tokens' }).click();
    await page.waitForURL((u) => u.pathname === '/settings/tokens');
    await page.getByText('No tokens yet').waitFor();

    await page.getByLabel('Name', { exact: true }).fill('nightly retrain');
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = page.getByTestId('new-token');
    await shown.getByText('you will not see it again').waitFor();
    const token = (await page.getByTestId('new-token-value').textContent()) ?? '';
    expect(token).toMatch(/^dft_[A-Za-z0-9_-]{20,}$/);
    const row = page.locator('[data-testid="token-row"][data-name="nightly retrain"]');
    await row.waitFor();
    // The list shows only the prefix, never the token.
    const rowText = (await row.textContent()) ?? '';
    expect(rowText).not.toContain(token);
    expect(rowText).toContain(token.slice(0, 8));
    await shot(page, 'tokens');

    await expect(meWithToken(app, token)).resolves.toEqual({ status: 200, username: ADMIN.username });
    const linesWithToken = () => fetch(`${app.url}/api/trpc/productLines.list`, { headers: { authorization: `Bearer ${token}` } });
    expect((await linesWithToken()).status).toBe(200);

    // Shown once: after a reload only the row is left.
    await page.reload();
    await row.waitFor();
    await expect(page.getByTestId('new-token').count()).resolves.toBe(0);
    await expect(page.content()).resolves.not.toContain(token);

    let asked = '';
    page.once('dialog', (d) => {
      asked = d.message();
      void d.accept();
    });
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.waitFor({ state: 'detached' });
    expect(asked).toContain('Revoke the token “nightly retrain”');
    // Revoked, the token is nobody: it no longer names the admin, and what needs a user answers 401.
    const after = await meWithToken(app, token);
    expect(after.username).toBeNull();
    expect((await linesWithToken()).status).toBe(401);
  });

  it('signs out back to /sign-in, and the pages need signing in again', async () => {
    const { page } = admin;
    await openUserMenu(page);
    await page.getByRole('menuitem', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.pathname === '/sign-in');
    await page.goto(`${app.url}/models`);
    await page.waitForURL((u) => u.pathname === '/sign-in');
    expect(where(page)).toEqual({ path: '/sign-in', next: '/models' });
  });
});

describe('first start without ADMIN_*: the setup code from the log creates the first admin on /setup', () => {
  let app: AppHandle;
  let browser: Browser;

  beforeAll(async () => {
    app = await startApp({ env: { AUTH: 'on' } });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.dispose();
  });

  it('sends the first visitor to /setup, refuses a wrong code, and signs the new admin in with the right one', async () => {
    const code = /setup code: (\S+)/.exec(app.logs())?.[1];
    expect(code, `no "setup code: …" line in the log:\n${app.logs().slice(-2000)}`).toBeTruthy();

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    try {
      await page.goto(app.url);
      await page.waitForURL((u) => u.pathname === '/setup');
      await page.getByLabel('Setup code').fill('WRONG-CODE-0000');
      await page.getByLabel('Admin username').fill('first.admin');
      await page.getByLabel('Password', { exact: true }).fill('first-admin-pass');
      await page.getByLabel('Password again').fill('first-admin-pass');
      await page.getByRole('button', { name: 'Create admin and sign in' }).click();
      await page.getByTestId('setup-error').waitFor();
      await shot(page, 'setup-error');

      await page.getByLabel('Setup code').fill(code ?? '');
      await page.getByRole('button', { name: 'Create admin and sign in' }).click();
      await page.waitForURL((u) => u.pathname === '/');
      await page.getByTestId('user-name').filter({ hasText: 'first.admin' }).waitFor();
      await expect(page.getByTestId('user-role').textContent()).resolves.toBe('admin');

      // The code worked once: the page now says so instead of asking again.
      await page.goto(`${app.url}/setup`);
      await page.getByTestId('setup-done').waitFor();
    } finally {
      await context.close();
    }
  });
});
