import { bytesToHex } from '../../../domain/hashing.ts';
import type { Dag } from '../dag/dag.ts';
import type { Reconstruction } from '../dag/reconstruction.ts';
import type { SignedUnit } from '../unit.ts';
import type { BroadcastMessage } from './messages.ts';
import type { PeerBudget } from './peerBudget.ts';

type Request = Extract<BroadcastMessage, { kind: 'coordRequest' | 'parentsRequest' | 'newestUnitRequest' }>;

/**
 * Answers peers' requests, only ever from the DAG: units whose save through the UnitSaver resolved.
 * A unit that is reconstructed but not yet durable must not leave the node: if it crashed then, it
 * would create a different unit for that round and peers would hold both (a fork of its own making).
 * Every answer is charged to the asking peer's budget, so a peer that only sends requests gets a
 * bounded number of answers.
 */
export interface Responder {
  answer(from: number, request: Request): void;
  /** Requests left unanswered because the asker's budget was spent. */
  readonly refused: number;
}

export function createResponder(options: {
  dag: Dag;
  reconstruction: Reconstruction;
  budget: PeerBudget;
  send: (to: number, message: BroadcastMessage) => void;
}): Responder {
  const { dag, reconstruction, budget, send } = options;
  let refused = 0;

  const durable = (hash: string) => (dag.has(hash) ? reconstruction.get(hash) : undefined);

  function reply(to: number, units: number, message: BroadcastMessage): void {
    if (!budget.take(to, Math.max(1, units))) {
      refused++;
      return;
    }
    send(to, message);
  }

  return {
    get refused() {
      return refused;
    },
    answer(from, request) {
      switch (request.kind) {
        case 'coordRequest': {
          const unit = dag.at(request.value.creator, request.value.round);
          if (unit !== undefined) reply(from, 1, { kind: 'unit', value: unit.unit });
          return;
        }
        case 'parentsRequest': {
          const unit = durable(bytesToHex(request.value.hash));
          if (unit === undefined) return;
          // Parents were saved before their child, so every parent of a durable unit is durable.
          const parents: SignedUnit[] = unit.parents.flatMap((p) => (p === null ? [] : [reconstruction.get(p)!.unit]));
          return reply(from, parents.length, { kind: 'parentsResponse', value: { hash: request.value.hash, parents } });
        }
        case 'newestUnitRequest': {
          const newest = dag.at(from, dag.newestRound(from));
          return reply(from, 1, { kind: 'newestUnitResponse', value: { nonce: request.value.nonce, unit: newest?.unit } });
        }
      }
    },
  };
}
