import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePortPair, repoRoot } from '../e2e/spawnGuardian.ts';

/**
 * The dashboard of a federation of four guardian processes (`fedlog dev`, mutual TLS, demo load),
 * in Debian's Chromium: every chart draws data from the running guardians, the session page opens
 * from the sessions table, the txid search finds a transaction, and screenshots at 1,400 px and at
 * phone width are left in test-output/dashboard/ for a person to look at.
 */

const CHROMIUM = '/usr/bin/chromium';
const OUTPUT = join(repoRoot, 'test-output', 'dashboard');
const CHARTS = ['chart-session-counts', 'chart-rates', 'chart-latency', 'chart-balance', 'chart-peers', 'chart-links', 'chart-projections', 'chart-queue'];

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** An API port for guardian 0 with the federation's eight ports (P2P port - 1 + 2i, API port + 2i) free. */
async function freeFederationPort(): Promise<number> {
  for (;;) {
    const { api } = await freePortPair();
    if (api + 6 >= 65_535) continue;
    let free = true;
    for (let port = api - 1; port <= api + 6 && free; port++) free = await isFree(port);
    if (free) return api;
  }
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

/** Per chart: how many points each of its series holds (nulls left out), read from chart.js itself. */
const chartPoints = (page: Page) =>
  page.evaluate(`Object.fromEntries(${JSON.stringify(CHARTS)}.map((id) => {
    const chart = Chart.getChart(id);
    return [id, chart === undefined ? [] : chart.data.datasets.map((d) => d.data.filter((v) => v !== null && v !== undefined).length)];
  }))`) as Promise<Record<string, number[]>>;

/** Pixels of a canvas drawn in about `rgb` (bars and lines of that series, not axes or grid). */
const pixelsOfColor = (page: Page, id: string, [r, g, b]: [number, number, number]) =>
  page.evaluate(`(() => {
    const canvas = document.getElementById(${JSON.stringify(id)});
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && Math.abs(data[i] - ${r}) < 40 && Math.abs(data[i + 1] - ${g}) < 40 && Math.abs(data[i + 2] - ${b}) < 40) n++;
    return n;
  })()`) as Promise<number>;

describe('the dashboard of a four-guardian federation in a browser', () => {
  let dir: string;
  let dev: ChildProcess;
  let output = '';
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: \`apt-get install -y chromium\` provides it (CI installs it in .ci/run)`);
    mkdirSync(OUTPUT, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'fedlog-dashboard-federation-'));
    const port = await freeFederationPort();
    url = `http://127.0.0.1:${port}`;
    // Sessions of 40 rounds at 50 ms (about 2 s), a light load so that four guardians share two cores.
    dev = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), 'dev', '--data', dir, '--port', String(port), '--rounds-per-session', '40', '--rate', '40', '--chains', '8'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    dev.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    dev.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // Three sessions that all four completed: the charts then have history, the peers have links.
    const deadline = Date.now() + 90_000;
    while ((output.match(/all 4 headers agree/g) ?? []).length < 3) {
      if (dev.exitCode !== null || Date.now() > deadline) throw new Error(`fedlog dev did not complete 3 sessions:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (dev !== undefined && dev.exitCode === null) {
      const exited = new Promise((resolve) => dev.once('exit', resolve));
      dev.kill('SIGINT');
      const stopped = await Promise.race([exited.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 20_000))]);
      if (!stopped) dev.kill('SIGKILL');
    }
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  for (const [width, height] of [
    [1400, 900],
    [390, 844],
  ] as const) {
    it(`draws every chart from the guardians and opens a session and a transaction at ${width} px`, async () => {
      const page = await browser.newPage({ viewport: { width, height } });
      const errors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') errors.push(message.text());
      });
      page.on('pageerror', (error) => errors.push(error.message));
      try {
        await page.goto(url + '/');

        // Every chart has data in every series that has a point to show; the latency and queue
        // charts are sampled per poll, so they have points after the first one.
        await expect.poll(async () => Object.values(await chartPoints(page)).every((series) => series.length > 0 && series[0]! > 0), { timeout: 30_000 }).toBe(true);
        const points = await chartPoints(page);
        expect(points['chart-session-counts']![0]).toBeGreaterThanOrEqual(3);
        expect(points['chart-session-counts']![1]).toBeGreaterThanOrEqual(3);
        expect(points['chart-peers']![0]).toBe(4);
        expect(points['chart-links']![0]).toBe(3);
        expect(points['chart-projections']![0]).toBeGreaterThanOrEqual(6);
        // Drawn, not just held: the items bars are on the canvas in their colour (#2f6fde).
        expect(await pixelsOfColor(page, 'chart-session-counts', [0x2f, 0x6f, 0xde])).toBeGreaterThan(200);

        // Numbers from the API, with thousands separators; the peers' links are up.
        await expect.poll(() => page.textContent('#peers-connected'), { timeout: 10_000 }).toBe('3 of 3');
        expect(await page.textContent('#net-assets')).toMatch(/^-?\d{1,3}(,\d{3})*$/);
        expect(await page.locator('#peers tbody tr').count()).toBe(4);

        // Live: a session that completes later shows without a reload.
        const shown = Number((await page.textContent('#session-count'))!.replace(/,/g, ''));
        await expect.poll(async () => Number((await page.textContent('#session-count'))!.replace(/,/g, '')), { timeout: 30_000 }).toBeGreaterThan(shown);
        await page.screenshot({ path: join(OUTPUT, `overview-${width}.png`), fullPage: true });

        // The session page, from the sessions table: its header, four guardians' signatures, its items.
        const link = page.locator('#sessions tbody tr a').nth(1);
        const session = Number((await link.textContent())!.replace(/,/g, ''));
        await link.click();
        await expect.poll(() => page.textContent('#session-title')).toBe(`Session ${session.toLocaleString('en-US')}`);
        expect(page.url()).toBe(`${url}/#/session/${session}`);
        expect(await page.isVisible('#overview')).toBe(false);
        await expect.poll(() => page.locator('#session-signatures tbody tr').count()).toBe(4);
        expect(await page.locator('#session-signatures .validity.valid').count()).toBeGreaterThanOrEqual(3);
        const signed = await getJson<{ header: string; items: unknown[] }>(`${url}/v1/sessions/${session}/signed`);
        expect(await page.textContent('#session-header')).toContain(signed.header);
        await expect.poll(() => page.locator('#session-items tbody tr').count()).toBe(Math.min(100, signed.items.length));
        await page.screenshot({ path: join(OUTPUT, `session-${width}.png`), fullPage: width === 1400 });

        // The txid search box finds an accepted transaction, decoded, with a link to its session.
        const items = await getJson<{ items: { kind: string; transaction?: { txid: string } }[] }>(`${url}/v1/sessions/${session}/items?limit=100`);
        const txid = items.items.find((item) => item.kind === 'transaction')!.transaction!.txid;
        await page.fill('#search-input', txid.toUpperCase());
        await page.click('#search button');
        await expect.poll(() => page.textContent('#transaction-facts')).toContain('accepted');
        expect(page.url()).toBe(`${url}/#/tx/${txid}`);
        expect(await page.textContent('#transaction-id')).toBe(txid);
        expect(await page.getAttribute('#transaction-facts a', 'href')).toBe(`#/session/${session}`);
        await expect.poll(() => page.locator('#transaction-body .part').count()).toBeGreaterThanOrEqual(2);
        await page.screenshot({ path: join(OUTPUT, `transaction-${width}.png`), fullPage: true });

        expect(errors).toEqual([]);
      } finally {
        await page.close();
      }
    });
  }
});
