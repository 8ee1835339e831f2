/**
 * `fedlog load`: a real client of a guardian over HTTP. Each of `chains` independent users gets a
 * deposit (admin endpoint), claims it into a note, then spends its note into a fresh one again and
 * again (1-input transactions: the figure the throughput goal is about); now and then a spend also
 * withdraws a small part of the note, so the reserves fall and the fees accrue while the load runs,
 * as a real federation's balance sheet moves; and when stopped each user withdraws what is left.
 * Now and then a user tries to double-spend: two conflicting spends at once (exactly one may be
 * accepted) or a replay of a spent note (must be refused). Any accepted double spend is counted as
 * a violation, and the report says so.
 */
import { randomBytes } from 'node:crypto';
import { bytesToHex, hexToBytes } from '../domain/hashing.ts';
import { issueNote, spendNote } from '../domain/modules/mint.ts';
import { claimDeposit, withdraw } from '../domain/modules/wallet.ts';
import type { SchnorrBackend } from '../domain/signatureBackend.ts';
import { createLoadHttpClient, guardianTarget, HttpError } from './loadHttpClient.ts';
import { percentile, type LoadReport } from './loadReport.ts';
import { nonceCounter, signedTransaction } from './loadTransactions.ts';
import { newSecretKey } from './secretKey.ts';

export { printLoadReport, type LoadReport } from './loadReport.ts';
export { signedTransaction } from './loadTransactions.ts';
import { fastestBackend } from '../runtime/signatures/fastest.ts';
import type { Input, Output } from '../domain/transaction.ts';
import { seededRandom } from '../domain/seededRandom.ts';

export interface LoadOptions {
  url: string;
  adminToken: string;
  /**
   * Other guardians of the federation that observe every deposit too: a federation of n >= 4
   * confirms a deposit only once a threshold of guardians observed it. Transactions go to `url`.
   */
  observers?: readonly { url: string; adminToken: string }[];
  /** Target submitted transactions per second over all users; 0 = as fast as the guardian answers. */
  rate: number;
  durationSeconds: number;
  /** Concurrent users (each one chain of notes). */
  chains?: number;
  /** Share of spends followed by a double-spend attempt. */
  doubleSpendRatio?: number;
  /** Share of spends that also withdraw a part (WITHDRAW_SHARE) of the note. Default 0.05. */
  withdrawRatio?: number;
  /** Seeds who double-spends when; keys and nonces are random. */
  seed?: number;
  depositMsat?: bigint;
  signal?: AbortSignal;
  /** Called about once a second. */
  onProgress?: (progress: LoadProgress) => void;
  /** Called once when the measured window starts (after signing ahead, before the first request). */
  onClockStarted?: () => void;
  /**
   * How transactions travel (default 'batch'): 'batch' coalesces the users' transactions into
   * POST /v1/transactions/batch?wait= (one request answers many); 'wait' sends one
   * POST /v1/transactions?wait= per transaction; 'classic' POSTs then long-polls
   * GET /v1/transactions/:txid?wait= (two requests per transaction).
   */
  submitMode?: SubmitMode;
  /** 'batch' mode: most transactions per request (default 32) and requests in flight (default 16). */
  batchSize?: number;
  batchesInFlight?: number;
  /**
   * Transactions each user builds and signs before the clock starts (default 0: each is signed
   * when it is needed). txids do not cover signatures, so a user's chain of spends is known ahead;
   * a chain is signed assuming each of its own double spends is won by its first spend, and a user
   * whose rival won instead signs on as it goes. This takes the client's signing (about as costly
   * as the guardian's verifying) out of the measured window, for a client that shares the
   * guardian's machine; the transactions, signatures and double spends are the same.
   */
  signAhead?: number;
}

export type SubmitMode = 'batch' | 'wait' | 'classic';
export const submitModes: readonly SubmitMode[] = ['batch', 'wait', 'classic'];

export interface LoadProgress {
  elapsedSeconds: number;
  accepted: number;
  acceptedPerSecond: number;
}


