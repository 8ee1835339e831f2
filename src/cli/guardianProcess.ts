/**
 * A guardian as a process: the guardian, its API listening on the configured address, one human
 * line per completed session on stdout, and a clean stop on SIGINT / SIGTERM or a scheduled
 * shutdown. Shared by `fedlog run` and `fedlog dev`.
 */
import pino from 'pino';
import { startApiFront, type ApiFront } from '../api/apiFront.ts';
import { createApi } from '../api/app.ts';
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
export const counts = new Intl.NumberFormat('en-US');
export const rates = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

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
  const api = createApi(guardian, { adminToken: config.adminToken });
  let front: ApiFront;
  try {
    // The public socket is served by a thread of its own (see apiFront.ts), the app on this one.
    front = await startApiFront(api, {
      host: config.api.host,
      port: config.api.port,
      // Long-polls hold requests for up to 30 s; keep idle keep-alive sockets a little longer than clients do.
      keepAliveTimeoutMs: 65_000,
      headersTimeoutMs: config.api.headersTimeoutMs,
      requestTimeoutMs: config.api.requestTimeoutMs,
      maxConnectionsPerClient: config.api.maxConnectionsPerClient,
      changes: guardian.projections.changes$,
      priority: config.api.frontPriority,
      onFailure(error) {
        logger.error({ err: error }, 'the API front thread failed: stopping');
        void stop();
      },
    });
  } catch (error) {
    await guardian.stop();
    throw error;
  }
  const apiUrl = front.url;
  logger.info({ apiUrl }, 'API listening');
  if (front.priority?.applied === false) {
    logger.info({ frontPriority: config.api.frontPriority, reason: front.priority.reason }, 'the API front thread runs at the process priority (raising it needs CAP_SYS_NICE or an RLIMIT_NICE allowance)');
  }
  const subscription = guardian.sessions$.subscribe({ next: (summary) => print(sessionLine(summary)), error: () => undefined });

  const closeServer = () => front.close();
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
  function stop(): Promise<void> {
    closing ??= (async () => {
      // Stop taking requests first, so nothing is acknowledged by a guardian that is going away.
      front.closeIdleConnections();
      await guardian.stop();
      await done.catch(() => undefined);
    })();
    return closing;
  }
  return { guardian, apiUrl, done, stop };
}

/** SIGINT / SIGTERM stop the process cleanly; a second signal exits at once. */
export function stopOnSignals(stop: () => Promise<void>): void {
  let first: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (first !== undefined) {
      // One Ctrl-C reaches both a wrapper such as `tsx` (npm start) and us, and the wrapper relays
      // it: a repeat within a second is that echo, not an operator asking to force.
      if (performance.now() - first < ECHO_MS) return;
      process.exit(130);
    }
    first = performance.now();
    process.stderr.write(`\n${signal}: stopping (again to force)\n`);
    void stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

const ECHO_MS = 1_000;
