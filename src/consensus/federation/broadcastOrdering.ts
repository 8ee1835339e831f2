/**
 * The ordering of a federation (n >= 4): one atomic broadcast instance per session behind the
 * engine's ordering port. Own units carry batches of submitted items (each txid proposed once per
 * session) and, once the engine signed header(i), that signature; ordered units come back as the
 * engine's input, racing the signed outcomes peers send for the session.
 */
import { Subject } from 'rxjs';
import { decodeUnitData, encodedBatchSize, encodeUnitData, MAX_UNIT_DATA_BYTES, type UnitData } from '../../domain/unitData.ts';
import type { Keychain } from '../../domain/keychain.ts';
import type { ModuleCodecRegistry } from '../../domain/module.ts';
import type { SignedSessionOutcome } from '../../domain/sessionOutcome.ts';
import type { EventLog } from '../../streams/eventLog.ts';
import { startBroadcastNode, type BroadcastEvent, type OrderedUnit as BroadcastUnit } from '../broadcast/broadcastNode.ts';
import { systemClock, type Clock } from '../broadcast/clock.ts';
import { broadcastConfig } from '../broadcast/config.ts';
import { unitSignerFromKeychain } from '../broadcast/signer.ts';
import type { Ordering, OrderingEvent, SessionOrdering } from '../engine/ordering.ts';
import type { Submission, SubmissionQueue } from '../engine/submissionQueue.ts';
import { dagSaver, deleteDagBackup, readDagBackup } from './dagBackup.ts';
import type { FederationLinks } from './federationLinks.ts';

export interface BroadcastOrderingOptions {
  keychain: Keychain;
  links: FederationLinks;
  /** Where `dag-<i>` lives. */
  log: EventLog;
  registry: ModuleCodecRegistry;
  proposals: SubmissionQueue;
  roundDelayMs: number;
  roundsPerSession: number;
  clock?: Clock;
  /** A peer is in another session than ours (see outcomeExchange.ts). */
  onOtherSession?(from: number, session: number): void;
  onEvent?(session: number, event: BroadcastEvent): void;
  /** An own unit of `round` was ordered while this node was creating round `now`. */
  onOwnUnitOrdered?(rounds: number): void;
  /** Seeds the broadcast's choices (tests); production draws a fresh seed. */
  seed?: number;
}

export interface BroadcastOrdering extends Ordering {
  /** A peer's signed outcome for `session`: offered to the engine if that session is the open one. */
  offerOutcome(session: number, outcome: SignedSessionOutcome): void;
  /** The session most recently opened (the engine's current session). */
  session(): number;
  /** The open session's broadcast status (for /v1/peers and metrics). */
  current(): { session: number; status: ReturnType<ReturnType<typeof startBroadcastNode>['status']> } | undefined;
}

/** Our own unit data: built within the limit, so a refusal here is a bug. */
function ownUnitData(data: UnitData): Uint8Array {
  const encoded = encodeUnitData(data);
  if (!encoded.ok) throw new Error(`own unit data cannot be encoded: ${encoded.error.kind}`);
  return encoded.value;
}