const WITHDRAW_FEE = 1_000n;
/** A withdrawal while running takes this fraction of the note (1/100), while the note holds at least MIN_WITHDRAWING_NOTE. */
const WITHDRAW_SHARE = 100n;
const MIN_WITHDRAWING_NOTE = 100n * WITHDRAW_FEE;
const WITHDRAW_DESTINATION = hexToBytes('0014' + '00'.repeat(20));



export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const base = options.url.replace(/\/+$/, '');
  const chains = options.chains ?? 256;
  const ratio = options.doubleSpendRatio ?? 0.02;
  const withdrawRatio = options.withdrawRatio ?? 0.05;
  const random = seededRandom(options.seed ?? 1);
  const depositMsat = options.depositMsat ?? 1_000_000_000n;
  const backend: SchnorrBackend = fastestBackend();
  const nextNonce = nonceCounter();
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const latencies: number[] = [];
  const report = { submitted: 0, accepted: 0, deposits: 0, withdrawals: 0, withdrawalsWhileRunning: 0, doubleSpendAttempts: 0, doubleSpendsRefused: 0, doubleSpendsAccepted: 0, queueFull: 0, errors: 0 };
  let firstError: string | undefined;
  const fail = (error: unknown) => {
    report.errors++;
    firstError ??= error instanceof Error ? error.message : String(error);
  };

  // Pacing: one global schedule of submission slots, shared by every user.
  let nextSlot = performance.now();
  const pace = async () => {
    if (options.rate <= 0) return;
    const slot = Math.max(nextSlot, performance.now());
    nextSlot = slot + 1000 / options.rate;
    const wait = slot - performance.now();
    if (wait > 1) await sleep(wait);
  };


  // Below a guardian's default cap of open connections per client address (api.maxConnectionsPerClient, 512).
  const client = createLoadHttpClient({ url: base, adminToken: options.adminToken, maxSockets: Math.min(chains * 2 + 8, 384) });
  const { call } = client;
  const observers = (options.observers ?? []).map(({ url, adminToken }) => guardianTarget(url, adminToken));

  const mode = options.submitMode ?? 'batch';
  const batchSize = options.batchSize ?? 32;
  const batchesInFlight = options.batchesInFlight ?? 16;
  const WAIT_MS = 10_000;

  /** A transaction's fate as the guardian reported it: accepted, rejected (in the loop), invalid (refused at the door), pending, unknown. */
  type Final = { status: string };
  interface Waiting {
    tx: string;
    resolve(result: { status: string; retryAfterSeconds?: number }): void;
    reject(error: unknown): void;
  }
  // 'batch' mode: transactions handed in during one turn of the event loop travel together, in
  // requests of at most `batchSize`, with at most `batchesInFlight` requests outstanding.
  let backlog: Waiting[] = [];
  let inFlight = 0;
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    while (backlog.length > 0 && inFlight < batchesInFlight) {
      const batch = backlog.slice(0, batchSize);
      backlog = backlog.slice(batch.length);
      inFlight++;
      report.submitted += batch.length;
      call('POST', `/v1/transactions/batch?wait=${WAIT_MS}`, { txs: batch.map((w) => w.tx) })
        .then(({ status, json }) => {
          const results = json.results as { status: string; retryAfterSeconds?: number }[] | undefined;
          if (status !== 200 || results?.length !== batch.length) throw new HttpError(status, JSON.stringify(json).slice(0, 200));
          batch.forEach((w, i) => w.resolve(results[i]!));
        })
        .catch((error: unknown) => {
          for (const w of batch) w.reject(error);
        })
        .finally(() => {
          inFlight--;
          if (backlog.length > 0) flush();
        });
    }
  };
  const submitInBatch = (tx: string) =>
    new Promise<{ status: string; retryAfterSeconds?: number }>((resolve, reject) => {
      backlog.push({ tx, resolve, reject });
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    });

  /** Submits one transaction the configured way and follows it to its outcome (or pending when the run stops). */
  const submitAndSettle = async (tx: { hex: string; txid: string }): Promise<Final> => {
    if (mode === 'classic') {
      const submitted = await submit(tx.hex);
      if (submitted.status === 400) return { status: 'invalid' };
      return submitted.status === 200 ? { status: 'accepted' } : waitFinal(tx.txid);
    }
    for (;;) {
      await pace();
      let result: { status: string; retryAfterSeconds?: number };
      if (mode === 'batch') result = await submitInBatch(tx.hex);
      else {
        report.submitted++;
        try {
          const { status, json } = await call('POST', `/v1/transactions?wait=${WAIT_MS}`, { tx: tx.hex });
          result = status === 400 ? { status: 'invalid' } : (json as { status: string });
        } catch (error) {
          if (!(error instanceof HttpError && error.status === 503)) throw error;
          result = { status: 'queueFull', ...(error.retryAfter === undefined ? {} : { retryAfterSeconds: error.retryAfter }) };
        }
      }
      if (result.status === 'queueFull') {
        report.queueFull++;
        await sleep(Math.min(1000, (result.retryAfterSeconds ?? 1) * 100));
        continue;
      }
      return result.status === 'pending' ? waitFinal(tx.txid) : result;
    }
  };

  /** POST a transaction; retries on queueFull after Retry-After. */
  const submit = async (tx: string): Promise<{ status: number; json: Record<string, unknown>; sentAt: number }> => {
    for (;;) {
      await pace();
      report.submitted++;
      // Latency counts from the moment the request leaves, not from when pacing allowed it.
      const sentAt = performance.now();
      lastSentAt.set(tx, sentAt);
      try {
        return { ...(await call('POST', '/v1/transactions', { tx })), sentAt };
      } catch (error) {
        if (error instanceof HttpError && error.status === 503) {
          report.queueFull++;
          await sleep(Math.min(1000, (error.retryAfter ?? 1) * 100));
          continue;
        }
        throw error;
      }
    }
  };

  const waitFinal = async (txid: string): Promise<Final> => {
    for (;;) {
      const { json } = await call('GET', `/v1/transactions/${txid}?wait=${WAIT_MS}`);
      const status = String(json.status);
      if (status === 'accepted' || status === 'rejected' || status === 'unknown') return { status };
      if (stop.signal.aborted && status === 'pending') return { status };
    }
  };
  const lastSentAt = new Map<string, number>();

  const build = (inputs: Input[], outputs: Output[], secret: Uint8Array): Built => signedTransaction(inputs, outputs, secret, nextNonce(), backend);

  /** Submits and waits for acceptance; returns false when the guardian refused or rejected it. */
  const transact = async (tx: { hex: string; txid: string }, measure = true): Promise<boolean> => {
    // Latency counts from the hand-over to the client's transport (batching wait included), not from pacing.
    let started = performance.now();
    const final = await submitAndSettle(tx);
    if (mode === 'classic') started = lastSentAt.get(tx.hex) ?? started;
    lastSentAt.delete(tx.hex);
    if (final.status !== 'accepted') return false;
    report.accepted++;
    if (measure) latencies.push(performance.now() - started);
    return true;
  };

  interface Note {
    txid: string;
    index: number;
    amount: bigint;
  }
  /**
   * The next move of a user holding `note`: a plain spend, a spend that also withdraws part of the
   * note (`next` is then the new note's amount), or now and then a double-spend attempt.
   */
  type Step = { spend: Built; next: bigint; withdraws?: true; double?: { rival: Built; replay: Built } };
  type Built = { hex: string; txid: string };
  const stepFor = (note: Note, owner: Uint8Array, secret: Uint8Array): Step => {
    if (note.amount >= MIN_WITHDRAWING_NOTE && random() < withdrawRatio) {
      const amount = note.amount / WITHDRAW_SHARE;
      const next = note.amount - amount - WITHDRAW_FEE;
      const spend = build([spendNote(hexToBytes(note.txid), note.index)], [issueNote(next, owner), withdraw(WITHDRAW_DESTINATION, amount)], secret);
      return { spend, next, withdraws: true };
    }
    const spend = build([spendNote(hexToBytes(note.txid), note.index)], [issueNote(note.amount, owner)], secret);
    if (random() >= ratio) return { spend, next: note.amount };
    // Two conflicting spends of one note at once (at most one may be accepted), then a replay of that note.
    const rival = build([spendNote(hexToBytes(note.txid), note.index)], [issueNote(note.amount - 1n, owner)], secret);
    const replay = build([spendNote(hexToBytes(note.txid), note.index)], [issueNote(1n, owner)], secret);
    return { spend, next: note.amount, double: { rival, replay } };
  };

  interface User {
    secret: Uint8Array;
    owner: Uint8Array;
    depositId: string;
    claim: Built;
    /** Steps signed ahead, each with the note it spends. */
    planned: { note: Note; step: Step; meanwhile?: true }[];
  }
  const newUser = (): User => {
    const secret = newSecretKey(backend);
    const owner = backend.publicKey(secret);
    const depositId = bytesToHex(randomBytes(32));
    const claim = build([claimDeposit(hexToBytes(depositId))], [issueNote(depositMsat, owner)], secret);
    return { secret, owner, depositId, claim, planned: [] };
  };
  const signAhead = (u: User, count: number) => {
    const last = u.planned.at(-1);
    let note: Note = last === undefined ? { txid: u.claim.txid, index: 0, amount: depositMsat } : { txid: last.step.spend.txid, index: 0, amount: last.step.next };
    for (let i = 0; i < count; i++) {
      const step = stepFor(note, u.owner, u.secret);
      u.planned.push({ note, step });
      note = { txid: step.spend.txid, index: 0, amount: step.next };
    }
  };
  let stepsUsed = 0;
  const nextStep = (u: User, note: Note): Step => {
    const planned = u.planned[0];
    if (planned !== undefined && planned.note.txid === note.txid && planned.note.index === note.index && planned.note.amount === note.amount) {
      u.planned.shift();
      if (planned.meanwhile === undefined) stepsUsed++;
      return planned.step;
    }
    // Off the signed-ahead chain (a rival won, or the chain ran out): sign as we go.
    u.planned = [];
    return stepFor(note, u.owner, u.secret);
  };

  /**
   * Signs the step after `step` (assuming its spend is accepted, as sign-ahead does) once this
   * turn's submissions have gone out, so the user's next transaction is ready when this one is
   * accepted: signing (most of the client's CPU) overlaps the wait instead of lengthening each
   * user's cycle, and a batch's answer releases its users' next transactions at once. The
   * signing still happens in the measured window; a rival that wins makes the user sign anew.
   */
  const signNextMeanwhile = (u: User, note: Note, step: Step) => {
    if (u.planned.length > 0) return;
    presigns.push(() => {
      if (stop.signal.aborted || u.planned.length > 0) return;
      const following = { txid: step.spend.txid, index: 0, amount: step.next };
      u.planned.push({ note: following, step: stepFor(following, u.owner, u.secret), meanwhile: true });
    });
    // A timer, not setImmediate: it runs after this turn's immediates, which send the batches.
    if (presigns.length === 1) setTimeout(signPlanned, 0);
  };
  let presigns: (() => void)[] = [];
  const signPlanned = () => {
    const jobs = presigns;
    presigns = [];
    for (const job of jobs) job();
  };

  const user = async (index: number, u: User) => {
    const observed = { depositId: u.depositId, amount: depositMsat.toString(), recipient: bytesToHex(u.owner) };
    await Promise.all([call('POST', '/v1/admin/deposits', observed, true), ...observers.map((at) => call('POST', '/v1/admin/deposits', observed, true, at))]);
    report.deposits++;
    // The deposit is confirmed once its item is recorded; until then the claim's dry run refuses it.
    for (let attempt = 0; !(await transact(u.claim, false)); attempt++) {
      if (stop.signal.aborted) return;
      if (attempt > 500) throw new Error(`user ${index}: the deposit was never confirmed`);
      await sleep(10);
    }
    let note: Note = { txid: u.claim.txid, index: 0, amount: depositMsat };
    while (!stop.signal.aborted) {
      const step = nextStep(u, note);
      const { spend, double } = step;
      signNextMeanwhile(u, note, step);
      if (double !== undefined) {
        const { rival, replay } = double;
        report.doubleSpendAttempts++;
        const [a, b] = await Promise.all([transact(spend), transact(rival, false)]);
        if (a && b) report.doubleSpendsAccepted++;
        else report.doubleSpendsRefused++;
        if (!a && !b) {
          if (stop.signal.aborted) return;
          throw new Error(`user ${index}: neither of two conflicting spends was accepted`);
        }
        note = a ? { txid: spend.txid, index: 0, amount: note.amount } : { txid: rival.txid, index: 0, amount: note.amount - 1n };
        // Spending the same note again later must be refused too.
        report.doubleSpendAttempts++;
        if (await transact(replay, false)) report.doubleSpendsAccepted++;
        else report.doubleSpendsRefused++;
        continue;
      }
      if (!(await transact(spend))) {
        // At the end of the run a spend may still be pending when we stop waiting for it.
        if (stop.signal.aborted) return;
        throw new Error(`user ${index}: a plain spend of its own note was not accepted`);
      }
      if (step.withdraws === true) {
        report.withdrawals++;
        report.withdrawalsWhileRunning++;
      }
      note = { txid: spend.txid, index: 0, amount: step.next };
    }
    const out = build([spendNote(hexToBytes(note.txid), note.index)], [withdraw(WITHDRAW_DESTINATION, note.amount - WITHDRAW_FEE)], u.secret);
    if (await transact(out, false)) report.withdrawals++;
  };

  const signStarted = performance.now();
  const users = Array.from({ length: chains }, () => newUser());
  const ahead = options.signAhead ?? 0;
  // Round by round over the users, so that a run stopped early still has every chain signed equally far.
  for (let k = 0; k < ahead && !stop.signal.aborted; k++) for (const u of users) signAhead(u, 1);
  const signAheadSeconds = ahead > 0 ? (performance.now() - signStarted) / 1000 : 0;
  // Transactions: a claim per user, and per step a spend, or a spend, a rival and a replay.
  const signedAhead = ahead > 0 ? users.reduce((sum, u) => sum + 1 + u.planned.reduce((steps, p) => steps + (p.step.double === undefined ? 1 : 3), 0), 0) : 0;

  options.onClockStarted?.();
  const started = performance.now();
  // Infinity (run until aborted) would overflow setTimeout's 2^31 ms range and fire at once.
  const timer = Number.isFinite(options.durationSeconds) ? setTimeout(() => stop.abort(), options.durationSeconds * 1000) : undefined;
  const progress = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    options.onProgress?.({ elapsedSeconds: elapsed, accepted: report.accepted, acceptedPerSecond: report.accepted / elapsed });
  }, 1000);
  try {
    await Promise.all(
      Array.from({ length: chains }, (_, i) =>
        user(i, users[i]!).catch((error: unknown) => {
          fail(error);
        }),
      ),
    );
  } finally {
    client.destroy();
    clearTimeout(timer);
    clearInterval(progress);
    options.signal?.removeEventListener('abort', onOuterAbort);
  }
  const durationSeconds = (performance.now() - started) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  return {
    durationSeconds,
    ...report,
    acceptedPerSecond: report.accepted / durationSeconds,
    latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1) ?? 0 },
    signedAhead,
    signedAheadStepsUsed: stepsUsed,
    signAheadSeconds,
    ...(firstError === undefined ? {} : { firstError }),
  };
}


function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

