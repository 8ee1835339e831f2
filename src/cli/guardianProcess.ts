/**
 * A guardian as a process: the guardian, its API listening on the configured address, one human
 * line per completed session on stdout, and a clean stop on SIGINT / SIGTERM or a scheduled
 * shutdown. Shared by `fedlog run` and `fedlog dev`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApiApp } from '../api/app.ts';
import type { GuardianConfig } from '../consensus/config.ts';
import { startGuardian, type Guardian, type SessionSummary } from '../consensus/guardian.ts';

export interface GuardianProcess {
  guardian: Guardian;
  apiUrl: string;
  /** Stops the API and the guardian (idempotent). */
  stop(): Promise<void>;
  /** Resolves when the guardian stopped for any reason and the API is closed; rejects on a consensus failure. */
  done: Promise<void>;
}

// Built once: toLocaleString builds a new formatter at every call, milliseconds on the thread that serves the API.
const counts = new Intl.NumberFormat('en-US');
const rates = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

export function sessionLine(summary: SessionSummary): string {
  const seconds = Math.max(summary.durationMs, 1) / 1000;
  const rate = summary.itemCount / seconds;
  return `session ${String(summary.session).padStart(5)}  items ${counts.format(summary.itemCount).padStart(8)}  header ${summary.header.slice(16, 32)}…  ${rates.format(rate).padStart(9)} items/s`;
}

export async function startGuardianProcess(config: GuardianConfig, options: { logLevel?: string; print?: (line: string) => void } = {}): Promise<GuardianProcess> {
  // Logs as JSON on stderr; stdout carries the one-line-per-session summary for humans.
  const logger = pino({ name: `guardian-${config.peer}`, level: options.logLevel ?? 'info' }, pino.destination(2));
  const print = options.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const guardian = await startGuardian(config, { logger });
  const app = createApiApp(guardian, { adminToken: config.adminToken });
  const server: Server = createServer(app);
  // Long-polls hold requests for up to 30 s; keep idle keep-alive sockets a little longer than clients do.
  server.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.api.port, config.api.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await guardian.stop();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const apiUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info({ apiUrl }, 'API listening');
  const subscription = guardian.sessions$.subscribe({ next: (summary) => print(sessionLine(summary)), error: () => undefined });

  const closeServer = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  let closing: Promise<void> | undefined;
  const done = guardian.done.then(
    async () => {
      subscription.unsubscribe();
      await closeServer();
    },
    async (error: unknown) => {
      subscription.unsubscribe();
      await closeServer();
      throw error;
    },
  );
  done.catch(() => undefined);
  return {
    guardian,
    apiUrl,
    done,
    stop() {
      closing ??= (async () => {
        // Stop taking requests first, so nothing is acknowledged by a guardian that is going away.
        server.closeIdleConnections();
        await guardian.stop();
        await done.catch(() => undefined);
      })();
      return closing;
    },
  };
}

/** SIGINT / SIGTERM stop the process cleanly; a second signal exits at once. */
export function stopOnSignals(stop: () => Promise<void>): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    process.stderr.write(`\n${signal}: stopping (again to force)\n`);
    void stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