export function broadcastOrdering(options: BroadcastOrderingOptions): BroadcastOrdering {
  const { keychain, links, log, proposals } = options;
  const n = keychain.federation.size;
  const self = keychain.peer;
  let open: { session: number; events: Subject<OrderingEvent>; node: ReturnType<typeof startBroadcastNode> } | undefined;
  let lastOpened = 0;

  return {
    openSession(session): SessionOrdering {
      lastOpened = session;
      const abort = new AbortController();
      const events = new Subject<OrderingEvent>();
      const queue: OrderingEvent[] = [];
      let failure: unknown;
      let wake: (() => void) | undefined;
      const push = (event: OrderingEvent) => {
        queue.push(event);
        wake?.();
      };
      const eventsSubscription = events.subscribe(push);

      // Own units' submissions by round: an ordered own unit hands the engine the very items
      // admission checked (their signatures are not verified again).
      const ownUnits = new Map<number, Submission[]>();
      const proposedKeys = new Set<string>();
      let carried: Submission | undefined;
      let signature: Uint8Array | undefined;
      /** A unit of round >= roundsPerSession was ordered: the engine processes no batch after it. */
      let roundsOver = false;

      const nextBatch = (round: number): Uint8Array => {
        const batch: Submission[] = [];
        let itemBytes = 0;
        for (;;) {
          const next = carried ?? proposals.take(1)[0];
          carried = undefined;
          if (next === undefined) break;
          if (proposedKeys.has(next.key)) {
            proposals.settled([next]);
            continue;
          }
          if (encodedBatchSize(itemBytes + next.encoded.length, batch.length + 1) > MAX_UNIT_DATA_BYTES) {
            carried = next;
            break;
          }
          itemBytes += next.encoded.length;
          batch.push(next);
          proposedKeys.add(next.key);
        }
        ownUnits.set(round, batch);
        return ownUnitData({ kind: 'batch', items: batch.map((s) => s.item) });
      };

      const toEvent = (unit: BroadcastUnit): OrderingEvent | undefined => {
        const decoded = decodeUnitData(unit.data, options.registry);
        // A unit with undecodable data orders nothing: its creator's loss, nobody else's.
        if (!decoded.ok) return undefined;
        let data = decoded.value;
        if (unit.round >= options.roundsPerSession) roundsOver = true;
        // Own items ordered too late for this session stay in ownUnits: close() proposes them again.
        if (unit.creator === self && data.kind === 'batch' && !roundsOver) {
          const own = ownUnits.get(unit.round);
          if (own !== undefined && own.length === data.items.length) data = { kind: 'batch', items: own.map((s) => s.item) };
          ownUnits.delete(unit.round);
        }
        return { kind: 'unit', unit: { creator: unit.creator, round: unit.round, data, recorded: { hash: unit.hash, data: unit.data } } };
      };

      const started = readDagBackup(log, session).then((backup) => {
        if (abort.signal.aborted) return;
        const node = startBroadcastNode({
          config: broadcastConfig({ n, peer: self, session: BigInt(session), roundDelayMs: options.roundDelayMs, roundsPerSession: options.roundsPerSession }),
          signer: unitSignerFromKeychain(keychain),
          network: links.network,
          clock: options.clock ?? systemClock,
          saver: dagSaver(log, session),
          backup,
          data: (round) => (signature === undefined ? nextBatch(round) : ownUnitData({ kind: 'signature', signature })),
          signal: abort.signal,
          ...(options.seed === undefined ? {} : { seed: options.seed + session }),
          onEvent: (event) => options.onEvent?.(session, event),
          onOtherSession: (from, other) => options.onOtherSession?.(from, Number(other)),
        });
        node.ordered$.subscribe({
          next(unit) {
            if (unit.creator === self) options.onOwnUnitOrdered?.(Math.max(0, node.status().round - unit.round));
            const event = toEvent(unit);
            if (event !== undefined) events.next(event);
          },
          error(error: unknown) {
            failure = error;
            wake?.();
          },
        });
        open = { session, events, node };
      });
      started.catch((error: unknown) => {
        failure = error;
        wake?.();
      });

      return {
        replaysRecordedItems: true,
        ready: () => queue.length,
        async next(signal) {
          for (;;) {
            if (failure !== undefined) throw failure;
            if (signal.aborted) return undefined;
            const event = queue.shift();
            if (event !== undefined) return event;
            await new Promise<void>((resolve) => {
              const onAbort = () => resolve();
              wake = () => {
                signal.removeEventListener('abort', onAbort);
                resolve();
              };
              signal.addEventListener('abort', onAbort, { once: true });
            });
            wake = undefined;
          }
        },
        proposeSignature(own) {
          signature = own;
        },
        async close(completed) {
          abort.abort();
          eventsSubscription.unsubscribe();
          if (open?.session === session) open = undefined;
          await started.catch(() => undefined);
          // Items taken for units that were not ordered in time are proposed again next session.
          const leftovers = [...ownUnits.values()].flat();
          if (carried !== undefined) leftovers.push(carried);
          proposals.putBack(leftovers);
          if (completed) await deleteDagBackup(log, session);
        },
      };
    },
    offerOutcome(session, outcome) {
      if (open?.session === session) open.events.next({ kind: 'signedOutcome', outcome });
    },
    session: () => lastOpened,
    current: () => (open === undefined ? undefined : { session: open.session, status: open.node.status() }),
  };
}
