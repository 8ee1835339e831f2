/**
 * One guardian's membership of a federation (n >= 4), composed: its links to the peers, the
 * consensus-hash check the first session waits for, the broadcast ordering the engine consumes, and
 * the outcome exchange that lets a guardian behind catch up. The engine sees only the ordering.
 */
import type { Keychain } from '../../domain/keychain.ts';
import type { ModuleCodecRegistry } from '../../domain/module.ts';
import type { EventLog } from '../../streams/eventLog.ts';
import type { BroadcastEvent } from '../broadcast/broadcastNode.ts';
import type { Clock } from '../broadcast/clock.ts';
import type { Ordering } from '../engine/ordering.ts';
import type { SubmissionQueue } from '../engine/submissionQueue.ts';
import { broadcastOrdering, type BroadcastOrdering } from './broadcastOrdering.ts';
import { startConsensusHashCheck, type ConsensusHashCheck } from './consensusHashCheck.ts';
import { federationLinks, type FederationLinks, type Links } from './federationLinks.ts';
import { startOutcomeExchange, type OutcomeExchange } from './outcomeExchange.ts';

export interface FederationMemberOptions {
  keychain: Keychain;
  log: EventLog;
  links: Links;
  consensusHash: Uint8Array;
  registry: ModuleCodecRegistry;
  roundDelayMs: number;
  roundsPerSession: number;
  clock?: Clock;
  seed?: number;
  onMismatch?(peer: number, theirs: string): void;
  onBroadcastEvent?(session: number, event: BroadcastEvent): void;
  onOwnUnitOrdered?(rounds: number): void;
}

export interface FederationMember {
  readonly links: FederationLinks;
  /** Resolves once threshold guardians confirmed our consensus hash: the first session waits for it. */
  readonly hashCheck: ConsensusHashCheck;
  /** The ordering for EngineOptions.ordering. */
  ordering(proposals: SubmissionQueue): Ordering;
  /** The open session's broadcast, and the catch-up counts. */
  status(): { broadcast: ReturnType<BroadcastOrdering['current']>; outcomes: ReturnType<OutcomeExchange['counts']> | undefined };
  close(): void;
}

export function startFederationMember(options: FederationMemberOptions): FederationMember {
  const { keychain } = options;
  const stop = new AbortController();
  const links = federationLinks(options.links);
  const n = keychain.federation.size;
  const hashCheck = startConsensusHashCheck({
    links,
    self: keychain.peer,
    n,
    threshold: keychain.threshold,
    consensusHash: options.consensusHash,
    signal: stop.signal,
    ...(options.onMismatch === undefined ? {} : { onMismatch: options.onMismatch }),
  });
  let ordering: BroadcastOrdering | undefined;
  let exchange: OutcomeExchange | undefined;
  return {
    links,
    hashCheck,
    ordering(proposals) {
      ordering = broadcastOrdering({
        keychain,
        links,
        log: options.log,
        registry: options.registry,
        proposals,
        roundDelayMs: options.roundDelayMs,
        roundsPerSession: options.roundsPerSession,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        ...(options.seed === undefined ? {} : { seed: options.seed }),
        onOtherSession: (from, session) => exchange?.peerInSession(from, session),
        ...(options.onBroadcastEvent === undefined ? {} : { onEvent: options.onBroadcastEvent }),
        ...(options.onOwnUnitOrdered === undefined ? {} : { onOwnUnitOrdered: options.onOwnUnitOrdered }),
      });
      const opened = ordering;
      exchange = startOutcomeExchange({ links, log: options.log, registry: options.registry, ordering: opened, currentSession: () => opened.session(), signal: stop.signal });
      return opened;
    },
    status: () => ({ broadcast: ordering?.current(), outcomes: exchange?.counts() }),
    close() {
      stop.abort();
      links.close();
    },
  };
}
