/**
 * An engine of a four-guardian federation fed by a scripted ordering: the test says which units
 * (and signed outcomes) are ordered, in which order, so the engine's side of the ordering port is
 * tested without a broadcast.
 */
import type { Engine, EngineOptions } from '../../../src/consensus/engine/engine.ts';
import { startEngine } from '../../../src/consensus/engine/engine.ts';
import type { Ordering, OrderingEvent, SessionOrdering, UnitData } from '../../../src/consensus/engine/ordering.ts';
import { inlineSignatureChecker } from '../../../src/consensus/engine/signatureChecks.ts';
import { decodeConsensusItem, type ConsensusItem } from '../../../src/domain/consensusItem.ts';
import { createKeychain, type Keychain } from '../../../src/domain/keychain.ts';
import { initialLedgerState, ledgerRules, processItem } from '../../../src/domain/ledger.ts';
import { createModules, defaultModuleCodecs } from '../../../src/domain/modules/consensusModules.ts';
import { depositObserved } from '../../../src/domain/modules/wallet.ts';
import { nobleBackend } from '../../../src/domain/signatures/noble.ts';
import { hexToBytes } from '../../../src/domain/hashing.ts';
import type { EventLog } from '../../../src/streams/eventLog.ts';
import { newEvent, streams } from '../../../src/streams/events.ts';
import { createMemoryEventLog } from '../../../src/streams/memoryEventLog.ts';

export const N = 4;
export const ROUNDS = 10;
export const SECRETS = [1, 2, 3, 4].map((k) => hexToBytes(k.toString(16).padStart(64, '0')));
export const KEYS = new Map(SECRETS.map((secret, peer) => [peer, nobleBackend.publicKey(secret)]));
export const keychains: Keychain[] = SECRETS.map((secretKey) => createKeychain({ federation: KEYS, secretKey }));

export async function federationLog(): Promise<EventLog> {
  const log = createMemoryEventLog();
  // The engine reads only when the federation was configured (session 0 opens then).
  await log.append(streams.federation, [newEvent('FederationConfigured', { peers: [], threshold: 3, keys: {}, consensusHash: '' } as never)]);
  return log;
}

export const unit = (creator: number, round: number, data: UnitData): OrderingEvent => ({ kind: 'unit', unit: { creator, round, data } });
export const batch = (creator: number, round: number, items: ConsensusItem[]) => unit(creator, round, { kind: 'batch', items });

export function deposit(id: number, amount = 10_000n): ConsensusItem {
  return depositObserved({ depositId: hexToBytes(id.toString(16).padStart(64, '0')), amount, recipient: KEYS.get(0)! });
}

/** The ordering of one session at a time, from a script; our own signature is ordered as soon as it is proposed. */
export function scriptedOrdering(script: (session: number) => OrderingEvent[], options: { replays?: boolean } = {}) {
  const proposed: Uint8Array[] = [];
  const ordering: Ordering = {
    openSession(session): SessionOrdering {
      const queue = [...script(session)];
      let wake: (() => void) | undefined;
      return {
        replaysRecordedItems: options.replays ?? false,
        ready: () => queue.length,
        async next(signal) {
          while (queue.length === 0) {
            if (signal.aborted) return undefined;
            await new Promise<void>((resolve) => {
              wake = resolve;
              signal.addEventListener('abort', () => resolve(), { once: true });
            });
          }
          return signal.aborted ? undefined : queue.shift();
        },
        proposeSignature(signature) {
          proposed.push(signature);
          queue.unshift(unit(0, ROUNDS + 1, { kind: 'signature', signature }));
          wake?.();
        },
        close: () => Promise.resolve(),
      };
    },
  };
  return { ordering, proposed };
}

export function engineOfPeer0(log: EventLog, ordering: Ordering, extra: Partial<EngineOptions> = {}): Promise<Engine> {
  const rules = ledgerRules({ peerCount: N, modules: createModules() });
  return startEngine({
    log,
    keychain: keychains[0]!,
    rules,
    checker: inlineSignatureChecker(nobleBackend),
    sessionSeconds: 3600,
    roundsPerSession: ROUNDS,
    queueCapacity: 100,
    ordering: () => ordering,
    seedLedger: () => recordedLedger(log),
    ...extra,
  });
}

/** The ledger after every item the log accepted (what the ledger projection gives a restarted guardian). */
export async function recordedLedger(log: EventLog) {
  const rules = ledgerRules({ peerCount: N, modules: createModules() });
  let state = initialLedgerState(rules);
  for await (const event of log.readAll()) {
    if (event.type !== 'ItemAccepted') continue;
    const data = event.data as { item: string; peer: number };
    const decoded = decodeConsensusItem(hexToBytes(data.item), defaultModuleCodecs);
    if (!decoded.ok) throw new Error('the log holds an undecodable item');
    const outcome = processItem(rules, state, decoded.value, data.peer);
    if (!outcome.ok) throw new Error(`the log holds an item the ledger rejects: ${outcome.reason}`);
    state = outcome.state;
  }
  return state;
}
