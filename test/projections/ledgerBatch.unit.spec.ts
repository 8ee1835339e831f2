import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { auditProjection, type AuditState } from '../../src/projections/audit.ts';
import { evolveLedgerPage, frameAcceptedItem, ledgerProjection, LedgerDivergenceError, type LedgerProjectionState } from '../../src/projections/ledger.ts';
import { decodeConsensusItem, encodedTransactionOf } from '../../src/domain/consensusItem.ts';
import { createModules, defaultModuleCodecs } from '../../src/domain/modules/consensusModules.ts';
import { decodeModuleBody } from '../../src/domain/transaction.ts';
import { evolveAll, projectionStateHash, stateHash, type Projection } from '../../src/projections/projection.ts';
import { createMemoryEventLog } from '../../src/streams/memoryEventLog.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import type { RecordedEvent } from '../../src/streams/eventLog.ts';
import { writeSessionLog } from './sessionLogFixture.ts';

let events: RecordedEvent[] = [];

beforeAll(async () => {
  let tick = 0;
  const log = withEventSchemas(createMemoryEventLog(), { guardian: 0, now: () => new Date(Date.UTC(2026, 0, 1) + 1000 * tick++) });
  await writeSessionLog(log, { sessions: 6, itemsPerSession: 40, seed: 11 });
  for await (const event of log.readAll()) events.push(event);
  events = events.slice();
});

function oneByOne<S>(projection: Projection<S>, from: S, list: readonly RecordedEvent[]): S {
  let state = from;
  for (const event of list) state = projection.evolve(state, event);
  return state;
}

/** Page boundaries from sorted cut points. */
function pages(list: readonly RecordedEvent[], cuts: readonly number[]): RecordedEvent[][] {
  const bounds = [...new Set([0, ...cuts.map((cut) => cut % (list.length + 1)), list.length])].sort((a, b) => a - b);
  const out: RecordedEvent[][] = [];
  for (let i = 1; i < bounds.length; i++) out.push(list.slice(bounds[i - 1], bounds[i]));
  return out;
}

const hashOf = <S>(projection: Projection<S>, state: S) => projectionStateHash(projection, state);

