import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Observable } from 'rxjs';
import { compiledWorkerUrl } from '../runtime/threads/compiledWorker.ts';
import { newWorker } from '../runtime/threads/workerExecArgv.ts';
import type { Api } from './app.ts';

/**
 * The main thread's side of the API front thread (apiFrontThread.mjs). The front owns the public
 * socket: every request is passed through to the app, which listens on a loopback port of its own
 * here, except the GETs of the cached read endpoints (GET /v1/audit, GET /v1/sessions), whose
 * current answers are kept on the front and answered there.
 *
 * Why: under load the main thread runs the session loop, the submissions' dry runs, the projection
 * folds and their garbage collection nearly without pause, and on a shared machine it also waits
 * for a core about as long as it runs; a query queued behind that waited tens of milliseconds even
 * when its answer was already serialized. The front thread has its own event loop and heap and
 * little else to do, so a kept answer goes out at once.
 *
 * Which answers are kept: a GET of a cached route the front passed through once (`want`). When a
 * fold moves the projection a kept answer was computed from, the answer is computed again only
 * while it has credit: keeping it after a request, and serving it (the front says so once per
 * answer, `asked`), give it `recomputesPerAsk` computations; without credit it is forgotten, and
 * the next GET of it is passed through and kept anew. So the work follows the requests, not the
 * folds: a page asked once is computed a bounded number of times however many folds pass (issue 16:
 * 64 kept pages recomputed at every fold stalled a guardian under load), while a page polled every
 * few folds stays on the front. A kept answer is at most one fold behind the app's; one not served
 * for `idleMs` is forgotten.
 */

export interface ApiFrontOptions {
  host: string;
  port: number;
  keepAliveTimeoutMs: number;
  /** A request whose headers have not all arrived after this long is answered 408 and closed. Default 10 s. */
  headersTimeoutMs?: number;
  /**
   * A request not received whole (headers and body) after this long is answered 408 and closed, so
   * a body dripped in slowly cannot hold a connection (and the app's side of it) for long. Only the
   * request counts: a long-poll's wait for its answer does not. Default 30 s.
   */
  requestTimeoutMs?: number;
  /** Most connections open at once from one client address; more are answered 503 and closed. Default 512. */
  maxConnectionsPerClient?: number;
  /** The projections' changes (ProjectionHost.changes$): the kept answers are refreshed once per fold, a microtask after its last position. */
  changes: Observable<unknown>;
  /** Most URLs kept at once (query strings are the client's choice). Default 64. */
  maxKept?: number;
  /** A kept URL not served for this long is forgotten. Default 30 s. */
  idleMs?: number;
  /**
   * Computations after folds that one request of a kept URL pays for (see above). Default 1: more
   * keeps a page polled less often than folds happen on the front, at that many computations per request.
   */
  recomputesPerAsk?: number;
  /**
   * A nice value for the front thread (-20..19; lower runs first), so that on busy cores the
   * answers it keeps go out without waiting behind the guardian's own work. Raising priority (a
   * negative value) needs CAP_SYS_NICE; whether it was applied is in `ApiFront.priority`. Default: unchanged.
   */
  priority?: number;
  /** Told when the front thread failed (the public API is gone). */
  onFailure(error: Error): void;
}

export interface ApiFront {
  /** The public address, e.g. http://127.0.0.1:8174. */
  url: string;
  /** Whether the front thread runs at `ApiFrontOptions.priority` (absent when none was asked). */
  priority?: FrontPriority;
  /** Closes the front's idle keep-alive connections (first step of a stop). */
  closeIdleConnections(): void;
  /** Closes the public socket and every connection, ends the thread, closes the app's loopback server. */
  close(): Promise<void>;
}

export type FrontPriority = { applied: true } | { applied: false; reason: string };

type FrontMessage =
  | { type: 'listening'; address: string; family: string; port: number; priority?: FrontPriority }
  | { type: 'listenError'; message: string; code?: string }
  | { type: 'want'; url: string }
  | { type: 'asked'; url: string }
  | { type: 'served'; urls: string[]; seconds: number[] }
  | { type: 'closed' };

async function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

