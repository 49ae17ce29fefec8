/**
 * The console beyond one server, in a real headless Chromium against a local stack with the demo fleet: dc and
 * cluster maintenance toggles with the budget's dry-run verdict, a rollout started from the form and followed
 * live to `succeeded` on the workflow's drawing, windows in two time zones, and the audit log's filters.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  screenshot,
  signIn,
  startConsoleStack,
  waitForCount,
  waitForText,
  type ConsoleStack,
} from '../support/browser.js';
import { until } from '../support/wait.js';

let stack: ConsoleStack;
let page: Page;

beforeAll(async () => {
  // The viewer is in New York; the window below is in Berlin.
  stack = await startConsoleStack('operations', { timezoneId: 'America/New_York' });
  page = stack.page;
  await signIn(page, stack.url, stack.user);
});

afterAll(async () => {
  await stack?.stop();
});

const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

async function openSection(name: 'Rollouts' | 'Windows' | 'Events', cluster: string): Promise<void> {
  await nav(name).click();
  await page.getByLabel('Cluster', { exact: true }).selectOption(cluster);
  await page.getByRole('heading', { level: 1, name: new RegExp(`of ${cluster}$`) }).waitFor();
}

describe('the console: dcs, clusters, rollouts, windows, events', () => {
  it('dc and cluster toggles show the budget verdict from the API dry run before confirming', async () => {
    await nav('Dashboard').click();
    await page.getByRole('navigation', { name: 'Dashboard tabs' }).getByRole('link', { name: 'Clusters' }).click();
    const cassandra = page.getByRole('region', { name: /demo-cassandra/ });
    const dialog = page.getByRole('dialog');

    await cassandra.getByRole('button', { name: 'Set dc dc1 maintenance' }).click();
    await waitForText(
      dialog.locator('.verdict'),
      'Allowed by the budget. Newly unavailable: cassandra-dc1-0, cassandra-dc1-1, cassandra-dc1-2.',
    );
    await screenshot(page, 'dc-maintenance-verdict.png');
    await dialog.getByLabel('Reason').fill('rack swap');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await waitForCount(dialog, 0);
    await waitForText(cassandra.getByRole('row', { name: /^dc1/ }), 'on (manual)');

    // A second dc: the API's own refusal, and no way to confirm it.
    const dry = await stack.admin.ok<{ verdict: { allowed: boolean; reason: string } }>(
      'PUT',
      '/v1/clusters/demo-cassandra/dcs/dc2/maintenance',
      { dryRun: true },
    );
    expect(dry.verdict.allowed).toBe(false);
    await cassandra.getByRole('button', { name: 'Set dc dc2 maintenance' }).click();
    await waitForText(dialog.locator('.verdict'), `Refused: ${dry.verdict.reason}`);
    expect(await dialog.getByRole('button', { name: 'Confirm' }).isDisabled()).toBe(true);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await waitForCount(dialog, 0);

    await cassandra.getByRole('button', { name: 'Clear dc dc1 maintenance' }).click();
    await waitForText(dialog.locator('.verdict'), /Allowed|Nothing would change/);
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await waitForText(cassandra.getByRole('row', { name: /^dc1/ }), /off/);

    await cassandra.getByRole('button', { name: 'Set cluster maintenance' }).click();
    await waitForText(dialog.locator('.verdict'), 'Allowed.');
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await waitForText(cassandra, 'Cluster maintenance (automation paused): on');
    expect((await stack.admin.ok<{ paused: boolean }>('GET', '/v1/clusters/demo-cassandra/maintenance')).paused).toBe(
      true,
    );
    await cassandra.getByRole('button', { name: 'Clear cluster maintenance' }).click();
    await dialog.getByRole('button', { name: 'Confirm' }).click();
    await waitForText(cassandra, 'Cluster maintenance (automation paused): off');
  });

  it("a rollout started from the form (a canary, resumed) reaches succeeded with every server's step shown on the drawing", async () => {
    await openSection('Rollouts', 'demo-mariadb');
    await page.getByLabel('Target version').fill('10.11.7');
    await page.getByLabel('Batch size').fill('1');
    await page.getByLabel('Drain timeout (s)').fill('60');
    await page.getByLabel('Stable for (s) before clearing').fill('2');
    expect(await page.getByLabel('Upgrade kind').inputValue()).toBe('wait-for-report');
    await page.getByLabel('Canary: pause after the first batch').check();
    await page.getByRole('button', { name: 'Start rollout' }).click();
    await page.getByRole('heading', { level: 1, name: /^Rollout / }).waitFor();

    const status = page.getByTestId('rollout-status');
    const nodeNow = page.getByTestId('Node-now');
    // Running: a server in a step past Begin, highlighted on the node workflow's drawing.
    await waitForText(nodeNow, /(Drain|WaitDrained|Maintain|WaitUpgraded|Verify|Clear) \(db\d/, 30_000);
    expect(await page.locator('figure g[data-state="RunBatch"]').getAttribute('data-current')).toBe('true');
    await screenshot(page, 'rollout-running.png');

    // The canary pauses after the first batch; Resume carries on.
    await waitForText(status, 'paused', 60_000);
    await page.getByRole('button', { name: 'Resume' }).click();
    await waitForText(status, 'succeeded', 90_000);

    for (const server of ['db1', 'db2', 'db3']) {
      const row = page.locator(`tr[data-server="${server}"]`);
      expect(await row.locator('[data-field="step"]').textContent()).toBe('done');
      expect(await row.locator('[data-field="outcome"]').textContent()).toBe('upgraded');
    }
    expect(await page.locator('figure g[data-state="Done"]').getAttribute('data-current')).toBe('true');
    expect((await page.locator('figure g[data-state="Done"] text.servers').textContent())!.split(', ').sort()).toEqual([
      'db1',
      'db2',
      'db3',
    ]);
    expect(await page.locator('figure g[data-state="Succeeded"]').getAttribute('data-current')).toBe('true');
    expect(await page.locator('figure g[data-current="true"]').count()).toBe(2);
    const id = (await page.getByRole('heading', { level: 1 }).textContent())!.replace('Rollout ', '');
    expect((await stack.admin.ok<{ status: string }>('GET', `/v1/clusters/demo-mariadb/rollouts/${id}`)).status).toBe(
      'succeeded',
    );
  }, 180_000);

  it('abort asks first, then stops a running rollout at its next step', async () => {
    await openSection('Rollouts', 'demo-mariadb');
    await page.getByLabel('Target version').fill('10.11.8');
    await page.getByLabel('Stable for (s) before clearing').fill('30');
    await page.getByRole('button', { name: 'Start rollout' }).click();
    await page.getByRole('heading', { level: 1, name: /^Rollout / }).waitFor();
    const status = page.getByTestId('rollout-status');
    await waitForText(status, 'running');
    await page.getByRole('button', { name: 'Abort', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: /^Abort rollout/ });
    await dialog.getByRole('button', { name: 'Abort rollout' }).click();
    await waitForCount(dialog, 0);
    const id = (await page.getByRole('heading', { level: 1 }).textContent())!.replace('Rollout ', '');
    await waitForText(status, /^aborted/, 60_000).catch(async (error: Error) => {
      const rollout = await stack.admin.ok<{ status: string; failure?: unknown }>(
        'GET',
        `/v1/clusters/demo-mariadb/rollouts/${id}`,
      );
      throw new Error(`${error.message}; the rollout: ${rollout.status} ${JSON.stringify(rollout.failure ?? null)}`);
    });
    expect(await page.getByRole('button', { name: 'Resume' }).isEnabled()).toBe(true);
  }, 90_000);

  it("windows: created, listed with the next occurrences in the window's zone and the viewer's, deleted", async () => {
    await openSection('Windows', 'demo-greptime');
    await page.getByLabel('Name').fill('sunday-patch');
    await page.getByLabel(/^Schedule/).fill('cron(30 2 ? * SUN *)');
    await page.getByLabel('Time zone').fill('Europe/Berlin');
    await page.getByLabel(/^Duration/).fill('PT2H');
    await page.getByLabel(/^Servers/).fill('datanode-0');
    await page.getByRole('button', { name: 'Create window' }).click();
    const row = page.locator('tr[data-window="sunday-patch"]');
    await row.waitFor();
    await screenshot(page, 'windows.png');
    // A wide table scrolls in its own box; the page itself is no wider than the window.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(
      0,
    );
    const cells = await row.locator('td').allTextContents();
    // Sunday 02:30 in Berlin (+01:00 in winter) is Saturday 20:30 in New York (EST).
    expect(cells[4]).toMatch(/^(\d{4}-\d\d-\d\dT02:30:00\+01:00){3}$/);
    expect(cells[5]).toMatch(/8:30:00\sPM EST/);
    expect(cells[5]!.match(/EST/g)).toHaveLength(3);
    await page.getByRole('button', { name: 'Delete sunday-patch' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await waitForCount(row, 0);
    expect((await stack.admin.ok<{ windows: unknown[] }>('GET', '/v1/clusters/demo-greptime/windows')).windows).toEqual(
      [],
    );
  });

  it('events: the audit log newest first, filtered by server and by action', async () => {
    await openSection('Events', 'demo-mariadb');
    const rows = page.locator('tbody tr[data-action]');
    await rows.first().waitFor();
    const revisions = (await rows.locator('td:nth-child(7)').allTextContents()).map(Number);
    expect(revisions.length).toBeGreaterThan(5);
    expect([...revisions].sort((a, b) => b - a)).toEqual(revisions);

    await page.getByLabel('Server').selectOption('db2');
    await until(
      'only db2',
      async () => rows.locator('td:nth-child(3)').allTextContents(),
      (t) => t.length > 0 && t.every((x) => x === 'server:db2'),
    );
    const action = (await rows.first().getAttribute('data-action'))!;
    await page.getByLabel('Action').fill(action);
    await until(
      `only ${action} on db2`,
      async () => rows.evaluateAll((r) => r.map((x) => x.getAttribute('data-action'))),
      (a) => a.length > 0 && a.every((x) => x === action),
    );
    await screenshot(page, 'events.png');
    const api = await stack.admin.ok<{ events: unknown[] }>(
      'GET',
      `/v1/clusters/demo-mariadb/events?server=db2&action=${action}&limit=50`,
    );
    expect(await rows.count()).toBe(api.events.length);
  });

  it('raised no script error in the page', () => {
    expect(stack.pageErrors).toEqual([]);
  });
});
