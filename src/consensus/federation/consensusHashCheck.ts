/**
 * DESIGN.md: before the first session, wait until `threshold` guardians (this one included) have
 * confirmed the same consensus hash over their links. A peer with another hash is reported loudly
 * and excluded; it never stops the others. Hellos keep being answered afterwards, so a guardian that
 * starts later is confirmed too.
 */
import { equalBytes, bytesToHex } from '../../domain/hashing.ts';
import type { FederationLinks } from './federationLinks.ts';

export interface ConsensusHashCheckOptions {
  links: FederationLinks;
  self: number;
  n: number;
  threshold: number;
  consensusHash: Uint8Array;
  /** How often unconfirmed peers are greeted again. */
  retryMs?: number;
  onMismatch?(peer: number, theirs: string): void;
  signal: AbortSignal;
}

export interface ConsensusHashCheck {
  /** Resolves once threshold guardians agree; rejects if `signal` aborts first. */
  readonly agreed: Promise<void>;
  confirmed(): number[];
  mismatched(): number[];
}

export function startConsensusHashCheck(options: ConsensusHashCheckOptions): ConsensusHashCheck {
  const { links, self, n, consensusHash, signal } = options;
  const confirmed = new Set<number>([self]);
  const mismatched = new Set<number>();
  let resolveAgreed!: () => void;
  let rejectAgreed!: (error: Error) => void;
  const agreed = new Promise<void>((resolve, reject) => {
    resolveAgreed = resolve;
    rejectAgreed = reject;
  });
  agreed.catch(() => undefined);
  const check = () => {
    if (confirmed.size >= options.threshold) resolveAgreed();
  };
  check();

  const subscription = links.control$.subscribe(({ from, message }) => {
    if (message.kind !== 'hello' || from === self || from >= n || mismatched.has(from)) return;
    if (!equalBytes(message.value.consensusHash, consensusHash)) {
      mismatched.add(from);
      links.exclude(from);
      options.onMismatch?.(from, bytesToHex(message.value.consensusHash));
      return;
    }
    // Every greeting is answered (a restarted peer greets again); answers are not.
    if (!message.value.answer) links.send(from, { kind: 'hello', value: { consensusHash, answer: true } });
    if (!confirmed.has(from)) {
      confirmed.add(from);
      check();
    }
  });
  const greet = () => {
    for (let peer = 0; peer < n; peer++) if (!confirmed.has(peer) && !mismatched.has(peer)) links.send(peer, { kind: 'hello', value: { consensusHash, answer: false } });
  };
  greet();
  const timer = setInterval(greet, options.retryMs ?? 1_000);
  signal.addEventListener(
    'abort',
    () => {
      clearInterval(timer);
      subscription.unsubscribe();
      rejectAgreed(new Error('stopped before the federation agreed on the consensus hash'));
    },
    { once: true },
  );
  return { agreed, confirmed: () => [...confirmed].sort((a, b) => a - b), mismatched: () => [...mismatched].sort((a, b) => a - b) };
}
