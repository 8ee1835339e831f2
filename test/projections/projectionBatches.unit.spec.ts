import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson } from '../../src/domain/canonicalJson.ts';
import { canonicalHashWriter, evolveAll, projectionStateHash, stateHash, type JsonValue, type Projection } from '../../src/projections/projection.ts';
import { peersProjection } from '../../src/projections/peers.ts';
import { pendingItemsProjection } from '../../src/projections/pendingItems.ts';
import { sessionsProjection } from '../../src/projections/sessions.ts';
import { lookupTransaction, REJECTED_GENERATION, transactionsProjection } from '../../src/projections/transactions.ts';
import type { RecordedEvent } from '../../src/streams/eventLog.ts';

const txid = (n: number) => n.toString(16).padStart(64, '0');
const reasons = ['nope', 'input 0: deposit not confirmed', 'quote " backslash \\ and \u2028 é', 'transaction already accepted'];

type Step =
  | { kind: 'accept'; tx: number | undefined; peer: number }
  | { kind: 'reject'; tx: number; peer: number; reason: number }
  | { kind: 'unit'; ahead: number }
  | { kind: 'complete'; signers: number[] };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('accept' as const), tx: fc.option(fc.nat({ max: 60 }), { nil: undefined }), peer: fc.nat({ max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('reject' as const), tx: fc.nat({ max: 60 }), peer: fc.nat({ max: 4 }), reason: fc.nat({ max: reasons.length - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('unit' as const), ahead: fc.nat({ max: 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('complete' as const), signers: fc.uniqueArray(fc.nat({ max: 4 }), { minLength: 1, maxLength: 3 }) }) },
);

/** A log-shaped sequence: a federation, then items, rejections and units of the open session, and completions in order. */
function toEvents(steps: readonly Step[]): RecordedEvent[] {
  let position = 0n;
  const event = (type: string, data: unknown, stream: string): RecordedEvent => {
    position += 1n;
    return { id: `e${position}`, stream, revision: 0, position, type, data, metadata: { schemaVersion: 1, guardian: 0, recordedAt: `2026-01-01T00:00:${String(position).padStart(6, '0')}Z` } };
  };
  const events = [event('FederationConfigured', { peers: [{ id: 0 }, { id: 2 }, { id: 1 }] }, 'federation')];
  let session = 0;
  let index = 0;
  for (const s of steps) {
    if (s.kind === 'accept') {
      events.push(event('ItemAccepted', { session, index: index++, peer: s.peer, item: `0${s.peer}ab`, itemHash: 'aa'.repeat(32), ...(s.tx === undefined ? {} : { txid: txid(s.tx) }), netAssets: '0' }, `session-${session}`));
    } else if (s.kind === 'reject') {
      events.push(event('ItemRejected', { session, peer: s.peer, itemHash: 'bb'.repeat(32), txid: txid(s.tx), reason: reasons[s.reason]! }, `session-${session}`));
    } else if (s.kind === 'unit') {
      events.push(event('UnitSaved', { session: session + s.ahead, unit: '00' }, `dag-${session + s.ahead}`));
    } else {
      events.push(event('SessionCompleted', { session, header: 'dd'.repeat(40), itemCount: index, signatures: Object.fromEntries(s.signers.map((p) => [String(p), 'cc'.repeat(64)])), source: 'local' }, `session-${session}`));
      session++;
      index = 0;
    }
  }
  return events;
}

function pages(list: readonly RecordedEvent[], cuts: readonly number[]): RecordedEvent[][] {
  const bounds = [...new Set([0, ...cuts.map((cut) => cut % (list.length + 1)), list.length])].sort((a, b) => a - b);
  const out: RecordedEvent[][] = [];
  for (let i = 1; i < bounds.length; i++) out.push(list.slice(bounds[i - 1], bounds[i]));
  return out;
}

const small: Array<Projection<unknown>> = [transactionsProjection, pendingItemsProjection, sessionsProjection, peersProjection] as Array<Projection<unknown>>;

describe.each(small.map((p) => [p.name, p] as const))('%s', (_name, projection) => {
  const oneByOne = (events: readonly RecordedEvent[]) => events.reduce((state, event) => projection.evolve(state, event), projection.initial);

  it('folds any cut of the log into pages to the state and hash evolve gives event by event', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), fc.array(fc.nat(), { maxLength: 10 }), (steps, cuts) => {
        const events = toEvents(steps);
        const expected = oneByOne(events);
        let batched = projection.initial;
        for (const page of pages(events, cuts)) batched = evolveAll(projection, batched, page);
        expect(projection.toSnapshot(batched)).toEqual(projection.toSnapshot(expected));
        expect(projectionStateHash(projection, batched)).toBe(projectionStateHash(projection, expected));
      }),
      { seed: 21, numRuns: 150 },
    );
  });

  it('hashes every state to the hash of its snapshot, and rebuilds it from the snapshot, hashed at any earlier points', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), fc.array(fc.nat(), { maxLength: 6 }), (steps, hashedAt) => {
        const events = toEvents(steps);
        const at = new Set(hashedAt.map((n) => n % (events.length + 1)));
        let state = projection.initial;
        const states = [state];
        for (const [i, event] of events.entries()) {
          // Hash some intermediate states first: the transactions hash continues from the last one it made.
          if (at.has(i)) expect(projectionStateHash(projection, state)).toBe(stateHash(projection.toSnapshot(state)));
          state = projection.evolve(state, event);
          states.push(state);
        }
        const snapshot = projection.toSnapshot(state);
        expect(projectionStateHash(projection, state)).toBe(stateHash(snapshot));
        const restored = projection.fromSnapshot(JSON.parse(JSON.stringify(snapshot)) as JsonValue);
        expect(projectionStateHash(projection, restored)).toBe(stateHash(snapshot));
        // Older states, hashed after newer ones, still hash to their own snapshots.
        for (const older of [states[0], states[states.length >> 1]]) expect(projectionStateHash(projection, older)).toBe(stateHash(projection.toSnapshot(older)));
      }),
      { seed: 22, numRuns: 120 },
    );
  });
});

