/**
 * Four engines joined over in-memory links: the federation's consensus (broadcast ordering,
 * signature collection, catch-up) without processes or TLS, each guardian on its own memory log.
 */
import { startEngine, type Engine } from '../../../src/consensus/engine/engine.ts';
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
}

export interface TestFederation {
  hub: MemoryLinkHub;
  guardians: (Guardian | undefined)[];
  /** Starts guardian `peer` on `log` (a fresh one by default). */
  start(peer: number, log?: EventLog): Promise<Guardian>;
  stop(peer: number): Promise<EventLog>;
  stopAll(): Promise<void>;
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
    async start(peer, given) {
      const log = given ?? (await federationLog());
      const keychain = keychains[peer]!;
      const member = startFederationMember({
        keychain,
        log,
        links: hub.links(peer),
        consensusHash: CONSENSUS_HASH,
        registry: defaultModuleCodecs,
        roundDelayMs: options.roundDelayMs ?? 5,
        roundsPerSession: options.roundsPerSession ?? 12,
        seed: options.seed * 10 + peer,
      });
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
        ordering: (proposals) => member.ordering(proposals),
        seedLedger: () => recordedLedger(log),
      });
      const guardian = { peer, log, engine, member };
      guardians[peer] = guardian;
      return guardian;
    },
    async stop(peer) {
      const guardian = guardians[peer]!;
      guardians[peer] = undefined;
      await guardian.engine.stop();
      guardian.member.close();
      return guardian.log;
    },
    async stopAll() {
      for (let peer = 0; peer < N; peer++) if (guardians[peer] !== undefined) await federation.stop(peer);
    },
  };
  return federation;
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
