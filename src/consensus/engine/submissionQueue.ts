/**
 * The bounded queue between the API and the session loop. Bounded so a flood of submissions turns
 * into 503 + Retry-After at the door instead of unbounded memory; a queued item is never dropped,
 * only taken by the loop (or lost with the process, which is fine: "queued" promises nothing).
 */
import type { ConsensusItem } from '../../domain/consensusItem.ts';
import type { SignatureCheck } from '../../domain/signatureBackend.ts';

export interface Submission {
  item: ConsensusItem;
  /** The item's consensus encoding (hex in ItemAccepted, and the input of the merkle leaf). */
  encoded: Uint8Array;
  /** sha256(enc(AcceptedItem)) with this guardian as the peer. */
  itemHash: Uint8Array;
  /** What duplicates are recognised by: the txid (hex) of a transaction, the item hash of a module item. */
  key: string;
  /** Transactions only, hex. */
  txid?: string;
  /** Transactions only: the transaction's canonical encoding inside `encoded` (the ledger hashes it for the txid). */
  encodedTransaction?: Uint8Array;
  /** Signature checks that passed at submission (not re-verified in the loop). */
  verified: readonly SignatureCheck[];
  /** performance.now() at submission, for the ordering latency metric. */
  submittedAt: number;
}

export interface SubmissionQueue {
  readonly size: number;
  readonly capacity: number;
  /** false when the queue is full; the caller answers queueFull. */
  push(submission: Submission): boolean;
  /** Whether an item with this key is queued or being processed. */
  isPending(key: string): boolean;
  /** Up to `max` submissions in arrival order; their txids stay pending until `settled`. */
  take(max: number): Submission[];
  /**
   * Taken items that were not ordered after all (a session ended before the unit carrying them was
   * ordered): they go back to the front, in order, still pending, whatever the capacity.
   */
  putBack(batch: readonly Submission[]): void;
  /** The loop has recorded (or rejected) these: they are no longer pending. */
  settled(batch: readonly Submission[]): void;
  /** Resolves once the queue is non-empty (immediately if it already is) or the signal aborts. */
  whenNonEmpty(signal: AbortSignal): Promise<void>;
}

export function createSubmissionQueue(capacity: number): SubmissionQueue {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be a positive integer, got ${capacity}`);
  let items: Submission[] = [];
  let head = 0;
  const pending = new Set<string>();
  let wake: (() => void) | undefined;

  return {
    get size() {
      return items.length - head;
    },
    capacity,
    push(submission) {
      if (items.length - head >= capacity) return false;
      items.push(submission);
      pending.add(submission.key);
      const w = wake;
      wake = undefined;
      w?.();
      return true;
    },
    isPending: (key) => pending.has(key),
    take(max) {
      const end = Math.min(items.length, head + max);
      const batch = items.slice(head, end);
      head = end;
      // Compact once the consumed prefix dominates, so take() stays O(batch) amortised.
      if (head > 1024 && head * 2 > items.length) {
        items = items.slice(head);
        head = 0;
      }
      return batch;
    },
    putBack(batch) {
      if (batch.length === 0) return;
      items = [...batch, ...items.slice(head)];
      head = 0;
      const w = wake;
      wake = undefined;
      w?.();
    },
    settled(batch) {
      for (const submission of batch) pending.delete(submission.key);
    },
    whenNonEmpty(signal) {
      if (items.length - head > 0 || signal.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    },
  };
}
