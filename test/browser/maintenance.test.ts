/**
 * MaxGUI's maintenance flow (seed 001, steps 3–9) in the console, in a real headless Chromium against a local
 * stack with the demo fleet and its simulated agents: replica, forced primary, graceful primary (Draining, then
 * Maintenance), a budget refusal, the keyboard alone, sign-out on a 401, and no token in URLs or logs.
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
  stack = await startConsoleStack('maintenance');
  page = stack.page;
  await signIn(page, stack.url, stack.user);
});

afterAll(async () => {
  await stack?.stop();
});

type ServerJson = {
  name: string;
  state: string;
  connections?: number;
  openTransactions?: number;
  version?: string;
  claims: unknown[];
};
const apiServer = async (name: string) =>
  (await stack.admin.ok<{ servers: ServerJson[] }>('GET', '/v1/clusters/demo-mariadb/servers')).servers.find(
    (s) => s.name === name,
  )!;

/** The State column of a server on the dashboard's Servers tab, or the State field on its page. */
const stateCell = (server: string) =>
  page.locator(`section[aria-labelledby="servers-demo-mariadb"] tr[data-server="${server}"] td.state`);
const stateField = () => page.locator('dd[data-field="State"]');

/** Seed steps 4–7: the Servers tab, the server, the gear, the pause icon. */
async function openMaintenanceDialog(server: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
  expect(
    await page
      .getByRole('navigation', { name: 'Dashboard tabs' })
      .getByRole('link', { name: 'Servers' })
      .getAttribute('aria-current'),
  ).toBe('page');
  await page
    .getByRole('region', { name: /demo-mariadb/ })
    .getByRole('link', { name: server, exact: true })
    .click();
  await page.getByRole('heading', { level: 1, name: server }).waitFor();
  await page.getByRole('button', { name: `Options for ${server}` }).click();
  await page.getByRole('button', { name: 'Set maintenance' }).click();
  await page.getByRole('dialog', { name: `Set ${server} to maintenance` }).waitFor();
}

/** Clears the user's maintenance from the same menu, and waits until the API says no one holds the server. */
async function clearFromMenu(server: string): Promise<void> {
  await page.getByRole('button', { name: `Options for ${server}` }).click();
  await page.getByRole('button', { name: 'Clear maintenance' }).click();
  await until(
    `${server} cleared`,
    () => apiServer(server),
    (s) => s.claims.length === 0 && !/Maintenance|Draining/.test(s.state),
  );
}

/** Every distinct text the State field shows until it matches `done`. */
async function statesUntil(done: RegExp, timeoutMs = 20_000): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await stateField().textContent()) ?? '';
    if (seen.at(-1) !== text) seen.push(text);
    if (done.test(text)) return seen;
    if (Date.now() > deadline) throw new Error(`the State never matched ${done}: saw ${JSON.stringify(seen)}`);
    await page.waitForTimeout(50);
  }
}