describe('ledger and audit evolveBatch', () => {
  it('folded in place (as a replay worker folds them), gives at the end of every page the states the persistent fold gives', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        let ledger: LedgerProjectionState = ledgerProjection.initial;
        let audit: AuditState = auditProjection.initial;
        const inPlaceLedgerProjection = ledgerProjection.newestOnly!();
        const inPlaceAuditProjection = auditProjection.newestOnly!();
        let ledgerInPlace: LedgerProjectionState = inPlaceLedgerProjection.initial;
        let auditInPlace: AuditState = inPlaceAuditProjection.initial;
        for (const page of pages(events, cuts)) {
          ledger = evolveAll(ledgerProjection, ledger, page);
          audit = evolveAll(auditProjection, audit, page);
          ledgerInPlace = evolveAll(inPlaceLedgerProjection, ledgerInPlace, page);
          auditInPlace = evolveAll(inPlaceAuditProjection, auditInPlace, page);
          expect(hashOf(inPlaceLedgerProjection, ledgerInPlace)).toBe(hashOf(ledgerProjection, ledger));
          expect(hashOf(inPlaceAuditProjection, auditInPlace)).toBe(hashOf(auditProjection, audit));
          expect(ledgerInPlace.inPlace).toBe(true);
        }
        expect(ledgerInPlace.ledger!.acceptedTxids.size).toBe(ledger.ledger!.acceptedTxids.size);
      }),
      { numRuns: 15, seed: 4242 },
    );
  });

  it('the fixture has items, sessions and transactions to fold', () => {
    expect(events.filter((e) => e.type === 'ItemAccepted').length).toBeGreaterThan(200);
    expect(events.filter((e) => e.type === 'SessionCompleted').length).toBe(6);
  });

  it('folds any cut into pages to the state evolve gives event by event, for both projections, in either order', () => {
    const ledgerExpected = oneByOne(ledgerProjection, ledgerProjection.initial, events);
    const auditExpected = oneByOne(auditProjection, auditProjection.initial, events);
    const ledgerHash = hashOf(ledgerProjection, ledgerExpected);
    const auditHash = hashOf(auditProjection, auditExpected);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 12 }), fc.constantFrom('ledger first', 'audit first', 'own cuts'), (cuts, auditCuts, order) => {
        let ledger: LedgerProjectionState = ledgerProjection.initial;
        let audit: AuditState = auditProjection.initial;
        const ledgerPages = pages(events, cuts);
        for (const page of ledgerPages) {
          if (order === 'audit first') audit = evolveAll(auditProjection, audit, page);
          ledger = evolveAll(ledgerProjection, ledger, page);
          if (order === 'ledger first') audit = evolveAll(auditProjection, audit, page);
        }
        if (order === 'own cuts') for (const page of pages(events, auditCuts)) audit = evolveAll(auditProjection, audit, page);
        expect(hashOf(ledgerProjection, ledger)).toBe(ledgerHash);
        expect(hashOf(auditProjection, audit)).toBe(auditHash);
        expect(stateHash(ledgerProjection.toSnapshot(ledger))).toBe(ledgerHash);
        expect(audit.history).toEqual(auditExpected.history);
        expect(ledger.lastItem).toEqual(ledgerExpected.lastItem);
        expect(ledger.audit).toEqual(ledgerExpected.audit);
      }),
      { seed: 42, numRuns: 40 },
    );
  });

  it('hashes every ledger and audit state (shortcut writers) exactly as stateHash hashes its snapshot, restored ones too', () => {
    let ledger: LedgerProjectionState = ledgerProjection.initial;
    let audit: AuditState = auditProjection.initial;
    const check = () => {
      expect(ledgerProjection.stateHash!(ledger)).toBe(stateHash(ledgerProjection.toSnapshot(ledger)));
      expect(auditProjection.stateHash!(audit)).toBe(stateHash(auditProjection.toSnapshot(audit)));
    };
    check();
    for (const [i, event] of events.entries()) {
      ledger = ledgerProjection.evolve(ledger, event);
      audit = auditProjection.evolve(audit, event);
      // Before the federation is configured, after it, every session end, and a spread of items.
      if (i < 3 || event.type === 'SessionCompleted' || i % 37 === 0) check();
    }
    check();
    const restored = auditProjection.fromSnapshot(JSON.parse(JSON.stringify(auditProjection.toSnapshot(audit))));
    expect(auditProjection.stateHash!(restored)).toBe(auditProjection.stateHash!(audit));
    expect(ledgerProjection.stateHash!(restored.ledger)).toBe(ledgerProjection.stateHash!(ledger));
  });

  it('hashes the states of folds in any order as stateHash hashes their snapshots (txid texts merged from an earlier state, or walked)', () => {
    const reference = new Map<LedgerProjectionState, string>();
    const referenceOf = (state: LedgerProjectionState) => {
      let hash = reference.get(state);
      if (hash === undefined) reference.set(state, (hash = stateHash(ledgerProjection.toSnapshot({ ...state }))));
      return hash;
    };
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 30 }), fc.nat(), (cuts, picks, restoreAt) => {
        // One fold in pages; a second one branching off it after a page (the same events cut
        // elsewhere), and a third resumed from a snapshot of the state there.
        const states: LedgerProjectionState[] = [];
        const ends: number[] = [];
        let ledger: LedgerProjectionState = ledgerProjection.initial;
        let end = 0;
        for (const page of pages(events, cuts)) {
          states.push((ledger = evolveAll(ledgerProjection, ledger, page)));
          ends.push((end += page.length));
        }
        const at = restoreAt % states.length;
        const rest = events.slice(ends[at]);
        let branch = states[at]!;
        for (const page of pages(rest, [restoreAt % 50, 3 + (restoreAt % 90)])) states.push((branch = evolveAll(ledgerProjection, branch, page)));
        let resumed = ledgerProjection.fromSnapshot(JSON.parse(JSON.stringify(ledgerProjection.toSnapshot(states[at]!))) as never);
        states.push(resumed);
        for (const page of pages(rest, [17, 41])) states.push((resumed = evolveAll(ledgerProjection, resumed, page)));
        for (const pick of [...picks, ...states.keys()]) {
          const state = states[pick % states.length]!;
          expect(ledgerProjection.stateHash!(state)).toBe(referenceOf(state));
        }
      }),
      { seed: 7, numRuns: 30 },
    );
  });

  it('never changes the state a page starts from, and resumes from snapshots to the same hash', () => {
    const middle = Math.floor(events.length / 2);
    const start = evolveAll(ledgerProjection, ledgerProjection.initial, events.slice(0, middle));
    const before = stateHash(ledgerProjection.toSnapshot({ ...start }));
    const end = evolveAll(ledgerProjection, start, events.slice(middle));
    // A second, different page from the same state: its in-place updates must not reach `end` or `start`.
    evolveAll(ledgerProjection, start, events.slice(middle, middle + 30));
    expect(stateHash(ledgerProjection.toSnapshot({ ...start }))).toBe(before);
    const restored = ledgerProjection.fromSnapshot(ledgerProjection.toSnapshot(start));
    const viaSnapshot = evolveAll(ledgerProjection, restored, events.slice(middle));
    expect(hashOf(ledgerProjection, viaSnapshot)).toBe(hashOf(ledgerProjection, end));
    expect(hashOf(ledgerProjection, end)).toBe(hashOf(ledgerProjection, oneByOne(ledgerProjection, ledgerProjection.initial, events)));
  });

  it('throws LedgerDivergenceError for a wrong net assets figure inside a page, leaving the starting state intact', () => {
    const middle = Math.floor(events.length / 2);
    const start = evolveAll(ledgerProjection, ledgerProjection.initial, events.slice(0, middle));
    const before = stateHash(ledgerProjection.toSnapshot({ ...start }));
    const rest = events.slice(middle);
    const at = rest.findIndex((e, i) => i > 10 && e.type === 'ItemAccepted');
    const original = rest[at]! as RecordedEvent & { data: { netAssets: string } };
    rest[at] = { ...original, data: { ...original.data, netAssets: (BigInt(original.data.netAssets) + 1n).toString() } };
    expect(() => evolveLedgerPage(start, rest)).toThrow(LedgerDivergenceError);
    expect(() => evolveAll(auditProjection, { ledger: start, history: [] }, rest)).toThrow(LedgerDivergenceError);
    expect(stateHash(ledgerProjection.toSnapshot({ ...start }))).toBe(before);
    // A corrupted item (not decodable) diverges too.
    rest[at] = { ...original, data: { ...original.data, item: 'ff' } };
    expect(() => evolveLedgerPage(start, rest)).toThrow(LedgerDivergenceError);
  });

  it('returns the same state for a page with nothing for the ledger', () => {
    const state = evolveAll(ledgerProjection, ledgerProjection.initial, events.slice(0, 5));
    const nothing = events.filter((e) => e.type === 'SessionCompleted');
    expect(evolveAll(ledgerProjection, state, nothing)).toBe(state);
    expect(evolveAll(ledgerProjection, state, [])).toBe(state);
  });
});