export async function startApiFront(api: Pick<Api, 'cachedPaths' | 'cachedAnswer' | 'cachedVersion' | 'recordServed'> & { app: RequestListener }, options: ApiFrontOptions): Promise<ApiFront> {
  const maxKept = options.maxKept ?? 64;
  const idleMs = options.idleMs ?? 30_000;
  // The app answers the front on loopback only.
  const upstream = createServer(api.app);
  upstream.keepAliveTimeout = options.keepAliveTimeoutMs;
  const { port: upstreamPort } = await listen(upstream, 0, '127.0.0.1');
  const closeUpstream = () =>
    new Promise<void>((resolve) => {
      upstream.close(() => resolve());
      upstream.closeAllConnections();
    });

  if (options.priority !== undefined && !(Number.isInteger(options.priority) && options.priority >= -20 && options.priority <= 19)) {
    await closeUpstream();
    throw new RangeError(`the API front thread's priority must be a nice value, an integer from -20 to 19 (got ${options.priority})`);
  }
  const worker = newWorker(compiledWorkerUrl('api/apiFrontThread.mjs'), {
    workerData: {
      host: options.host,
      port: options.port,
      upstreamPort,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs,
      headersTimeoutMs: options.headersTimeoutMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      maxConnectionsPerClient: options.maxConnectionsPerClient ?? 512,
      cachedPaths: [...api.cachedPaths],
      ...(options.priority === undefined ? {} : { priority: options.priority }),
    },
  });
  const recomputesPerAsk = options.recomputesPerAsk ?? 1;
  /** `credit`: computations after folds still paid for by requests of this URL. */
  const kept = new Map<string, { body: string; version: unknown; servedAt: number; credit: number }>();
  let closing = false;
  let closed: (() => void) | undefined;
  let failed = false;
  let started = false;
  // Before it listens, a failure is startApiFront's rejection, not a report.
  const fail = (error: Error) => {
    if (!started || closing || failed) return;
    failed = true;
    options.onFailure(error);
  };
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  const keep = (url: string) => {
    const answer = api.cachedAnswer(url);
    if (answer === undefined) return;
    if (!kept.has(url) && kept.size >= maxKept) {
      // Forget the one served longest ago.
      let oldest: string | undefined;
      for (const [key, entry] of kept) if (oldest === undefined || entry.servedAt < kept.get(oldest)!.servedAt) oldest = key;
      forget(oldest!);
    }
    // It was just asked for (passed through): that pays for computations too, as a serving does.
    kept.set(url, { body: answer.body, version: answer.version, servedAt: performance.now(), credit: recomputesPerAsk });
    worker.postMessage({ type: 'answer', url, body: answer.body, headers: answer.headers });
  };
  const forget = (url: string) => {
    kept.delete(url);
    worker.postMessage({ type: 'forget', url });
  };

  const listening = new Promise<AddressInfo & { priority?: FrontPriority }>((resolve, reject) => {
    worker.on('message', (message: FrontMessage) => {
      switch (message.type) {
        case 'listening':
          resolve({ address: message.address, family: message.family, port: message.port, ...(message.priority === undefined ? {} : { priority: message.priority }) });
          break;
        case 'listenError':
          reject(Object.assign(new Error(message.message), { code: message.code }));
          break;
        case 'want':
          if (!closing) keep(message.url);
          break;
        case 'asked': {
          const entry = kept.get(message.url);
          if (entry !== undefined) entry.credit = recomputesPerAsk;
          break;
        }
        case 'served': {
          const now = performance.now();
          const byRoute = new Map<string, number[]>();
          message.urls.forEach((url, i) => {
            const entry = kept.get(url);
            if (entry !== undefined) entry.servedAt = now;
            // Cached routes have fixed paths: the path is the route template.
            const mark = url.indexOf('?');
            const route = mark < 0 ? url : url.slice(0, mark);
            let seconds = byRoute.get(route);
            if (seconds === undefined) byRoute.set(route, (seconds = []));
            seconds.push(message.seconds[i]!);
          });
          for (const [route, seconds] of byRoute) api.recordServed(route, seconds);
          break;
        }
        case 'closed':
          closed?.();
          break;
      }
    });
    worker.once('error', (error) => {
      reject(error);
      fail(error);
    });
    worker.once('exit', (code) => {
      reject(new Error(`the API front thread exited (code ${code}) before listening`));
      fail(new Error(`the API front thread exited (code ${code})`));
    });
  });

  let address: AddressInfo & { priority?: FrontPriority };
  try {
    address = await listening;
  } catch (error) {
    closing = true;
    await worker.terminate();
    await closeUpstream();
    throw error;
  }

  started = true;
  let closingDone: Promise<void> | undefined;
  const sweep = setInterval(() => {
    const now = performance.now();
    for (const [url, entry] of kept) if (now - entry.servedAt > idleMs) forget(url);
  }, Math.min(idleMs, 10_000));
  sweep.unref();

  const refresh = () => {
    for (const [url, entry] of kept) {
      if (api.cachedVersion(url) === entry.version) continue;
      // Not served for several computations: computing it again would be work for nobody.
      if (entry.credit === 0) {
        forget(url);
        continue;
      }
      const answer = api.cachedAnswer(url);
      if (answer === undefined) {
        forget(url);
        continue;
      }
      entry.version = answer.version;
      entry.credit--;
      if (answer.body !== entry.body) {
        entry.body = answer.body;
        worker.postMessage({ type: 'answer', url, body: answer.body, headers: answer.headers });
      } else worker.postMessage({ type: 'rearm', url });
    }
  };
  // A fold reports every position it covered synchronously, then settles the waiters for them; the
  // refresh runs before those waiters continue, so a caller that waited for a position and then asks
  // the front is not answered from before it (the front takes the message before a later request).
  let refreshQueued = false;
  const refreshes = options.changes.subscribe({
    next() {
      if (refreshQueued || kept.size === 0) return;
      refreshQueued = true;
      queueMicrotask(() => {
        refreshQueued = false;
        if (!closing) refresh();
      });
    },
    error: () => undefined,
  });

  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    ...(address.priority === undefined ? {} : { priority: address.priority }),
    closeIdleConnections() {
      worker.postMessage({ type: 'closeIdle' });
    },
    close() {
      closingDone ??= (async () => {
        closing = true;
        clearInterval(sweep);
        refreshes.unsubscribe();
        // The front ends its connections first (the requests it passed through end with them), then the app's side.
        const frontClosed = new Promise<void>((resolve) => (closed = resolve));
        worker.postMessage({ type: 'close' });
        await Promise.race([frontClosed, exited]);
        await worker.terminate();
        await closeUpstream();
      })();
      return closingDone;
    },
  };
}
