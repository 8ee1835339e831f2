import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson } from '../../src/domain/canonicalJson.ts';
import { createHash } from 'node:crypto';
import { fastCanonicalJson, projectionStateHash, sharedSnapshotPart, stateHash, type JsonValue } from '../../src/projections/projection.ts';
import { snapshotEventId } from '../../src/projections/checkpointStore.ts';
import { lookupTransaction, REJECTED_GENERATION, transactionsProjection, type TransactionsState } from '../../src/projections/transactions.ts';
import { evolveAll } from '../../src/projections/projection.ts';
import { pendingItems, pendingItemsProjection } from '../../src/projections/pendingItems.ts';
import { listSessions, sessionCount, sessionsProjection, sessionStatus } from '../../src/projections/sessions.ts';
import { listPeers, peersProjection } from '../../src/projections/peers.ts';
import type { RecordedEvent } from '../../src/streams/eventLog.ts';

let position = 0n;
function event(type: string, data: unknown, stream = 'session-0'): RecordedEvent {
  position += 1n;
  return { id: `e${position}`, stream, revision: 0, position, type, data, metadata: { schemaVersion: 1, guardian: 0, recordedAt: `t${position}` } };
}
const txid = (n: number) => n.toString(16).padStart(64, '0');
const accepted = (session: number, index: number, tx?: string, peer = 0) =>
  event('ItemAccepted', { session, index, peer, item: '00', itemHash: 'aa'.repeat(32), ...(tx === undefined ? {} : { txid: tx }), netAssets: '0' });
const rejected = (session: number, tx: string, reason = 'nope', peer = 0) => event('ItemRejected', { session, peer, itemHash: 'bb'.repeat(32), txid: tx, reason });
const completed = (session: number, itemCount: number, signatures: Record<string, string> = { '0': 'cc'.repeat(64) }) =>
  event('SessionCompleted', { session, header: 'dd'.repeat(40), itemCount, signatures, source: 'local' });

