/**
 * `fedlog run --config` as a child process of `fedlog dev`: started, watched and stopped by the
 * parent. The child runs in its own process group, so a Ctrl-C at the terminal reaches only the
 * parent, which stops the load first and then its guardians; and it stops by itself when the
 * parent dies (its stdin closes), so a killed `fedlog dev` leaves no guardian holding its ports.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface GuardianChild {
  peer: number;
  pid: number;
  /** Resolves with the exit code (null when ended by a signal). */
  exited: Promise<number | null>;
  /** The last lines the child wrote, for a failure message. */
  tail(): string;
  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface GuardianChildOptions {
  peer: number;
  configFile: string;
  logLevel?: string;
  /** Every line the child writes (stdout and stderr), as it comes. */
  onLine?: (line: string) => void;
  /** How long to wait for its API (default 60 s). */
  startTimeoutMs?: number;
}

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const TAIL_LINES = 40;

export class GuardianStartError extends Error {
  override readonly name = 'GuardianStartError';
}

/** Spawns the guardian and resolves once it serves its API; rejects (with its output) if it exits or stalls first. */
export async function startGuardianChild(options: GuardianChildOptions): Promise<GuardianChild> {
  // Loaded by URL, not by name: `--import tsx` resolves from the working directory.
  const tsx = import.meta.resolve('tsx');
  const args = ['--import', tsx, MAIN, 'run', '--config', options.configFile, '--log-level', options.logLevel ?? 'warn', '--stop-on-stdin-close'];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let serving: () => void = () => undefined;
  const served = new Promise<void>((resolve) => (serving = resolve));
  const onText = (carry: { rest: string }) => (chunk: Buffer) => {
    const parts = (carry.rest + chunk.toString('utf8')).split('\n');
    carry.rest = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      if (lines.length > TAIL_LINES) lines.shift();
      if (/^guardian \d+ serving /.test(line)) serving();
      options.onLine?.(line);
    }
  };
  child.stdout.on('data', onText({ rest: '' }));
  child.stderr.on('data', onText({ rest: '' }));
  // Nothing is written to the child's stdin: it is the lifeline that closes when this process ends.
  child.stdin.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const tail = () => lines.join('\n');

  const timeoutMs = options.startTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    served.then(() => 'serving' as const),
    exited.then(() => 'exited' as const),
    new Promise<'stalled'>((resolve) => (timer = setTimeout(() => resolve('stalled'), timeoutMs))),
  ]);
  clearTimeout(timer);

  let stopping: Promise<number | null> | undefined;
  const stop = (graceMs = 30_000) => {
    stopping ??= (async () => {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(kill);
      return code;
    })();
    return stopping;
  };
  if (outcome !== 'serving') {
    await stop(5_000);
    const why = outcome === 'exited' ? `exited with code ${child.exitCode ?? child.signalCode}` : `did not serve its API within ${timeoutMs} ms`;
    throw new GuardianStartError(`guardian ${options.peer} ${why}:\n${tail()}`);
  }
  return { peer: options.peer, pid: child.pid!, exited, tail, stop };
}
