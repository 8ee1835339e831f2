import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVerify, type VerifyOptions } from '../../src/cli/verifyCommand.ts';
import { itemRows, resign, setData, tamper, writeDataDir, type VerifyFixture } from './verifyFixture.ts';

const CHROMIUM = '/usr/bin/chromium';
const SESSIONS = 4;

async function verify(options: VerifyOptions) {
  const warnings: string[] = [];
  const result = await runVerify({ progress: false, workers: 1, print: () => {}, warn: (l) => warnings.push(l), ...options });
  return { ...result, warnings };
}

/** The first transaction of `session` gets an invalid signature, and a dishonest guardian re-signs the outcome. */
function forgeTransactionSignature(fixture: VerifyFixture, session: number): number {
  let tamperedIndex = -1;
  tamper(fixture.dir, (db) => {
    const rows = itemRows(db, session);
    tamperedIndex = rows.findIndex((row) => (JSON.parse(row.data) as { item: string }).item.startsWith('00'));
    const row = rows[tamperedIndex]!;
    const data = JSON.parse(row.data) as { item: string };
    data.item = data.item.slice(0, -2) + (data.item.endsWith('ff') ? '00' : 'ff');
    setData(db, row.rowid, data);
    resign(db, session, fixture.keychain);
  });
  return tamperedIndex;
}

describe('fedlog verify --report audit.html, opened offline in Chromium', () => {
  let clean: VerifyFixture;
  let forged: VerifyFixture;
  let context: BrowserContext;
  let profile: string;
  /** Every request the pages tried beyond their own file (each is refused). */
  const requests: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: \`apt-get install -y chromium\` provides it (CI installs it in .ci/run)`);
    [clean, forged] = await Promise.all([writeDataDir(SESSIONS, 30, 5), writeDataDir(3, 30, 11)]);
    profile = mkdtempSync(join(tmpdir(), 'fedlog-audit-report-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      offline: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    await context.route('**/*', async (route) => {
      if (route.request().url().startsWith('file:')) return route.continue();
      requests.push(route.request().url());
      return route.abort();
    });
  });
  afterAll(async () => {
    await context?.close();
    for (const dir of [profile, clean?.dir, forged?.dir]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function open(file: string): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(file).href);
    return { page, errors };
  }

  it('shows the federation, the pinned keys, one line per session and the balance sheet chart with every session', async () => {
    const file = join(clean.dir, 'audit.html');
    const { exitCode, report } = await verify({ data: clean.dir, keys: clean.keysFile, report: file });
    expect(exitCode).toBe(0);
    const html = readFileSync(file, 'utf8');
    // Self-contained: no script, style sheet or image from elsewhere (chart.js's own comments name its site).
    expect(html).not.toMatch(/<(script|img|iframe)[^>]+src=|<link[^>]+href=/);

    const { page, errors } = await open(file);
    expect(await page.textContent('#verdict')).toMatch(/^Verified: every header and signature set holds, every item is accepted/);
    expect(await page.textContent('#keys-origin')).toContain(`pinned by the auditor from ${clean.keysFile}`);
    expect(await page.locator('#keys tbody tr').allTextContents()).toEqual([`0${report!.keys.peers['0']}`]);
    expect(await page.textContent('#federation')).toMatch(/guardians\s*1, threshold 1/);
    expect(await page.locator('#sessions tbody tr').count()).toBe(SESSIONS);
    expect(await page.textContent('#no-findings')).toBe('No findings.');

    // The chart was drawn by the inlined chart.js, from every session's sheet: each module line and net assets.
    const datasets = (await page.evaluate(
      "Chart.getChart('balance-chart').data.datasets.map((d) => ({ label: d.label, x: d.data.map((p) => p.x), y: d.data.map((p) => p.y) }))",
    )) as Array<{ label: string; x: number[]; y: number[] }>;
    expect(datasets.map((d) => d.label)).toEqual(['wallet: reserves', 'mint: outstanding notes', 'net assets']);
    for (const d of datasets) expect(d.x).toEqual([0, 1, 2, 3]);
    expect(datasets[2]!.y).toEqual(report!.sessions.map((s) => Number(s.balanceSheet!.netAssets)));
    expect(datasets[0]!.y.some((y) => y > 0)).toBe(true);
    // Something was painted on the canvas: not every pixel is transparent.
    const painted = await page.evaluate(`(() => {
      const canvas = document.getElementById('balance-chart');
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) n++;
      return n;
    })()`);
    expect(painted).toBeGreaterThan(1000);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('lists every finding with its session and item, linked to the session line, and says the keys came from the source', async () => {
    const tamperedIndex = forgeTransactionSignature(forged, 1);
    const file = join(forged.dir, 'report.out');
    const { exitCode, report } = await verify({ data: forged.dir, report: file, format: 'html' });
    expect(exitCode).toBe(1);
    // Chromium offers a .out file for download rather than showing it: the same bytes, named .html.
    copyFileSync(file, join(forged.dir, 'report.html'));
    const { page, errors } = await open(join(forged.dir, 'report.html'));
    expect(await page.textContent('#verdict')).toBe(`FAILED: ${report!.findings.length} finding(s) (sessions 0 to 2 of 3 completed)`);
    expect(await page.textContent('#keys-origin')).toContain('taken from the source itself');
    const rows = page.locator('#findings tbody tr');
    expect(await rows.count()).toBe(report!.findings.length);
    const first = await rows.first().locator('td').allTextContents();
    expect(first.slice(0, 3)).toEqual(['item', '1', String(tamperedIndex)]);
    expect(first[3]).toMatch(/invalid signature \(txid [0-9a-f]{64}\)/);
    expect(await rows.first().locator('a').getAttribute('href')).toBe('#session-1');
    expect(await page.locator('#session-1 td').last().textContent()).not.toBe('0');
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('writes JSON for any other file name, and refuses --format without --report', async () => {
    const file = join(clean.dir, 'audit.json');
    expect((await verify({ data: clean.dir, report: file })).exitCode).toBe(0);
    expect((JSON.parse(readFileSync(file, 'utf8')) as { ok: boolean }).ok).toBe(true);
    const { exitCode, warnings } = await verify({ data: clean.dir, format: 'html' });
    expect(exitCode).toBe(2);
    expect(warnings.join('\n')).toMatch(/--format chooses the format of --report/);
  });
});
