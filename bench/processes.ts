/** What the suites need of the processes they start: free loopback ports, and CPU read from /proc. */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A port the OS says is free on loopback now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The first port from 21,000 up with `count` free ports from it (a federation's P2P/API pairs). */
export async function freePortRange(count: number): Promise<number> {
  for (let base = 21_000; base < 60_000; base += 2 * count) {
    let free = true;
    for (let port = base; port < base + count && free; port++) free = await isFree(port);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports`);
}

/**
 * CPU seconds (user + system) a live process used so far (`mainThread`: its first task only, the
 * event loop), from /proc; NaN where there is no /proc or the process is gone.
 */
export function cpuSeconds(pid: number | undefined, mainThread = false): number {
  const path = mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`;
  if (pid === undefined || !existsSync(path)) return Number.NaN;
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const fields = readFileSync(path, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
