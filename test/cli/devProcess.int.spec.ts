import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GuardianStartError, startGuardianChild } from '../../src/cli/guardianChild.ts';
import { freePortPair, initGuardian, repoRoot } from '../e2e/spawnGuardian.ts';

/** Real processes: the `fedlog` wrapper, `fedlog run` as dev's child, and `fedlog dev --peers 1`. */

const BIN = join(repoRoot, 'bin', 'fedlog.js');
const dirs: string[] = [];
const children: ChildProcess[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedlog-dev-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function start(args: string[], stdin: 'ignore' | 'pipe' = 'ignore') {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: repoRoot, stdio: [stdin, 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, timeoutMs = 45_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(output)) {
      if (child.exitCode !== null) throw new Error(`exited (${child.exitCode}) before ${pattern}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return { child, output: () => output, exited, waitFor };
}

/** A run of `count` free ports (a federation's P2P and API pairs). */
async function freeRun(count: number): Promise<number> {
  for (;;) {
    const { p2p } = await freePortPair();
    if (p2p + count > 65535) continue;
    const free = await Promise.all(Array.from({ length: count }, (_, i) => released(p2p + i)));
    if (free.every(Boolean)) return p2p;
  }
}

/** True when nothing listens on the port any more. */
function released(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('bin/fedlog.js', () => {
  it('is the guardian itself: SIGTERM to it stops the guardian cleanly and releases the API port', async () => {
    const setup = await initGuardian(tempDir(), 60);
    const port = Number(new URL(setup.url).port);
    const run = start(['run', '--config', setup.configFile, '--log-level', 'warn']);
    await run.waitFor(/serving http/);
    expect(await released(port)).toBe(false);
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/guardian stopped/);
    expect(await released(port)).toBe(true);
  });
});

describe("fedlog dev's guardian processes", () => {
  it('stop by themselves when their parent goes away (stdin closes)', async () => {
    const setup = await initGuardian(tempDir(), 60);
    const run = start(['run', '--config', setup.configFile, '--log-level', 'warn', '--stop-on-stdin-close'], 'pipe');
    await run.waitFor(/serving http/);
    run.child.stdin!.end();
    expect(await run.exited).toBe(0);
    expect(await released(Number(new URL(setup.url).port))).toBe(true);
  });

  it('report why a guardian could not start, with its own words', async () => {
    const setup = await initGuardian(tempDir(), 60);
    const blocker = createServer();
    const port = Number(new URL(setup.url).port);
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const failure = startGuardianChild({ peer: 0, configFile: setup.configFile });
      await expect(failure).rejects.toThrow(GuardianStartError);
      await expect(failure).rejects.toThrow(/guardian 0 exited with code 1:[\s\S]*EADDRINUSE/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe('fedlog dev', () => {
  it('--peers 1: one guardian completing sessions under the demo load; SIGINT (and its echo) stops the load, then the guardian, and prints the load report', async () => {
    const { api } = await freePortPair();
    const dev = start(['dev', '--peers', '1', '--data', join(tempDir(), 'dev'), '--port', String(api), '--session-seconds', '1', '--rate', '20', '--chains', '2']);
    await dev.waitFor(/guardian 0 of a 1-guardian federation/);
    await dev.waitFor(/^session\s+1 /m);
    dev.child.kill('SIGINT');
    // `npm start` runs dev under tsx, which relays the terminal's Ctrl-C: the echo must not force an exit.
    await new Promise((resolve) => setTimeout(resolve, 50));
    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    const output = dev.output();
    expect(output.indexOf('load: ')).toBeGreaterThan(output.indexOf('SIGINT: stopping'));
    expect(output).toMatch(/fedlog dev: stopped\n$/);
    expect(await released(api)).toBe(true);
  });

  it('by default: four guardian processes agreeing on every session under the demo load; SIGINT stops the loads, then all four, releasing every port', async () => {
    const base = await freeRun(8);
    const dev = start(['dev', '--data', join(tempDir(), 'dev'), '--port', String(base + 1), '--rounds-per-session', '20', '--rate', '20', '--chains', '4']);
    await dev.waitFor(/a federation of 4 guardian processes over mutual TLS/, 90_000);
    await dev.waitFor(/^session\s+1 .*all 4 headers agree$/m, 90_000);
    // A session carrying transactions (more items than the four guardians' deposit observations).
    await dev.waitFor(/^session\s+\d+\s+items\s+(?:[5-9]|\d{2,})\s.*all 4 headers agree$/m, 90_000);
    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    const output = dev.output();
    expect(output).not.toMatch(/HEADERS DIFFER/);
    // Every session is printed once.
    const printed = [...output.matchAll(/^session\s+(\d+) /gm)].map((m) => Number(m[1]));
    expect(new Set(printed).size).toBe(printed.length);
    const total = /load over 4 guardians: ([\d,]+) accepted = [\d.,]+ tx\/s, double spends ACCEPTED 0, errors 0/.exec(output);
    expect(total, output).not.toBeNull();
    expect(Number(total![1]!.replace(/,/g, ''))).toBeGreaterThan(0);
    expect(output.indexOf('load over 4 guardians')).toBeLessThan(output.indexOf('[guardian 0] guardian stopped'));
    for (let port = base; port < base + 8; port++) expect(await released(port), `port ${port}`).toBe(true);
  });

  it('refuses 2 or 3 guardians before starting anything', async () => {
    for (const peers of ['2', '3']) {
      const dev = start(['dev', '--peers', peers, '--data', join(tempDir(), 'dev')]);
      expect(await dev.exited).not.toBe(0);
      expect(dev.output()).toMatch(/2 and 3 tolerate no faulty guardian/);
    }
  });
});
