/**
 * The browser tier: the console built from source into a folder of its own, a local stack (`tsx bin/local.ts
 * --demo`) serving it over the run's DynamoDB Local, and a real headless Chromium driven by playwright-core.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { inject } from 'vitest';
import { freePort } from '../../local/dynamodb.js';
import { apiClient, type ApiClient } from './api-client.js';
import { startLocal, stopLocal, type LocalProcess } from './processes.js';
import { until } from './wait.js';

export const CHROMIUM = '/usr/bin/chromium';
export const OUTPUT = join(process.cwd(), 'test-output');

export interface ConsoleStack {
  local: LocalProcess;
  url: string;
  admin: ApiClient;
  /** An operator's token made for the browser (the admin's is printed at start-up by design). */
  user: { name: string; token: string };
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Every URL the browser asked for. */
  requested: string[];
  /** Every answer the browser got: its URL, status and the If-None-Match it was asked with. */
  answered: { url: string; status: number; ifNoneMatch: string | undefined }[];
  /** Uncaught errors and console errors in the page (a 401 the app handles is logged by Chromium too). */
  pageErrors: string[];
  stop(): Promise<void>;
}

/**
 * `vite build` of console/ into `outDir` (a second or two; the test serves exactly the source it runs against).
 * Vite refuses a second build of the project while one runs (another test file's): wait for it and try again.
 */
async function buildConsole(outDir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const run = spawnSync(
      join(process.cwd(), 'node_modules/.bin/vite'),
      ['build', '--config', 'console/vite.config.ts', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'],
      { encoding: 'utf8' },
    );
    if (run.status === 0) return;
    const busy = /another Vite build process/.test(`${run.stdout}${run.stderr}`);
    if (!busy || attempt >= 60) throw new Error(`console build failed (${run.status}): ${run.stdout}\n${run.stderr}`);
    await sleep(500);
  }
}

/** `timezoneId`: the browser's own zone (the viewer's), to tell it from a window's. */
export async function startConsoleStack(name: string, options: { timezoneId?: string } = {}): Promise<ConsoleStack> {
  if (!existsSync(CHROMIUM))
    throw new Error(`the browser tests need ${CHROMIUM}: sudo apt-get install -y chromium (.ci/run does it)`);
  const work = mkdtempSync(join(tmpdir(), `maintctl-${name}-`));
  const dist = join(work, 'dist');
  await buildConsole(dist);
  mkdirSync(OUTPUT, { recursive: true });
  const adminToken = `mct_${randomBytes(24).toString('hex')}`;
  const local = await startLocal({
    port: await freePort(),
    args: [
      '--dynamodb-endpoint',
      inject('dynamodbEndpoint'),
      '--table',
      `console-${name}-${randomBytes(4).toString('hex')}`,
      '--data',
      work,
      '--demo',
      '--poll-interval',
      '0.5',
    ],
    adminToken,
    timeoutMs: 60_000,
    stopOnTimeout: true,
    env: { MAINTCTL_CONSOLE_DIR: dist },
  });
  // It answers health before the demo fleet is registered; the banner comes after.
  await until(
    'the start-up banner',
    async () => local.output(),
    (out) => out.includes('Ctrl-C stops it.'),
    30_000,
  );
  const admin = apiClient({ url: local.url, token: adminToken });
  const created = await admin.ok<{ token: string }>('POST', '/v1/tokens', {
    user: `${name}-operator`,
    role: 'operator',
  });
  type Servers = { servers: { health: string }[] };
  for (const cluster of ['demo-mariadb', 'demo-cassandra', 'demo-greptime']) {
    await until(
      `${cluster} reported`,
      () => admin.ok<Servers>('GET', `/v1/clusters/${cluster}/servers`),
      (b) => b.servers.length > 0 && b.servers.every((s) => s.health === 'running'),
    );
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const context = await browser.newContext({
    viewport: { width: 1280, height: 860 },
    ...(options.timezoneId && { timezoneId: options.timezoneId }),
  });
  const requested: string[] = [];
  context.on('request', (r) => requested.push(r.url()));
  const answered: ConsoleStack['answered'] = [];
  context.on('response', (r) =>
    answered.push({ url: r.url(), status: r.status(), ifNoneMatch: r.request().headers()['if-none-match'] }),
  );
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  return {
    local,
    url: local.url,
    admin,
    user: { name: `${name}-operator`, token: created.token },
    browser,
    context,
    page,
    requested,
    answered,
    pageErrors,
    async stop() {
      await browser.close().catch(() => undefined);
      await stopLocal(local);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Seed step 3: the login form, with the user and the token. */
export async function signIn(page: Page, url: string, user: { name: string; token: string }): Promise<void> {
  await page.goto(`${url}/`);
  await page.getByLabel('User').fill(user.name);
  await page.getByLabel('Token').fill(user.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
}

export const screenshot = (page: Page, file: string) => page.screenshot({ path: join(OUTPUT, file), fullPage: true });

/** The text of every element the locator matches now, joined (no waiting). */
const textNow = async (locator: Locator) => (await locator.allTextContents()).join(' | ');

/** Waits until the locator's text matches; returns it (playwright-core has no web-first assertions). */
export async function waitForText(locator: Locator, pattern: RegExp | string, timeoutMs = 10_000): Promise<string> {
  const matches = (text: string) => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
  return until(`text ${pattern} in ${locator}`, () => textNow(locator), matches, timeoutMs);
}

/** Waits until the locator matches `count` elements. */
export async function waitForCount(locator: Locator, count: number, timeoutMs = 10_000): Promise<void> {
  await until(
    `${count} of ${locator}`,
    () => locator.count(),
    (n) => n === count,
    timeoutMs,
  );
}
