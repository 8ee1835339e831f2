import { z } from 'zod';
import { isEvent } from '../streams/events.ts';
import type { RecordedEvent } from '../streams/eventLog.ts';
import type { Projection } from './projection.ts';

/**
 * `peers`: per guardian, the last session it contributed an accepted item to, how many items of its
 * were accepted and rejected, and the last session its signature sealed. One entry per peer.
 */

export interface PeerActivity {
  peer: number;
  /** Last session in which an item this peer proposed was accepted. */
  lastContributedSession?: number;
  itemsAccepted: number;
  itemsRejected: number;
  /** Last session whose SessionCompleted carries this peer's signature. */
  lastSignedSession?: number;
}

export interface PeersState {
  /** Ascending by peer. */
  readonly peers: readonly PeerActivity[];
}

export const peersProjection: Projection<PeersState> = {
  name: 'peers',
  version: 1,
  initial: { peers: [] },

  evolve(state, event: RecordedEvent) {
    if (isEvent(event, 'ItemAccepted')) {
      const { peer, session } = event.data;
      return update(state, peer, (p) => ({ ...p, lastContributedSession: session, itemsAccepted: p.itemsAccepted + 1 }));
    }
    if (isEvent(event, 'ItemRejected')) return update(state, event.data.peer, (p) => ({ ...p, itemsRejected: p.itemsRejected + 1 }));
    if (isEvent(event, 'SessionCompleted')) {
      let next = state;
      for (const peer of Object.keys(event.data.signatures)) next = update(next, Number(peer), (p) => ({ ...p, lastSignedSession: event.data.session }));
      return next;
    }
    if (isEvent(event, 'FederationConfigured')) {
      // Every configured guardian is listed, including ones that never contributed.
      let next = state;
      for (const { id } of event.data.peers) next = update(next, id, (p) => p);
      return next;
    }
    return state;
  },

  evolveBatch(state, events) {
    // A copy of the list and of each entry, made on the first change and then updated in place.
    let peers: PeerActivity[] | undefined;
    const entry = (peer: number): PeerActivity => {
      peers ??= state.peers.map((p) => ({ ...p }));
      for (let i = 0; i < peers.length; i++) {
        const p = peers[i]!;
        if (p.peer === peer) return p;
        if (p.peer > peer) {
          const created: PeerActivity = { peer, itemsAccepted: 0, itemsRejected: 0 };
          peers.splice(i, 0, created);
          return created;
        }
      }
      const created: PeerActivity = { peer, itemsAccepted: 0, itemsRejected: 0 };
      peers.push(created);
      return created;
    };
    // The entry of the last item's peer: pages are mostly items, from few peers.
    let last: PeerActivity | undefined;
    for (const event of events) {
      if (isEvent(event, 'ItemAccepted')) {
        const { peer, session } = event.data;
        const p = last !== undefined && last.peer === peer ? last : (last = entry(peer));
        p.lastContributedSession = session;
        p.itemsAccepted++;
      } else if (isEvent(event, 'ItemRejected')) {
        const { peer } = event.data;
        const p = last !== undefined && last.peer === peer ? last : (last = entry(peer));
        p.itemsRejected++;
      } else if (isEvent(event, 'SessionCompleted')) {
        for (const peer of Object.keys(event.data.signatures)) entry(Number(peer)).lastSignedSession = event.data.session;
      } else if (isEvent(event, 'FederationConfigured')) {
        for (const { id } of event.data.peers) entry(id);
      }
    }
    return peers === undefined ? state : { peers };
  },

  toSnapshot: (state) => ({
    peers: state.peers.map((p) => ({
      peer: p.peer,
      ...(p.lastContributedSession === undefined ? {} : { lastContributedSession: p.lastContributedSession }),
      itemsAccepted: p.itemsAccepted,
      itemsRejected: p.itemsRejected,
      ...(p.lastSignedSession === undefined ? {} : { lastSignedSession: p.lastSignedSession }),
    })),
  }),
  fromSnapshot: (json) => snapshotSchema.parse(json),
};

const count = z.number().int().min(0);
const snapshotSchema = z.object({
  peers: z.array(z.object({ peer: count, lastContributedSession: count.optional(), itemsAccepted: count, itemsRejected: count, lastSignedSession: count.optional() })),
});

function update(state: PeersState, peer: number, change: (p: PeerActivity) => PeerActivity): PeersState {
  const at = state.peers.findIndex((p) => p.peer >= peer);
  const found = at >= 0 && state.peers[at]!.peer === peer ? state.peers[at]! : undefined;
  if (found !== undefined) {
    const changed = change(found);
    if (changed === found) return state;
    const peers = state.peers.slice();
    peers[at] = changed;
    return { peers };
  }
  const created = change({ peer, itemsAccepted: 0, itemsRejected: 0 });
  const peers = state.peers.slice();
  peers.splice(at < 0 ? peers.length : at, 0, created);
  return { peers };
}

/** GET /v1/peers (the engine adds connection state). */
export function listPeers(state: PeersState): readonly PeerActivity[] {
  return state.peers;
}