describe('stateHash', () => {
  it('does not depend on the order in which object keys were created', () => {
    expect(stateHash({ a: 1, b: [{ y: '2', x: null }] })).toBe(stateHash({ b: [{ x: null, y: '2' }], a: 1 }));
    expect(stateHash({ a: 1 })).not.toBe(stateHash({ a: 2 }));
  });

  it('names each (projection, version, session) checkpoint with one UUID', () => {
    expect(snapshotEventId('ledger', 1, 5)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(snapshotEventId('ledger', 1, 5)).toBe(snapshotEventId('ledger', 1, 5));
    expect(new Set([snapshotEventId('ledger', 1, 5), snapshotEventId('ledger', 2, 5), snapshotEventId('ledger', 1, 6), snapshotEventId('audit', 1, 5)]).size).toBe(4);
  });
});

describe('transactions', () => {
  const fold = (events: RecordedEvent[], state: TransactionsState = transactionsProjection.initial) => events.reduce(transactionsProjection.evolve, state);

  it('answers accepted over an earlier rejection, and keeps accepted after a later duplicate rejection', () => {
    const state = fold([rejected(0, txid(1), 'input 0: deposit not confirmed'), accepted(1, 0, txid(1)), rejected(1, txid(1), 'transaction already accepted'), rejected(1, txid(2))]);
    expect(lookupTransaction(state, txid(1))).toEqual({ status: 'accepted', session: 1, index: 0 });
    expect(lookupTransaction(state, txid(2))).toEqual({ status: 'rejected', session: 1, reason: 'nope' });
    expect(lookupTransaction(state, txid(3))).toEqual({ status: 'unknown' });
  });

  it('hashes its state directly to the same hash as its snapshot', () => {
    const state = fold([
      rejected(0, txid(1), 'input 0: deposit not confirmed'),
      accepted(1, 0, txid(1)),
      accepted(1, 7, txid(9)),
      rejected(1, txid(2), 'quote " backslash \\ and \u2028 é'),
      accepted(2, 3, txid(4)),
      rejected(3, txid(5)),
    ]);
    expect(state.accepted.size).toBe(3);
    expect(state.rejected.size).toBe(2);
    expect(transactionsProjection.stateHash!(state)).toBe(stateHash(transactionsProjection.toSnapshot(state)));
    expect(transactionsProjection.stateHash!(transactionsProjection.initial)).toBe(stateHash(transactionsProjection.toSnapshot(transactionsProjection.initial)));
    expect(projectionStateHash(transactionsProjection, state)).toBe(stateHash(transactionsProjection.toSnapshot(state)));
  });

  it('folded in place (as replay folds it), hashes and answers as the persistent fold at the end of every batch', () => {
    const events = Array.from({ length: 120 }, (_, i) => (i % 7 === 3 ? rejected(1, txid(i % 11), `r${i}`) : accepted(1 + (i >> 5), i, txid((i * 37) % 101))));
    const inPlace = transactionsProjection.newestOnly!();
    let persistent = transactionsProjection.initial;
    let folded = inPlace.initial;
    for (let at = 0; at < events.length; at += 13) {
      const batch = events.slice(at, at + 13);
      persistent = evolveAll(transactionsProjection, persistent, batch);
      folded = evolveAll(inPlace, folded, batch);
      expect(inPlace.stateHash!(folded)).toBe(transactionsProjection.stateHash!(persistent));
      for (let n = 0; n < 120; n++) expect(lookupTransaction(folded, txid(n))).toEqual(lookupTransaction(persistent, txid(n)));
    }
    // Each in-place fold has a map of its own.
    expect(transactionsProjection.newestOnly!().initial.accepted.size).toBe(0);
    expect(() => inPlace.evolve(folded, accepted(9, 0, 'not a txid'))).toThrow(/lowercase hex/);
  });

  it('remembers at least the newest REJECTED_GENERATION rejections and no more than twice that', () => {
    let state = transactionsProjection.initial;
    const total = 2 * REJECTED_GENERATION + 10;
    const events = Array.from({ length: total }, (_, i) => ({ ...rejected(0, txid(i)), position: BigInt(i + 1) }));
    for (const e of events) state = transactionsProjection.evolve(state, e);
    expect(state.rejected.size + state.rejectedOlder.size).toBeLessThanOrEqual(2 * REJECTED_GENERATION);
    expect(lookupTransaction(state, txid(total - REJECTED_GENERATION)).status).toBe('rejected');
    expect(lookupTransaction(state, txid(0)).status).toBe('unknown');
    // Folded in place in batches, the generations turn over the same way.
    const inPlace = transactionsProjection.newestOnly!();
    let folded = inPlace.initial;
    for (let at = 0; at < total; at += 4096) folded = evolveAll(inPlace, folded, events.slice(at, at + 4096));
    expect(inPlace.stateHash!(folded)).toBe(transactionsProjection.stateHash!(state));
  });
});

describe('pendingItems', () => {
  it('holds the accepted items of open sessions in order and drops them when their session completes', () => {
    const events = [accepted(0, 0, txid(1)), accepted(0, 1), completed(0, 2), accepted(1, 0, txid(2)), accepted(1, 1)];
    const state = events.reduce(pendingItemsProjection.evolve, pendingItemsProjection.initial);
    expect(pendingItems(state).map((p) => [p.session, p.index, p.txid])).toEqual([
      [1, 0, txid(2)],
      [1, 1, undefined],
    ]);
    const before = events.slice(0, 2).reduce(pendingItemsProjection.evolve, pendingItemsProjection.initial);
    // The earlier state is untouched by later events (persistent list).
    expect(pendingItems(before).map((p) => p.index)).toEqual([0, 1]);
  });

  it('for replay, keeps items as bytes and gives the same items, snapshots and hashes', () => {
    const item = (n: number) => `0099${n.toString(16).padStart(4, '0')}ab`;
    const events = [
      event('ItemAccepted', { session: 0, index: 0, peer: 0, item: item(1), itemHash: 'aa'.repeat(32), txid: txid(1), netAssets: '0' }),
      event('ItemAccepted', { session: 0, index: 1, peer: 1, item: item(2), itemHash: 'bb'.repeat(32), netAssets: '0' }),
      completed(0, 2),
      event('ItemAccepted', { session: 1, index: 0, peer: 0, item: item(3), itemHash: 'cc'.repeat(32), txid: txid(3), netAssets: '5' }),
      event('ItemAccepted', { session: 1, index: 1, peer: 0, item: item(4), itemHash: 'dd'.repeat(32), netAssets: '5' }),
    ];
    let standard = pendingItemsProjection.initial;
    const replayPendingItemsProjection = pendingItemsProjection.newestOnly!();
    let replayed = replayPendingItemsProjection.initial;
    for (const [at, page] of [events.slice(0, 2), events.slice(2, 4), events.slice(4)].entries()) {
      standard = evolveAll(pendingItemsProjection, standard, page);
      replayed = evolveAll(replayPendingItemsProjection, replayed, page);
      expect(replayPendingItemsProjection.stateHash!(replayed), `after page ${at}`).toBe(pendingItemsProjection.stateHash!(standard));
      expect(replayPendingItemsProjection.toSnapshot(replayed)).toEqual(pendingItemsProjection.toSnapshot(standard));
    }
    expect(pendingItems(replayed).map((p) => p.item)).toEqual([item(3), item(4)]);
    expect(pendingItems(replayed).map((p) => p.txid)).toEqual([txid(3), undefined]);
    expect(replayPendingItemsProjection.stateHash!(events.reduce(replayPendingItemsProjection.evolve, replayPendingItemsProjection.initial))).toBe(pendingItemsProjection.stateHash!(standard));
  });
});

describe('sessions', () => {
  it('moves a session from initial to pending to complete with its header and times', () => {
    const first = event('UnitSaved', { session: 0, unit: '00' }, 'dag-0');
    const events = [first, accepted(0, 0), accepted(0, 1), completed(0, 2), accepted(1, 0)];
    const state = events.reduce(sessionsProjection.evolve, sessionsProjection.initial);
    expect(sessionStatus(state, 0)).toEqual({ status: 'complete', itemCount: 2 });
    expect(sessionStatus(state, 1)).toEqual({ status: 'pending', itemCount: 1 });
    expect(sessionStatus(state, 2)).toEqual({ status: 'initial' });
    expect(sessionCount(state)).toBe(1);
    expect(listSessions(state, { from: 0, limit: 10 })).toEqual([
      { session: 0, header: 'dd'.repeat(40), itemCount: 2, startedAt: first.metadata.recordedAt, completedAt: events[3]!.metadata.recordedAt, status: 'complete' },
    ]);
    expect(listSessions(state, { from: 1 })).toEqual([]);
  });
});

describe('peers', () => {
  it('counts accepted and rejected items per peer and the last session each contributed to and signed', () => {
    const events = [
      event('FederationConfigured', { peers: [{ id: 0 }, { id: 1 }, { id: 2 }, { id: 3 }] }, 'federation'),
      accepted(0, 0, undefined, 2),
      rejected(0, txid(1), 'x', 2),
      completed(0, 1, { '0': 'cc'.repeat(64), '2': 'cc'.repeat(64) }),
      accepted(1, 0, undefined, 0),
    ];
    const state = events.reduce(peersProjection.evolve, peersProjection.initial);
    expect(listPeers(state)).toEqual([
      { peer: 0, itemsAccepted: 1, itemsRejected: 0, lastContributedSession: 1, lastSignedSession: 0 },
      { peer: 1, itemsAccepted: 0, itemsRejected: 0 },
      { peer: 2, itemsAccepted: 1, itemsRejected: 1, lastContributedSession: 0, lastSignedSession: 0 },
      { peer: 3, itemsAccepted: 0, itemsRejected: 0 },
    ]);
  });
});

describe('fastCanonicalJson', () => {
  it('gives exactly the text of the domain canonicalJson', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ unit: 'binary' }), tie('array'), tie('object')),
      array: fc.array(tie('value'), { maxLength: 5 }),
      object: fc.dictionary(fc.string({ unit: 'binary' }), tie('value'), { maxKeys: 5 }),
    })).value as fc.Arbitrary<JsonValue>;
    fc.assert(
      fc.property(json, (value) => fastCanonicalJson(value) === canonicalJson(value)),
      { seed: 42, numRuns: 500 },
    );
  });

  it('sorts every object, shares nothing with the caller it would change, and keeps the text of the replacer it replaced', () => {
    const reference = (value: unknown) =>
      JSON.stringify(value, (_key, v: unknown) => {
        if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
        const sorted = Object.create(null) as Record<string, unknown>;
        for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
        return sorted;
      });
    const cases: JsonValue[] = [
      { b: 1, a: [{ d: null, c: 'x' }, { c: 1, d: 2 }] },
      { '10': 1, '9': 2, a: 3 },
      JSON.parse('{"z": 1, "__proto__": {"y": 2, "x": 1}}') as JsonValue,
      { already: { a: 1, b: { c: [1, 2, { e: 1, d: 0 }] } } },
      Array.from({ length: 300 }, (_, i) => ({ [`k${i}`]: i, a: i })),
    ];
    for (const value of cases) {
      const before = JSON.stringify(value);
      expect(fastCanonicalJson(value)).toBe(reference(value));
      expect(JSON.stringify(value)).toBe(before);
    }
    expect(() => fastCanonicalJson({ a: [Number.NaN] })).toThrow(RangeError);
  });

  it('hashes an object holding a shared snapshot part exactly as its plain canonical text', () => {
    const part = sharedSnapshotPart({ z: [1, { b: 2, a: 1 }], a: 'x' });
    const holders: JsonValue[] = [
      { ledger: part, history: [{ b: 1, a: 2 }] },
      { '10': part, '9': 1, b: part, a: null },
      part,
      // A member JSON leaves out, as JSON.stringify does.
      { a: part, skipped: undefined } as unknown as JsonValue,
    ];
    for (const holder of holders) {
      expect(stateHash(holder)).toBe(createHash('sha256').update(fastCanonicalJson(holder), 'utf8').digest('hex'));
      // Twice: the second answer comes from the cached text of the part.
      expect(stateHash(holder)).toBe(createHash('sha256').update(fastCanonicalJson(holder), 'utf8').digest('hex'));
    }
  });
});

