import { describe, expect, it } from 'vitest';
import { configuredLog, engineOn } from './engineFixture.ts';

describe('a session longer than a timer can hold', () => {
  it('waits for its deadline without overflowing setTimeout (which would fire every millisecond)', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    // 30 days: beyond setTimeout's 2^31-1 ms (about 24.8 days).
    const engine = await engineOn(await configuredLog(30 * 86_400), 30 * 86_400);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await engine.stop();
    process.off('warning', onWarning);
    expect(warnings).not.toContain('TimeoutOverflowWarning');
    expect(engine.currentSession()).toBe(0);
  });
});
