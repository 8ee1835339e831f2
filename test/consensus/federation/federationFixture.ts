/**
 * Four engines joined over in-memory links: the federation's consensus (broadcast ordering,
 * signature collection, catch-up) without processes or TLS, each guardian on its own memory log.
 */
import { startEngine, type Engine } from '../../../src/consensus/engine/engine.ts';
import type { Ordering } from '../../../src/consensus/engine/ordering.ts';
import { inlineSignatureChecker } from '../../../src/consensus/engine/signatureChecks.ts';
import { startFederationMember, type FederationMember } from '../../../src/consensus/federation/federationMember.ts';
import { ledgerRules } from '../../../src/domain/ledger.ts';
import { createModules, defaultModuleCodecs } from '../../../src/domain/modules/consensusModules.ts';
import { nobleBackend } from '../../../src/domain/signatures/noble.ts';
import type { EventLog } from '../../../src/streams/eventLog.ts';
import { streams } from '../../../src/streams/events.ts';
import { federationLog, keychains, N, recordedLedger } from '../engine/scriptedOrdering.ts';
import { memoryLinkHub, type MemoryLinkHub } from './memoryLinks.ts';

export const CONSENSUS_HASH = new Uint8Array(32).fill(0x42);

export interface Guardian {
  peer: number;
  log: EventLog;
  engine: Engine;
  member: FederationMember;
  /** Forks this guardian's broadcast detected, by forker. */
  forkers: Set<number>;
}

export interface TestFederation {
  hub: MemoryLinkHub;
  guardians: (Guardian | undefined)[];
  /** Starts guardian `peer` on `log` (a fresh one by default). */
  start(peer: number, log?: EventLog, byzantine?: Byzantine): Promise<Guardian>;
  stop(peer: number): Promise<EventLog>;
  stopAll(): Promise<void>;
}

/** What a byzantine guardian of the test does besides running the protocol. */
export interface Byzantine {
  /** Runs under another consensus hash (its engine waits for an agreement that never comes). */
  consensusHash?: Uint8Array;
  /** Proposes a corrupted signature share of each header. */
  badSignatureShares?: boolean;
}

export interface FederationOptions {
  roundDelayMs?: number;
  roundsPerSession?: number;
  seed: number;
}

export function testFederation(options: FederationOptions): TestFederation {
  const hub = memoryLinkHub(N);
  const guardians: (Guardian | undefined)[] = Array.from({ length: N }, () => undefined);
  const federation: TestFederation = {
    hub,
    guardians,
    async start(peer, given, byzantine = {}) {
      const log = given ?? (await federationLog());
      const keychain = keychains[peer]!;
      const forkers = new Set<number>();
      const member = startFederationMember({
        onBroadcastEvent: (_session, event) => {
          if (event.kind === 'forkDetected') forkers.add(event.forker);
        },
        keychain,
        log,
        links: hub.links(peer),
        consensusHash: byzantine.consensusHash ?? CONSENSUS_HASH,
        registry: defaultModuleCodecs,
        roundDelayMs: options.roundDelayMs ?? 5,
        roundsPerSession: options.roundsPerSession ?? 12,
        seed: options.seed * 10 + peer,
      });
      if (byzantine.consensusHash !== undefined) {
        // Nobody confirms another hash: this guardian never gets to its first session.
        const guardian = { peer, log, engine: undefined as never, member, forkers };
        guardians[peer] = guardian;
        return guardian;
      }
      await member.hashCheck.agreed;
      const rules = ledgerRules({ peerCount: N, modules: createModules() });
      const engine = await startEngine({
        log,
        keychain,
        rules,
        checker: inlineSignatureChecker(nobleBackend),
        sessionSeconds: 3600,
        roundsPerSession: options.roundsPerSession ?? 12,
        queueCapacity: 1000,
        ordering: (proposals) => (byzantine.badSignatureShares ? corruptingShares(member.ordering(proposals)) : member.ordering(proposals)),
        seedLedger: () => recordedLedger(log),
      });
      const guardian = { peer, log, engine, member, forkers };
      guardians[peer] = guardian;
      return guardian;
    },
    async stop(peer) {
      const guardian = guardians[peer]!;
      guardians[peer] = undefined;
      // A guardian under another consensus hash never started its engine.
      if ((guardian.engine as Engine | undefined) !== undefined) await guardian.engine.stop();
      guardian.member.close();
      return guardian.log;
    },
    async stopAll() {
      for (let peer = 0; peer < N; peer++) if (guardians[peer] !== undefined) await federation.stop(peer);
    },
  };
  return federation;
}

/** An ordering whose guardian proposes a corrupted share of every header signature. */
function corruptingShares(ordering: Ordering): Ordering {
  return {
    openSession(session, openedAt) {
      const inner = ordering.openSession(session, openedAt);
      return {
        replaysRecordedItems: inner.replaysRecordedItems,
        next: (signal) => inner.next(signal),
        proposeSignature: (signature) => inner.proposeSignature(signature.map((byte, i) => (i === 7 ? byte ^ 0x40 : byte))),
        close: (completed) => inner.close(completed),
      };
    },
  };
}

/** The headers of sessions 0..count-1 in a guardian's log (undefined where not complete). */
export async function headers(log: EventLog, count: number): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (let session = 0; session < count; session++) {
    const events = await log.readStream(streams.session(session));
    const completed = events.find((e) => e.type === 'SessionCompleted');
    out.push(completed === undefined ? undefined : (completed.data as { header: string }).header);
  }
  return out;
}

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the federation');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
