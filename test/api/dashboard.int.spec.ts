import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type ApiServer } from './apiServer.ts';
import { seedHistory } from './fixtures.ts';

const CHROMIUM = '/usr/bin/chromium';

describe('the dashboard in a browser', () => {
  let api: ApiServer;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: \`apt-get install -y chromium\` provides it (CI installs it in .ci/run)`);
    api = await startApiServer();
    await seedHistory(api);
    profile = mkdtempSync(join(tmpdir(), 'fedlog-dashboard-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });
  afterAll(async () => {
    await context?.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
    await api?.close();
  });

  it('shows the session count and the net assets from the API, without console errors', async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));

    await page.goto(api.url + '/');
    await expect.poll(() => page.textContent('#session-count')).toBe('2');
    // Amounts with thousands separators, and in sats beside msat. The count is shown before the
    // sessions and the audit are fetched, so the net assets may come a moment later.
    await expect.poll(() => page.textContent('#net-assets')).toBe('1,000');
    expect(await page.textContent('#net-assets-btc')).toBe('1 sat');
    expect(await page.textContent('#open-session')).toBe('2');
    await expect.poll(() => page.locator('#sessions tbody tr').count()).toBe(2);
    expect(await page.locator('#history tbody tr').count()).toBe(2);
    expect(await page.locator('#audit tbody tr').allTextContents()).toEqual(['walletreserves10,00010 sat', 'mintoutstanding notes-9,000-9 sat']);
    expect(await page.locator('#projections tbody tr').count()).toBeGreaterThanOrEqual(6);
    expect(await page.textContent('#peers-connected')).toBe('alone');
    expect(await page.textContent('#status')).toMatch(/^updated /);
    // The chart library came from the guardian itself, and the charts hold the two sessions.
    expect(await page.evaluate('typeof Chart.getChart')).toBe('function');
    expect(await page.evaluate("Chart.getChart('chart-session-counts').data.datasets.map((d) => d.data)")).toEqual([
      [1, 1],
      [0, 1],
    ]);

    // It keeps polling: a new session shows up without a reload.
    await api.guardian.seal();
    await expect.poll(() => page.textContent('#session-count'), { timeout: 10_000 }).toBe('3');
    expect(errors).toEqual([]);
  });
});