describe('frameAcceptedItem', () => {
  it('frames every item of the log as decodeConsensusItem decodes it, and refuses what it refuses', () => {
    const modules = createModules();
    let transactions = 0;
    for (const event of events) {
      if (event.type !== 'ItemAccepted') continue;
      const bytes = Uint8Array.from(Buffer.from((event.data as { item: string }).item, 'hex'));
      const decoded = decodeConsensusItem(bytes, defaultModuleCodecs);
      const framed = frameAcceptedItem(bytes, modules);
      expect(decoded.ok && framed?.item).toEqual(decoded.ok && decoded.value);
      if (decoded.ok && decoded.value.kind === 'transaction') {
        transactions++;
        expect(framed?.encodedTransaction).toEqual(encodedTransactionOf(bytes));
      }
      // Truncated, extended, or with the first byte changed: never framed when decoding fails.
      for (const broken of [bytes.subarray(0, bytes.length - 1), Uint8Array.from([...bytes, 0]), Uint8Array.from([bytes[0]! + 2, ...bytes.subarray(1)])]) {
        if (!decodeConsensusItem(broken, defaultModuleCodecs).ok) expect(frameAcceptedItem(broken, modules)).toBeUndefined();
      }
    }
    expect(transactions).toBeGreaterThan(100);
  });

  it('refuses random corruptions of an item whenever decodeConsensusItem does, unless only a module body is malformed', () => {
    const modules = createModules();
    const items = events.filter((e) => e.type === 'ItemAccepted').map((e) => Uint8Array.from(Buffer.from((e.data as { item: string }).item, 'hex')));
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (which, at, value) => {
        const bytes = items[which % items.length]!.slice();
        bytes[at % bytes.length] = value;
        const decoded = decodeConsensusItem(bytes, defaultModuleCodecs);
        const framed = frameAcceptedItem(bytes, modules);
        if (decoded.ok) expect(framed?.item).toEqual(decoded.value);
        else if (framed !== undefined) {
          // The framing holds, so the failure is inside a body: the ledger's own decoding of that body fails.
          const parts = framed.item.kind === 'transaction' ? [...framed.item.tx.inputs, ...framed.item.tx.outputs] : [{ module: framed.item.module, body: framed.item.body }];
          const partKinds = framed.item.kind === 'transaction' ? [...framed.item.tx.inputs.map(() => 'input' as const), ...framed.item.tx.outputs.map(() => 'output' as const)] : ['item' as const];
          expect(parts.some((part, i) => !decodeModuleBody(modules.get(part.module)!.codecs[partKinds[i]!], part.body).ok)).toBe(true);
        }
      }),
      { seed: 3, numRuns: 3000 },
    );
  });
});
