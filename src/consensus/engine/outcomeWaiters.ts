/**
 * What the engine has decided lately, and the long polls waiting for it. Beside the engine, not in
 * its loop: the loop only `record`s each outcome once its event is durable; the API asks here.
 */

export interface TxStatus {
  txid: string;
  status: 'pending' | 'accepted' | 'rejected' | 'unknown';
  session?: number;
  index?: number;
  reason?: string;
}

export interface OutcomeWaiters {
  /** An outcome became durable: remember it and wake its waiters. */
  record(status: TxStatus): void;
  recent(txid: string): TxStatus | undefined;
  /** Resolves with the txid's outcome once recorded, or undefined after `waitMs`, on abort or on `releaseAll`. */
  waitForOutcome(txid: string, waitMs: number, signal?: AbortSignal): Promise<TxStatus | undefined>;
  /**
   * `waitForOutcome` for many txids with one timer and one abort listener: resolves, in order, once
   * every outcome is recorded, or with those recorded so far (undefined for the others) after
   * `waitMs`, on abort or on `releaseAll`.
   */
  waitForOutcomes(txids: readonly string[], waitMs: number, signal?: AbortSignal): Promise<(TxStatus | undefined)[]>;
  /** The engine stopped: wake every waiter now, and answer later waits at once. */
  releaseAll(): void;
}

// Outcomes are remembered only until the transactions projection has surely caught up with them
// (it follows the log within milliseconds); more would only be heap every major GC has to mark.
const RECENT_OUTCOMES = 20_000;

export function createOutcomeWaiters(recentCapacity = RECENT_OUTCOMES): OutcomeWaiters {
  const recent = new Map<string, TxStatus>();
  const waiters = new Map<string, Set<(status: TxStatus | undefined) => void>>();
  let released = false;

  const unwait = (txid: string, wake: (status: TxStatus | undefined) => void) => {
    const set = waiters.get(txid);
    set?.delete(wake);
    if (set?.size === 0) waiters.delete(txid);
  };

  const enlist = (txid: string, wake: (status: TxStatus | undefined) => void) => {
    let set = waiters.get(txid);
    if (set === undefined) waiters.set(txid, (set = new Set()));
    set.add(wake);
  };

  return {
    record(status) {
      recent.set(status.txid, status);
      if (recent.size > recentCapacity) recent.delete(recent.keys().next().value!);
      const set = waiters.get(status.txid);
      if (set === undefined) return;
      waiters.delete(status.txid);
      for (const wake of set) wake(status);
    },
    recent: (txid) => recent.get(txid),
    waitForOutcome(txid, waitMs, signal) {
      const known = recent.get(txid);
      if (known !== undefined) return Promise.resolve(known);
      if (waitMs <= 0 || signal?.aborted || released) return Promise.resolve(undefined);
      return new Promise<TxStatus | undefined>((resolve) => {
        const finish = (status: TxStatus | undefined) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          unwait(txid, finish);
          resolve(status);
        };
        const onAbort = () => finish(undefined);
        const timer = setTimeout(onAbort, waitMs);
        enlist(txid, finish);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    waitForOutcomes(txids, waitMs, signal) {
      const outcomes = txids.map((txid) => recent.get(txid));
      let missing = 0;
      for (const outcome of outcomes) if (outcome === undefined) missing++;
      if (missing === 0 || waitMs <= 0 || signal?.aborted || released) return Promise.resolve(outcomes);
      return new Promise<(TxStatus | undefined)[]>((resolve) => {
        let finished = false;
        // Where each awaited txid stands in `txids` (a batch may name one twice).
        const positions = new Map<string, number[]>();
        const finish = () => {
          if (finished) return;
          finished = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', finish);
          // The woken txids' sets are gone already (record deletes them); release the others.
          for (const txid of positions.keys()) unwait(txid, wake);
          resolve(outcomes);
        };
        // Woken with each recorded outcome, or with undefined by releaseAll.
        const wake = (status: TxStatus | undefined) => {
          if (status === undefined) return finish();
          for (const i of positions.get(status.txid) ?? []) {
            outcomes[i] = status;
            missing--;
          }
          if (missing === 0) finish();
        };
        const timer = setTimeout(finish, waitMs);
        for (let i = 0; i < txids.length; i++) {
          if (outcomes[i] !== undefined) continue;
          const txid = txids[i]!;
          const at = positions.get(txid);
          if (at !== undefined) {
            at.push(i);
            continue;
          }
          positions.set(txid, [i]);
          enlist(txid, wake);
        }
        signal?.addEventListener('abort', finish, { once: true });
      });
    },
    releaseAll() {
      released = true;
      for (const set of [...waiters.values()]) for (const wake of [...set]) wake(undefined);
      waiters.clear();
    },
  };
}
