import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { REJECTED_GENERATION, transactionsProjection, type TransactionsState } from '../../src/projections/transactions.ts';
import { evolveAll, projectionStateHash, stateHash, type Projection } from '../../src/projections/projection.ts';
import { createMemoryEventLog } from '../../src/streams/memoryEventLog.ts';
import { withEventSchemas } from '../../src/streams/schemaCheckedLog.ts';
import type { RecordedEvent } from '../../src/streams/eventLog.ts';
import { seededRandom } from '../../src/domain/seededRandom.ts';
import { writeSessionLog } from './sessionLogFixture.ts';

/**
 * The transactions projection's snapshot and state hash are a compatibility contract: checkpoints
 * stored by earlier builds must still load and compare equal in replay. The literal hashes below
 * were computed by the code that wrote such checkpoints (the sortedHexMap-based projection); a
 * change of map, fold or text that alters a single byte of the snapshot fails here.
 */
const SESSION_HASHES_DIGEST = 'd473cb2aaf6482c8cfc8e375b4371e7bc6119d2b42b63815b06fcf08c5847365';
const FINAL_HASH = 'b4127f1c8a1f34a0f921a9db9d8b6989caa4b01573401533551633275d3a1731';
const ROLLOVER_HASH = '27d755382f587e618c39362ec1ce540e0f6fa9a2fb4de1928df62e40d6a84ac0';

const events: RecordedEvent[] = [];

beforeAll(async () => {
  let tick = 0;
  const log = withEventSchemas(createMemoryEventLog(), { guardian: 0, now: () => new Date(Date.UTC(2026, 0, 1) + 1000 * tick++) });
  await writeSessionLog(log, { sessions: 10, itemsPerSession: 60, seed: 23 });
  for await (const event of log.readAll()) events.push(event);
});

/** Folds `list` one event at a time or in seeded random pages; the state hash at every SessionCompleted, then at the end. */
function checkpointHashes(projection: Projection<TransactionsState>, list: readonly RecordedEvent[], paged: boolean, seed = 5): { hashes: string[]; state: TransactionsState } {
  const random = seededRandom(seed);
  const hashes: string[] = [];
  let state = projection.initial;
  let page: RecordedEvent[] = [];
  const flush = () => {
    state = paged ? evolveAll(projection, state, page) : page.reduce((s, e) => projection.evolve(s, e), state);
    page = [];
  };
  for (const event of list) {
    page.push(event);
    if (event.type === 'SessionCompleted' || (paged && random() < 0.02)) flush();
    if (event.type === 'SessionCompleted') hashes.push(projectionStateHash(projection, state));
  }
  flush();
  hashes.push(projectionStateHash(projection, state));
  return { hashes, state };
}

const digestOf = (hashes: readonly string[]) => createHash('sha256').update(hashes.join('\n')).digest('hex');

/** Synthetic ItemRejected/ItemAccepted events: more rejections than a generation holds, some txids later accepted. */
function rolloverEvents(): RecordedEvent[] {
  const random = seededRandom(99);
  const txid = (n: number) => createHash('sha256').update(`tx ${n}`).digest('hex');
  const out: RecordedEvent[] = [];
  const event = (type: string, data: unknown): RecordedEvent => ({ id: String(out.length), stream: 'session-0', revision: out.length, position: BigInt(out.length), type, data, metadata: { schemaVersion: 1, guardian: 0, recordedAt: '2026-01-01T00:00:00.000Z' } });
  let index = 0;
  for (let n = 0; n < REJECTED_GENERATION + 7_000; n++) {
    out.push(event('ItemRejected', { session: n >> 10, peer: 0, itemHash: txid(-n), txid: txid(n), reason: `reason ${n % 3}` }));
    // Now and then an earlier rejection is accepted, and a rejection repeats.
    if (random() < 0.01) out.push(event('ItemAccepted', { session: n >> 10, index: index++, peer: 0, item: '00', itemHash: txid(-n), txid: txid(Math.floor(random() * (n + 1))), netAssets: '0' }));
    if (random() < 0.01) out.push(event('ItemRejected', { session: n >> 10, peer: 0, itemHash: txid(-n), txid: txid(Math.floor(random() * (n + 1))), reason: 'again' }));
  }
  return out;
}

describe('transactions snapshot compatibility', () => {
  it('the fixture has acceptances and rejections', () => {
    expect(events.filter((e) => e.type === 'ItemAccepted' && (e.data as { txid?: string }).txid !== undefined).length).toBeGreaterThan(300);
    expect(events.filter((e) => e.type === 'ItemRejected').length).toBeGreaterThan(3);
  });

  it('hashes every checkpoint of a seeded log as the stored checkpoints were hashed, folded event by event, in pages, or in place', () => {
    const inPlace = transactionsProjection.newestOnly!();
    for (const [projection, paged] of [[transactionsProjection, false], [transactionsProjection, true], [inPlace, true], [transactionsProjection.newestOnly!(), false]] as const) {
      const { hashes } = checkpointHashes(projection, events, paged);
      expect(hashes).toHaveLength(11);
      expect(hashes.at(-1)).toBe(FINAL_HASH);
      expect(digestOf(hashes)).toBe(SESSION_HASHES_DIGEST);
    }
  });

  it('writes the snapshot whose canonical JSON hash is the state hash, and loads it back to the same hash', () => {
    const { state } = checkpointHashes(transactionsProjection, events, false);
    const snapshot = transactionsProjection.toSnapshot(state);
    expect(stateHash(snapshot)).toBe(FINAL_HASH);
    const loaded = transactionsProjection.fromSnapshot(JSON.parse(JSON.stringify(snapshot)));
    expect(projectionStateHash(transactionsProjection, loaded)).toBe(FINAL_HASH);
    expect(stateHash(transactionsProjection.toSnapshot(loaded))).toBe(FINAL_HASH);
  });

  it('hashes a state past a full generation of rejections as before, however it was folded', () => {
    const list = rolloverEvents();
    const hashes = new Set<string>();
    for (const [projection, paged] of [[transactionsProjection, false], [transactionsProjection, true], [transactionsProjection.newestOnly!(), true]] as const) {
      const { state } = checkpointHashes(projection, list, paged, 17);
      expect(state.rejectedOlder.size).toBeGreaterThan(0);
      hashes.add(projectionStateHash(projection, state));
      const loaded = transactionsProjection.fromSnapshot(JSON.parse(JSON.stringify(projection.toSnapshot(state))));
      hashes.add(projectionStateHash(transactionsProjection, loaded));
    }
    expect([...hashes]).toEqual([ROLLOVER_HASH]);
  });
});