describe('transactions state hash', () => {
  it('is the same for two histories branching from one hashed state, each hashed in turn', () => {
    const events = toEvents([{ kind: 'accept', tx: 1, peer: 0 }, { kind: 'accept', tx: 2, peer: 0 }]);
    const common = events.reduce(transactionsProjection.evolve, transactionsProjection.initial);
    const base = projectionStateHash(transactionsProjection, common);
    const [left, right] = [3, 4].map((n) => transactionsProjection.evolve(common, { ...events[1]!, position: 10n, data: { session: 0, index: 5, peer: 0, item: '00', itemHash: 'aa'.repeat(32), txid: txid(n), netAssets: '0' } }));
    for (const branch of [left!, right!, left!, common]) expect(projectionStateHash(transactionsProjection, branch)).toBe(stateHash(transactionsProjection.toSnapshot(branch)));
    expect(projectionStateHash(transactionsProjection, common)).toBe(base);
  });

  it('turns rejection generations over at the same event in a page as event by event', () => {
    // Every thousandth event accepts a txid rejected 500 events before; the rest are new rejections, enough to fill two generations.
    const total = 2 * REJECTED_GENERATION + 500;
    const events: RecordedEvent[] = [];
    for (let i = 0; i < total; i++) {
      const data = i % 1000 === 999 ? { session: 0, index: i, peer: 0, item: '00', itemHash: 'aa'.repeat(32), txid: txid(i - 500), netAssets: '0' } : { session: 0, peer: 0, itemHash: 'bb'.repeat(32), txid: txid(i), reason: 'nope' };
      events.push({ id: `r${i}`, stream: 'session-0', revision: i, position: BigInt(i + 1), type: 'txid' in data && 'index' in data ? 'ItemAccepted' : 'ItemRejected', data, metadata: { schemaVersion: 1, guardian: 0, recordedAt: 't' } });
    }
    const expected = events.reduce(transactionsProjection.evolve, transactionsProjection.initial);
    let batched = transactionsProjection.initial;
    for (let i = 0; i < events.length; i += 4096) batched = evolveAll(transactionsProjection, batched, events.slice(i, i + 4096));
    expect(batched.rejected.size).toBe(expected.rejected.size);
    expect(batched.rejectedOlder.size).toBe(expected.rejectedOlder.size);
    expect(lookupTransaction(batched, txid(total - 1)).status).toBe('rejected');
    expect(lookupTransaction(batched, txid(499)).status).toBe('accepted');
    expect(lookupTransaction(batched, txid(0)).status).toBe('unknown');
    for (const n of [0, 498, 499, 60_000, total - 1]) expect(lookupTransaction(batched, txid(n))).toEqual(lookupTransaction(expected, txid(n)));
    expect(projectionStateHash(transactionsProjection, batched)).toBe(projectionStateHash(transactionsProjection, expected));
  });
});

describe('pendingItems snapshot', () => {
  it('refuses strings that are not hex, which its state hash writes unescaped', () => {
    const item = { session: 0, index: 0, peer: 0, item: '00ab', itemHash: 'aa'.repeat(32) };
    expect(() => pendingItemsProjection.fromSnapshot({ items: [item] })).not.toThrow();
    expect(() => pendingItemsProjection.fromSnapshot({ items: [{ ...item, item: '0"' }] })).toThrow();
    expect(() => pendingItemsProjection.fromSnapshot({ items: [{ ...item, txid: 'zz' }] })).toThrow();
  });
});

describe('canonicalHashWriter', () => {
  it('hashes strings and numbers written one by one exactly as stateHash hashes the same JSON', () => {
    const value = fc.oneof(fc.string({ unit: 'binary' }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 1e21, 123456789, 1e9, 5e-324));
    fc.assert(
      fc.property(fc.array(value, { maxLength: 30 }), (values) => {
        const out = canonicalHashWriter(8);
        out.raw('[');
        values.forEach((v, i) => {
          if (i > 0) out.raw(',');
          if (typeof v === 'string') out.string(v);
          else out.number(v);
        });
        out.raw(']');
        expect(out.digest()).toBe(stateHash(values));
        expect(canonicalJson(values)).toBe(JSON.stringify(values));
      }),
      { seed: 23, numRuns: 300 },
    );
    expect(() => canonicalHashWriter().number(Number.NaN)).toThrow(RangeError);
  });

  it('writes hex strings unchecked as the JSON strings they are', () => {
    const out = canonicalHashWriter(4);
    out.raw('{"a":');
    out.hex('00ff'.repeat(100));
    out.raw('}');
    expect(out.digest()).toBe(stateHash({ a: '00ff'.repeat(100) }));
  });
});
