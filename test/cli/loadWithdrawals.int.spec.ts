import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startGuardianProcess } from '../../src/cli/guardianProcess.ts';
import { initFederation } from '../../src/cli/initCommand.ts';
import { runLoad } from '../../src/cli/loadGenerator.ts';
import { loadGuardianConfig } from '../../src/consensus/config.ts';
import { freePortPair } from '../e2e/spawnGuardian.ts';

/**
 * Issue 16, item 11: the demo load withdrew only when stopped, so the balance sheet stayed flat for
 * the whole run. It withdraws steadily now: while it runs, the reserves fall below the deposits
 * claimed and net assets (the fees) grow.
 */

interface Sheet {
  modules: { name: string; msat: string }[];
  netAssets: string;
}
const line = (sheet: Sheet, name: string) => BigInt(sheet.modules.find((m) => m.name === name)?.msat ?? '0');

describe('fedlog load while it runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-load-withdrawals-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('withdraws now and then, so the audit moves before the load stops', async () => {
    const { p2p, api } = await freePortPair();
    const { configFiles, adminTokens } = initFederation({ peers: 1, out: dir, sessionSeconds: 0.5, basePort: p2p });
    const loaded = loadGuardianConfig(configFiles[0]!);
    const running = await startGuardianProcess({ ...loaded, api: { ...loaded.api, port: api } }, { logLevel: 'silent', print: () => undefined });
    const chains = 8;
    const depositMsat = 10_000_000n;
    const sheets: Promise<Sheet>[] = [];
    let report;
    try {
      report = await runLoad({
        url: running.apiUrl,
        adminToken: adminTokens[0]!,
        rate: 0,
        durationSeconds: 3,
        chains,
        depositMsat,
        withdrawRatio: 0.2,
        // No rival spends: each changes net assets by 1 msat, which would blur the fee count below.
        doubleSpendRatio: 0,
        seed: 5,
        // Sampled while running, before any user's last withdrawal.
        onProgress: ({ elapsedSeconds }) => {
          if (elapsedSeconds >= 1.5) sheets.push(fetch(`${running.apiUrl}/v1/audit`).then((r) => r.json() as Promise<Sheet>));
        },
      });
    } finally {
      await running.stop();
    }
    expect(sheets.length).toBeGreaterThan(0);
    const during = await sheets[0]!;
    // Every deposit was claimed at the start; the reserves fell below them while the load ran.
    expect(line(during, 'reserves')).toBeLessThan(BigInt(chains) * depositMsat);
    expect(line(during, 'reserves')).toBeGreaterThan(0n);
    // Each withdrawal left its 1,000 msat fee in the reserve.
    expect(BigInt(during.netAssets)).toBeGreaterThan(0n);
    expect(BigInt(during.netAssets) % 1_000n).toBe(0n);
    expect(report.errors, report.firstError).toBe(0);
    expect(report.withdrawalsWhileRunning).toBeGreaterThan(chains);
    expect(report.withdrawals).toBe(report.withdrawalsWhileRunning + chains);
  });
});
