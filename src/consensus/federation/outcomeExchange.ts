/**
 * Catch-up between guardians: a guardian in an older session is sent that session's signed outcome
 * (from our log), and a guardian that sees peers in a newer session asks for the outcome of its own.
 * The receiver trusts signatures, not the sender: the engine completes the session only with a
 * threshold of valid ones. Answers are bounded per peer, so requests cannot make us read the log at
 * will.
 */
import { decodeSignedSessionOutcome, encodeSignedSessionOutcome, signedSessionOutcomeFromJson } from '../../domain/sessionOutcome.ts';
import type { ModuleCodecRegistry } from '../../domain/module.ts';
import { readSignedSessionOutcome } from '../../projections/signedOutcomes.ts';
import type { EventLog } from '../../streams/eventLog.ts';
import type { FederationLinks } from './federationLinks.ts';
import type { BroadcastOrdering } from './broadcastOrdering.ts';

export interface OutcomeExchangeOptions {
  links: FederationLinks;
  log: EventLog;
  ordering: BroadcastOrdering;
  registry: ModuleCodecRegistry;
  /** The session this guardian's engine has open. */
  currentSession(): number;
  /** Answers per peer per second (default 50). */
  answersPerSecond?: number;
  signal: AbortSignal;
}

export interface OutcomeExchange {
  /** The broadcast saw `from` in `session` (not ours). */
  peerInSession(from: number, session: number): void;
  /** Outcomes received and sent, for /v1/peers and metrics. */
  counts(): { sent: number; received: number; undecodable: number };
}

const KEPT_OUTCOMES = 16;

export function startOutcomeExchange(options: OutcomeExchangeOptions): OutcomeExchange {
  const { links, log, ordering, currentSession } = options;
  const perSecond = options.answersPerSecond ?? 50;
  const answered = new Map<number, { second: number; count: number }>();
  // Recent outcomes encoded once: several behind peers usually ask for the same sessions.
  const kept = new Map<number, Uint8Array>();
  const counts = { sent: 0, received: 0, undecodable: 0 };

  const withinBudget = (peer: number) => {
    const second = Math.floor(Date.now() / 1000);
    const spent = answered.get(peer);
    if (spent === undefined || spent.second !== second) {
      answered.set(peer, { second, count: 1 });
      return true;
    }
    return ++spent.count <= perSecond;
  };

  const encodedOutcome = async (session: number): Promise<Uint8Array | undefined> => {
    const cached = kept.get(session);
    if (cached !== undefined) return cached;
    const record = await readSignedSessionOutcome(log, session);
    if (record === undefined) return undefined;
    const signed = signedSessionOutcomeFromJson({ items: record.items.map(({ peer, item }) => ({ peer, item })), signatures: record.signatures }, options.registry);
    if (!signed.ok) return undefined;
    const encoded = encodeSignedSessionOutcome(signed.value);
    kept.set(session, encoded);
    if (kept.size > KEPT_OUTCOMES) kept.delete(kept.keys().next().value!);
    return encoded;
  };

  const answer = (peer: number, session: number) => {
    if (session >= currentSession() || !withinBudget(peer)) return;
    encodedOutcome(session).then(
      (signed) => {
        if (signed === undefined || options.signal.aborted) return;
        counts.sent++;
        links.send(peer, { kind: 'outcome', value: { session: BigInt(session), signed } });
      },
      () => undefined,
    );
  };

  const subscription = links.control$.subscribe(({ from, message }) => {
    if (message.kind === 'outcomeRequest') {
      if (message.value.session <= BigInt(Number.MAX_SAFE_INTEGER)) answer(from, Number(message.value.session));
      return;
    }
    if (message.kind !== 'outcome') return;
    const session = Number(message.value.session);
    if (session !== currentSession()) return;
    const decoded = decodeSignedSessionOutcome(message.value.signed, options.registry);
    if (!decoded.ok) {
      counts.undecodable++;
      return;
    }
    counts.received++;
    ordering.offerOutcome(session, decoded.value);
  });
  options.signal.addEventListener('abort', () => subscription.unsubscribe(), { once: true });

  return {
    peerInSession(from, session) {
      const ours = currentSession();
      if (session < ours) answer(from, session);
      else if (session > ours) links.send(from, { kind: 'outcomeRequest', value: { session: BigInt(ours) } });
    },
    counts: () => ({ ...counts }),
  };
}