describe('the console: server maintenance (seed 001)', () => {
  it('steps 3–9 for a replica: login, the Servers tab by default, the server, gear, pause, Maintain → Maintenance', async () => {
    expect(
      await page
        .getByRole('navigation', { name: 'Dashboard tabs' })
        .getByRole('link', { name: 'Servers' })
        .getAttribute('aria-current'),
    ).toBe('page');
    const columns = page.getByRole('region', { name: /demo-mariadb/ }).getByRole('columnheader');
    const headers = await until(
      'the columns of demo-mariadb',
      () => columns.allTextContents(),
      (h) => h.length > 0,
    );
    expect(headers.map((h) => h.trim())).toEqual([
      'Server',
      'Address',
      'Port',
      'Connections',
      'State',
      'DC',
      'Role',
      'Version',
      'Budget in use',
    ]);
    await screenshot(page, 'dashboard.png');
    await openMaintenanceDialog('db2');
    await page.getByLabel('Reason').fill('kernel update');
    await page.getByLabel(/TTL/).fill('2h');
    await screenshot(page, 'maintenance-dialog.png');
    await page.getByRole('button', { name: 'Maintain' }).click();
    await waitForCount(page.getByRole('dialog'), 0);
    await waitForText(stateField(), 'Maintenance');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    await waitForText(stateCell('db2'), 'Maintenance');
    expect((await apiServer('db2')).state).toMatch(/^Maintenance/);
  });

  it('a budget refusal shows the API message and changes nothing', async () => {
    // The API's own reason, from its dry run (which changes nothing).
    const dry = await stack.admin.ok<{ verdict: { allowed: boolean; reason: string } }>(
      'PUT',
      '/v1/clusters/demo-mariadb/servers/db3/maintenance',
      { dryRun: true },
    );
    expect(dry.verdict.allowed).toBe(false);
    const message = dry.verdict.reason;
    await openMaintenanceDialog('db3');
    await page.getByRole('button', { name: 'Maintain' }).click();
    const alert = page.getByRole('dialog').getByRole('alert');
    await waitForText(alert, message);
    await waitForText(alert, '409 BudgetExceeded');
    await page.keyboard.press('Escape');
    await waitForCount(page.getByRole('dialog'), 0);
    expect((await apiServer('db3')).claims).toEqual([]);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    await page
      .getByRole('region', { name: /demo-mariadb/ })
      .getByRole('link', { name: 'db2', exact: true })
      .click();
    await clearFromMenu('db2');
    await waitForText(stateField(), /^(?!.*Maintenance)/);
  });

  it('the primary with "Force closing": Maintenance at once, never Draining', async () => {
    await openMaintenanceDialog('db1');
    await page.getByLabel('Force closing').check();
    await page.getByRole('button', { name: 'Maintain' }).click();
    await waitForCount(page.getByRole('dialog'), 0);
    const seen = await statesUntil(/Maintenance/);
    expect(seen.filter((s) => /Draining/.test(s))).toEqual([]);
    expect((await apiServer('db1')).state).toMatch(/^Maintenance/);
    await clearFromMenu('db1');
  });

  it('the primary without force: Draining while its transactions finish, then Maintenance', async () => {
    // The demo agent reports the primary's open transactions; a graceful claim waits for them.
    const before = await until(
      'db1 has open transactions',
      () => apiServer('db1'),
      (s) => (s.openTransactions ?? 0) > 0 && s.claims.length === 0,
    );
    // A long transaction, reported as the primary's agent would, until the page has shown Draining (the demo
    // agent alone finishes the drain in a tick or two, which a loaded machine's page may not poll in time); then
    // none, until the page shows Maintenance (the demo agent counts down from what it last read, and a tick that
    // read the 50 before the last report would write 48 over it).
    const report = (openTransactions: number) =>
      stack.admin.call('PUT', '/v1/clusters/demo-mariadb/servers/db1/status', {
        health: 'running',
        role: 'primary',
        connections: before.connections ?? 10,
        openTransactions,
        ...(before.version && { version: before.version }),
      });
    let open: number | undefined = 50;
    const hold = (async () => {
      while (open !== undefined) await Promise.all([report(open), page.waitForTimeout(250)]);
    })();
    try {
      await openMaintenanceDialog('db1');
      await page.getByRole('button', { name: 'Maintain' }).click();
      await waitForCount(page.getByRole('dialog'), 0);
      const draining = await statesUntil(/^Draining, Master/);
      open = 0;
      const seen = [...draining, ...(await statesUntil(/^Maintenance/))];
      open = undefined;
      await hold;
      expect(
        seen.some((s) => /^Draining, Master/.test(s)),
        JSON.stringify(seen),
      ).toBe(true);
      expect(seen.at(-1)).toMatch(/^Maintenance/);
      await clearFromMenu('db1');
    } finally {
      open = undefined;
      await hold;
      // Whatever happened above, the next test starts with db1 out of maintenance.
      await stack.admin.call('DELETE', '/v1/clusters/demo-mariadb/servers/db1/maintenance');
    }
  });

  it('the keyboard alone reaches every control of the flow and completes it; dialogs trap focus, Escape closes and returns focus', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    // The focused element as `tag:accessible text` (the script runs in the page, hence a string).
    const focused = () =>
      page.evaluate<string>(`(() => {
        const el = document.activeElement;
        if (!el) return '';
        const name = el.getAttribute('aria-label') ?? el.labels?.[0]?.textContent?.trim() ?? el.textContent?.trim();
        return el.tagName.toLowerCase() + ':' + name;
      })()`);
    /** Focus moves in the page's own time (a render, an effect): wait for it, briefly. */
    const expectFocus = async (target: string) =>
      expect(await until(`focus on ${target}`, focused, (f) => f === target, 2000)).toBe(target);
    /** Tab until `target` has focus (at most `limit` presses); returns the presses. */
    const tabTo = async (target: string, limit = 80) => {
      for (let i = 1; i <= limit; i++) {
        await page.keyboard.press('Tab');
        if ((await focused()) === target) return i;
      }
      throw new Error(`Tab never reached ${target}`);
    };
    await page.evaluate('document.activeElement?.blur()');
    await tabTo('a:db2');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'db2' }).waitFor();
    await tabTo('button:Options for db2');
    await page.keyboard.press('Enter');
    await expectFocus('button:Set maintenance');
    await page.keyboard.press('Tab');
    await expectFocus('button:Clear maintenance');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await expectFocus('input:Reason');
    // Every control of the dialog in order, and Tab wraps inside it.
    const order: string[] = [await focused()];
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      order.push(await focused());
    }
    expect(order).toEqual([
      'input:Reason',
      'input:TTL (optional, e.g. 2h or seconds)',
      'input:Force closing',
      'button:Cancel',
      'button:Maintain',
      'input:Reason',
    ]);
    await page.keyboard.press('Escape');
    await waitForCount(page.getByRole('dialog'), 0);
    await expectFocus('button:Options for db2');
    // Again, to the end: gear, pause, a reason, Maintain.
    await page.keyboard.press('Enter');
    await expectFocus('button:Set maintenance');
    await page.keyboard.press('Enter');
    await expectFocus('input:Reason');
    await page.keyboard.type('keyboard only');
    await tabTo('button:Maintain', 5);
    await page.keyboard.press('Enter');
    await waitForCount(page.getByRole('dialog'), 0);
    await waitForText(stateField(), 'Maintenance');
    expect((await apiServer('db2')).claims).toEqual([expect.objectContaining({ reason: 'keyboard only' })]);
    // Clearing, by keyboard too.
    await tabTo('button:Options for db2');
    await page.keyboard.press('Enter');
    await expectFocus('button:Set maintenance');
    await page.keyboard.press('Tab');
    await expectFocus('button:Clear maintenance');
    await page.keyboard.press('Enter');
    await until(
      'db2 cleared',
      () => apiServer('db2'),
      (s) => s.claims.length === 0,
    );
  });

  it('a 401 from the API (the token revoked) returns to the login form', async () => {
    const { id, token } = await stack.admin.ok<{ id: string; token: string }>('POST', '/v1/tokens', {
      user: 'short-lived',
      role: 'viewer',
    });
    const other = await stack.context.newPage();
    try {
      // The user must be the token's: another name with it is refused, and the form stays.
      await other.goto(`${stack.url}/console/`);
      await other.getByLabel('User').fill('someone-else');
      await other.getByLabel('Token').fill(token);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await waitForText(other.getByRole('alert'), 'That user and token were not accepted.');
      expect(await other.evaluate(() => sessionStorage.length)).toBe(0);
      await signIn(other, stack.url, { name: 'short-lived', token });
      await stack.admin.ok('DELETE', `/v1/tokens/${id}`);
      // The dashboard's next poll is refused.
      await other.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 15_000 });
      await waitForText(other.getByRole('status'), 'Signed out');
      expect(await other.evaluate(() => sessionStorage.length)).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('polls the server lists with If-None-Match: an unchanged list is a 304', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    await waitForText(stateCell('db1'), 'Running');
    const from = stack.answered.length;
    // Nothing changes demo-greptime here: its agent's routine reports leave the list's ETag as it is.
    await page.waitForTimeout(3500);
    const polls = stack.answered
      .slice(from)
      .filter((a) => new URL(a.url).pathname === '/v1/clusters/demo-greptime/servers');
    expect(polls.length).toBeGreaterThanOrEqual(3);
    // The one unconditional read the window may hold is the page's first (or its read in whole every 10 s).
    expect(polls.filter((a) => a.ifNoneMatch === undefined).length).toBeLessThanOrEqual(1);
    expect(polls.filter((a) => a.status === 304).length).toBeGreaterThanOrEqual(2);
  });

  it('no token in any URL the browser asked for, nor in the server output after start-up', () => {
    expect(stack.requested.length).toBeGreaterThan(20);
    const basic = Buffer.from(`${stack.user.name}:${stack.user.token}`).toString('base64');
    for (const url of stack.requested) {
      expect(url).not.toContain(stack.user.token);
      expect(url).not.toContain(encodeURIComponent(basic));
      expect(url).not.toContain(basic);
    }
    expect(stack.local.output()).not.toContain(stack.user.token);
    expect(stack.local.output()).not.toContain(basic);
  });

  it('is readable on a phone: nothing wider than the screen but the tables, which scroll in place; the dialog fits', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
      await waitForText(stateCell('db1'), 'Running');
      const overflow = () => page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      expect(await overflow()).toBeLessThanOrEqual(0);
      await screenshot(page, 'dashboard-phone.png');
      await openMaintenanceDialog('db3');
      const box = (await page.getByRole('dialog').boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(390);
      expect(await overflow()).toBeLessThanOrEqual(0);
      await page.getByRole('button', { name: 'Cancel' }).click();
      await waitForCount(page.getByRole('dialog'), 0);
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
    }
  });

  it('raised no script error in the page (the refused calls are the only failed loads)', () => {
    expect(
      stack.pageErrors.filter((e) => !/^Failed to load resource: the server responded with a status of 409/.test(e)),
    ).toEqual([]);
  });
});
